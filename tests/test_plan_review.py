"""`make plan` and `make plan-review` (tools/plan_review): the reader on real `terraform show -json`
output (terraform's built-in terraform_data, no provider needed), and what it says about this
project's own resources in plans built from two synthesized configs
(tools/plan_review/config_diff.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from modules.config import ProjectConfig
from modules.workflow.state_names import (
    NOTIFY_SUCCESS,
    RUN_SUCCEEDED,
    RUN_TRANSFORM_JOB,
    WRITE_MANIFEST,
)
from tests.conftest import EXAMPLE_CONFIG, stacks_of
from tools.plan_review.config_diff import build_plan
from tools.plan_review.plan import deploy_order
from tools.plan_review.report import main as review_main
from tools.synth import read_stacks, start_app, synthesize

REPO = Path(__file__).resolve().parent.parent
PROJECT = "mlbatch"


# ---------------------------------------------------------------------------------------------
# Running the reviewer


class Review:
    def __init__(self, status: int, out: str, err: str) -> None:
        self.status, self.out, self.err = status, out, err

    def section(self, heading: str) -> str:
        """The text under one `#### ` heading, up to the next heading."""
        start = self.out.index(heading)
        return self._from(start)

    def pipeline(self, name: str) -> str:
        """The changes of one pipeline: its `####` part of a shared stack, or its own stack."""
        found = re.search(
            rf"^(#### Pipeline `{name}`|### Stack `[a-z0-9-]+`: pipeline `{name}`,.*)$",
            self.out,
            re.M,
        )
        assert found, self.out
        return self._from(found.start())

    def _from(self, start: int) -> str:
        end = min(
            (i for i in (self.out.find("\n###", start + 1),) if i != -1), default=len(self.out)
        )
        return self.out[start:end]


def _review_main(paths: list[str], args: tuple[str, ...]) -> int:
    """The reviewer on ``paths``, with the stacks' roles from the example config unless ``args``
    name another (its default is the team's config, which the product's tests never read)."""
    config = () if "--config" in args else ("--config", str(EXAMPLE_CONFIG))
    return review_main([*paths, *config, *args])


@pytest.fixture
def review(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Review]:
    def run(plans: dict[str, dict[str, Any]], *args: str) -> Review:
        paths = []
        for stack, plan in plans.items():
            path = tmp_path / f"{stack}.json"
            path.write_text(json.dumps(plan))
            paths.append(str(path))
        capsys.readouterr()
        status = _review_main(paths, args)
        captured = capsys.readouterr()
        return Review(status, captured.out, captured.err)

    return run


# ---------------------------------------------------------------------------------------------
# Real plans from terraform's built-in terraform_data resource

TF_BEFORE = {
    "pipeline-churn_sfn_marker_A1B2C3D4": {"input": {"instance_count": 1}},
    "pipeline-churn_sfn_secret_0A0B0C0D": {"input": '${sensitive("old-secret-value")}'},
    "storage_rotated_11223344": {"input": "x", "triggers_replace": ["v1"]},
    "storage_retired_55667788": {"input": "gone"},
}
TF_AFTER = {
    "pipeline-churn_sfn_marker_A1B2C3D4": {"input": {"instance_count": 2}},
    "pipeline-churn_sfn_secret_0A0B0C0D": {"input": '${sensitive("new-secret-value")}'},
    "storage_rotated_11223344": {"input": "x", "triggers_replace": ["v2"]},
    "pipeline-ltv_sfn_marker_99AABBCC": {"input": "${terraform_data.storage_rotated_11223344.id}"},
}


def _terraform(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(
        ["terraform", *args, "-no-color"], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def real_plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`terraform show -json` of a real plan (create, update, replace, delete) and of a state."""
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not installed")
    work = tmp_path_factory.mktemp("terraform")
    cli_config = work / "terraformrc"
    cli_config.write_text("")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TF_", "AWS_")) and key != "CHECKPOINT_DISABLE"
    } | {
        "CHECKPOINT_DISABLE": "1",
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "TF_DATA_DIR": str(work / ".terraform"),
        "TF_PLUGIN_CACHE_DIR": str(work / "plugins"),
    }
    (work / "plugins").mkdir()
    config = work / "main.tf.json"
    config.write_text(json.dumps({"resource": {"terraform_data": TF_BEFORE}}))
    _terraform(["init", "-input=false"], work, env)
    _terraform(["apply", "-auto-approve", "-input=false"], work, env)
    state = work / "state.json"
    state.write_text(_terraform(["show", "-json"], work, env))
    config.write_text(json.dumps({"resource": {"terraform_data": TF_AFTER}}))
    _terraform(["plan", "-input=false", "-out=plan.tfplan"], work, env)
    plan = work / "plan.json"
    plan.write_text(_terraform(["show", "-json", "plan.tfplan"], work, env))
    return {"plan": plan, "state": state}


def _review_files(paths: list[Path], capsys: pytest.CaptureFixture[str]) -> Review:
    capsys.readouterr()
    status = _review_main([str(p) for p in paths], ())
    captured = capsys.readouterr()
    return Review(status, captured.out, captured.err)


def test_real_plan_counts_and_values(
    real_plans: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = json.loads(real_plans["plan"].read_text())
    assert plan["terraform_version"] == "1.11.4"  # the real thing, not a fixture
    path = tmp_path / "mlbatch-dev.json"
    shutil.copy(real_plans["plan"], path)
    result = _review_files([path], capsys)
    assert result.status == 0, result.err
    assert "**1 stack: 1 to create, 2 to update, 1 to replace, 1 to delete.**" in result.out
    assert "| `mlbatch-dev` | shared (base) | · | · | 1 | 1 |" in result.out
    assert "| `mlbatch-dev` | pipeline `churn` | · | 2 | · | · |" in result.out
    assert "| `mlbatch-dev` | pipeline `ltv` | 1 | · | · | · |" in result.out
    assert "### Stack `mlbatch-dev`: base, environment `dev` (sets `allow_destroy`)" in result.out

    churn = result.pipeline("churn")
    assert "`input.instance_count`: `1` → `2`" in churn
    assert '`output`: `{"instance_count": 1}` → `(known after apply)`' in churn
    assert "`input`: `(sensitive)` → `(sensitive)`" in churn
    # A sensitive value is in the JSON but never printed. (Terraform 1.11 does not carry the mark
    # to the prior `output` of terraform_data, so that one shows, as in terraform's own plan.)
    assert "new-secret-value" not in result.out
    assert "old-secret-value" not in churn.replace("`output`: `old-secret-value`", "")

    shared = result.section("#### Shared (base)")
    assert "- `-/+` replace `terraform_data.storage_rotated_11223344`" in shared
    assert "`triggers_replace[0]`: `v1` → `v2` (forces replacement)" in shared
    assert "- `-` delete `terraform_data.storage_retired_55667788`" in shared
    # terraform_data holds no data: nothing is guarded
    assert "Data at risk" not in result.out


def test_pipeline_stack_owns_its_resources(
    real_plans: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With one stack per pipeline (`<project>-<env>-<pipeline>`), resources outside a
    pipeline-<name> construct path belong to that stack's pipeline."""
    path = tmp_path / "mlbatch-dev-churn.json"
    shutil.copy(real_plans["plan"], path)
    result = _review_files([path], capsys)
    assert "| `mlbatch-dev-churn` | pipeline `churn` | · | 2 | 1 | 1 |" in result.out
    assert "### Stack `mlbatch-dev-churn`: pipeline `churn`, environment `dev`" in result.out
    assert "Shared" not in result.out and "shared" not in result.out


def test_state_is_not_a_plan(
    real_plans: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    result = _review_files([real_plans["state"]], capsys)
    assert result.status == 1
    assert result.out == ""
    assert result.err.count("\n") == 1
    assert "this is a state, not a plan" in result.err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read it"),
        ("{not json", "not JSON (line 1"),
        ('{"resource_changes": []}', "no format_version"),
        ('{"format_version": "2.0", "resource_changes": []}', "plan format 2.0 is not supported"),
        (
            '{"format_version": "1.2", "resource_changes": [{"address": "x"}]}',
            "resource_changes[0] is malformed",
        ),
    ],
)
def test_unreadable_input_is_one_line_and_exit_1(
    content: str | None, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mlbatch-dev.json"
    if content is not None:
        path.write_text(content)
    result = _review_files([path], capsys)
    assert result.status == 1
    assert result.out == ""
    assert result.err.count("\n") == 1 and message in result.err, result.err


# ---------------------------------------------------------------------------------------------
# This project's resources: plans between two synthesized configs


@pytest.fixture(scope="module")
def raw_config() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    return loaded


def _config_dict(raw: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(raw))
    edit(copy)
    return copy


def _config(raw: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> ProjectConfig:
    from modules.config import parse_config

    return parse_config(_config_dict(raw, edit), "test.yaml")


@pytest.fixture(scope="module")
def synth(
    tmp_path_factory: pytest.TempPathFactory, raw_config: dict[str, Any]
) -> Iterator[Callable[..., dict[str, dict[str, Any]]]]:
    def run(
        edit: Callable[[dict[str, Any]], None] = lambda raw: None,
        environments: list[str] | None = None,
    ) -> dict[str, dict[str, Any]]:
        outdir = tmp_path_factory.mktemp("synth")
        return synthesize(_config(raw_config, edit), outdir, environments)

    yield run


def env_plans(
    before: dict[str, dict[str, Any]],
    after: dict[str, dict[str, Any]] | None,
    env: str,
    replace: tuple[str, ...] = (),
) -> dict[str, dict[str, Any]]:
    """A plan for every stack of one environment (one, or one per pipeline: whatever the app
    synthesizes); `after=None` destroys them all."""
    base = f"{PROJECT}-{env}"
    names = set(before) | set(after or {})
    return {
        name: build_plan(before.get(name), (after or {}).get(name), replace)
        for name in sorted(names)
        if name == base or name.startswith(f"{base}-")
    }


def row(
    pipeline: str | None, create: int, update: int, replace: int, delete: int
) -> re.Pattern[str]:
    """The summary row of a pipeline, in whichever stack holds it."""
    cells = " | ".join(str(n) if n else "·" for n in (create, update, replace, delete))
    label = f"pipeline `{pipeline}`" if pipeline else "shared (base)"
    return re.compile(rf"^\| `[a-z0-9-]+` \| {re.escape(label)} \| {re.escape(cells)} \|$", re.M)


def bucket_address(stacks: dict[str, dict[str, Any]], env: str, role: str) -> str:
    found = [
        f"aws_s3_bucket.{name}"
        for stack, body in stacks.items()
        if stack.startswith(f"{PROJECT}-{env}")
        for name in body.get("resource", {}).get("aws_s3_bucket", {})
        if f"_{role}_" in name
    ]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def baseline(stacks: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The example config as synthesized for the session: what every edit is compared with."""
    return stacks_of(stacks, "example")


def test_transform_instance_count_changes_one_field_of_one_state(
    synth: Callable[..., dict[str, dict[str, Any]]],
    baseline: dict[str, dict[str, Any]],
    review: Callable[..., Review],
) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["environments"]["dev"]["pipelines"]["churn"]["transform"]["instance_count"] = 2

    after = synth(edit, ["dev"])
    result = review(env_plans(baseline, after, "dev"))
    assert result.status == 0
    assert row("churn", 0, 1, 0, 0).search(result.out)
    assert result.out.count("\n- `") == 1  # one resource changes: the churn state machine
    churn = result.pipeline("churn")
    assert "update `aws_sfn_state_machine.pipeline-churn_sfn_state-machine_" in churn
    assert churn.count("changed:") == 1
    assert f"state `{RUN_TRANSFORM_JOB}` changed:" in churn
    assert "    - `Parameters.TransformResources.InstanceCount`: `1` → `2`" in churn
    assert churn.count("→") == 1


def test_states_added_and_removed_by_name(
    synth: Callable[..., dict[str, dict[str, Any]]],
    baseline: dict[str, dict[str, Any]],
    review: Callable[..., Review],
) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["environments"]["dev"]["pipelines"]["churn"]["notify_on_success"] = True

    after = synth(edit, ["dev"])
    on = review(env_plans(baseline, after, "dev")).pipeline("churn")
    assert f"  - state `{NOTIFY_SUCCESS}` added (Task)" in on
    assert (
        f"  - state `{WRITE_MANIFEST}` changed:\n"
        f"    - `Next`: `{RUN_SUCCEEDED}` → `{NOTIFY_SUCCESS}`" in on
    )
    off = review(env_plans(after, baseline, "dev")).pipeline("churn")
    assert f"  - state `{NOTIFY_SUCCESS}` removed" in off
    assert f"    - `Next`: `{NOTIFY_SUCCESS}` → `{RUN_SUCCEEDED}`" in off


def test_added_pipeline_only_creates(
    synth: Callable[..., dict[str, dict[str, Any]]],
    baseline: dict[str, dict[str, Any]],
    raw_config: dict[str, Any],
    review: Callable[..., Review],
) -> None:
    churn = raw_config["pipelines"][0]

    def edit(raw: dict[str, Any]) -> None:
        raw["pipelines"].append(
            {
                "name": "fraud",
                "model": {"image": churn["model"]["image"], "artifact_key": "fraud/model.tar.gz"},
                "schedule": {"expression": "rate(1 hour)"},
                "transform": {"instance_type": "ml.m5.large", "content_type": "text/csv"},
            }
        )

    after = synth(edit, ["dev"])
    plans = env_plans(baseline, after, "dev")
    result = review(plans)
    assert result.status == 0
    created = [
        c
        for plan in plans.values()
        for c in plan["resource_changes"]
        if c["change"]["actions"] == ["create"]
    ]
    assert len(created) >= 15
    assert row("fraud", len(created), 0, 0, 0).search(result.out)
    assert "`churn`" not in result.out and "`ltv`" not in result.out
    fraud = result.pipeline("fraud")
    assert fraud.count("create `") == len(created)
    assert "update" not in fraud and "delete" not in fraud
    # the new role policies point at roles that do not exist yet
    assert "policy: (known after apply)" in fraud


def test_replaced_bucket_is_guarded_first_and_exits_3(
    baseline: dict[str, dict[str, Any]], review: Callable[..., Review]
) -> None:
    bucket = bucket_address(baseline, "prod", "output")
    result = review(env_plans(baseline, baseline, "prod", replace=(bucket,)))
    assert result.status == 3
    risk = result.out.index("### ⛔ Data at risk")
    assert risk < result.out.index("| stack | part |") < result.out.index("### Stack")
    assert re.search(
        rf"^\| `mlbatch-prod[a-z0-9-]*` \| replace \| `{bucket}` \| bucket:", result.out, re.M
    )
    assert re.search(
        r"^\| `mlbatch-prod[a-z0-9-]*` \| replace \| `aws_s3_bucket_versioning\.", result.out, re.M
    )
    assert "**blocked**" in result.out


def test_unknown_after_apply_values_are_shown_as_such(
    synth: Callable[..., dict[str, dict[str, Any]]],
    review: Callable[..., Review],
    raw_config: dict[str, Any],
    tmp_path: Path,
) -> None:
    """A new bucket's ARN is unknown until apply: every policy naming it in the same state is too.
    That takes one state (`layout: single`); with one stack per pipeline, the pipeline stacks read
    the new ARN from the base stack's state once it is applied, in their own plans."""

    def single(raw: dict[str, Any]) -> None:
        raw["environments"]["prod"]["layout"] = "single"

    stacks = synth(single, ["prod"])
    config = tmp_path / "single.yaml"
    config.write_text(yaml.safe_dump(_config_dict(raw_config, single)))
    bucket = bucket_address(stacks, "prod", "output")
    result = review(env_plans(stacks, stacks, "prod", replace=(bucket,)), "--config", str(config))
    assert (
        "### Stack `mlbatch-prod`: environment (single stack), environment `prod`\n" in result.out
    )
    churn = result.pipeline("churn")
    assert "update `aws_iam_role_policy.pipeline-churn_sagemaker_execution-policy_" in churn
    assert "  - policy: (known after apply)" in churn
    assert "(forces replacement)" in result.section("#### Environment-wide")


def test_kms_key_deleted_with_allow_destroy_is_listed_exit_0(
    baseline: dict[str, dict[str, Any]],
    review: Callable[..., Review],
    raw_config: dict[str, Any],
    tmp_path: Path,
) -> None:
    plans = env_plans(baseline, None, "dev")  # terraform plan -destroy of dev's stacks
    keys = [
        c["address"]
        for plan in plans.values()
        for c in plan["resource_changes"]
        if c["type"] == "aws_kms_key"
    ]
    assert len(keys) == 1
    key_row = re.compile(rf"^\| `mlbatch-dev[a-z0-9-]*` \| delete \| `{keys[0]}` \| KMS key:", re.M)
    result = review(plans)
    assert result.status == 0
    assert "### Data deleted (allowed)" in result.out
    assert key_row.search(result.out)

    # the same plan where dev does not allow destroy: blocked
    strict = json.loads(json.dumps(raw_config))
    strict["environments"]["dev"]["allow_destroy"] = False
    config = tmp_path / "strict.yaml"
    config.write_text(yaml.safe_dump(strict))
    blocked = review(plans, "--config", str(config))
    assert blocked.status == 3
    assert key_row.search(blocked.out)


def test_widened_policy_statement_is_shown_by_sid(
    synth: Callable[..., dict[str, dict[str, Any]]],
    baseline: dict[str, dict[str, Any]],
    review: Callable[..., Review],
) -> None:
    repository = "arn:aws:ecr:eu-west-1:141502667606:repository/sagemaker-sklearn"

    def edit(raw: dict[str, Any]) -> None:
        raw["pipelines"][1]["model"]["ecr_repository_arns"].append(repository)

    after = synth(edit, ["dev"])
    result = review(env_plans(baseline, after, "dev"))
    assert result.status == 0
    ltv = result.pipeline("ltv")
    assert "update `aws_iam_role_policy.pipeline-ltv_sagemaker_execution-policy_" in ltv
    assert f"policy statement `PullInferenceImage` changed: Resource: + `{repository}`" in ltv
    assert ltv.count("statement") == 1


def test_renamed_state_bucket_is_guarded_in_the_bootstrap_stack(
    synth: Callable[..., dict[str, dict[str, Any]]],
    baseline: dict[str, dict[str, Any]],
    review: Callable[..., Review],
) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["environments"]["prod"]["state"]["bucket"] = "mlbatch-tfstate-v2-123456789012-eu-west-1"

    after = synth(edit)
    plans = {"mlbatch-state": build_plan(baseline["mlbatch-state"], after["mlbatch-state"])}
    plans |= env_plans(baseline, after, "dev")
    result = review(plans)
    assert result.status == 3
    assert f"**{len(plans)} stacks:" in result.out
    assert "### Stack `mlbatch-state`: state bootstrap (no environment of the config" in result.out
    # dev's stacks are all unchanged: one line, each labelled with what it is, and no section
    assert (
        "4 stacks unchanged: base `mlbatch-dev`; pipeline `mlbatch-dev-churn`, `mlbatch-dev-ltv`; "
        "dashboard `mlbatch-dev-dashboard`.\n" in result.out
    )
    assert "### Stack `mlbatch-dev" not in result.out
    assert "| `mlbatch-state` | delete | `aws_s3_bucket.state-mlbatch-tfstate-1234" in result.out


MANY = 48  # pipelines: with dev's base and dashboard stacks, 50 stacks


def _many_pipelines(raw: dict[str, Any]) -> None:
    churn = raw["pipelines"][0]
    raw["pipelines"] += [
        {
            "name": f"p{index:02}",
            "model": {"image": churn["model"]["image"], "artifact_key": f"p{index:02}/m.tar.gz"},
            "schedule": {"expression": "rate(1 day)"},
            "transform": {"instance_type": "ml.m5.large", "content_type": "text/csv"},
        }
        for index in range(MANY - len(raw["pipelines"]))
    ]


@pytest.fixture(scope="module")
def many(
    synth: Callable[..., dict[str, dict[str, Any]]],
    raw_config: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, dict[str, Any]], Path]:
    """dev with 48 pipelines, one stack each (50 stacks), and that config as a file."""
    config = tmp_path_factory.mktemp("many") / "many.yaml"
    config.write_text(yaml.safe_dump(_config_dict(raw_config, _many_pipelines)))
    return synth(_many_pipelines, ["dev"]), config


def test_one_pipeline_change_among_50_stacks_fits_one_screen(
    synth: Callable[..., dict[str, dict[str, Any]]],
    many: tuple[dict[str, dict[str, Any]], Path],
    review: Callable[..., Review],
) -> None:
    before, config = many

    def edit(raw: dict[str, Any]) -> None:
        _many_pipelines(raw)
        raw["environments"]["dev"]["pipelines"]["churn"]["transform"]["instance_count"] = 2

    plans = env_plans(before, synth(edit, ["dev"]), "dev")
    assert len(plans) == 50
    result = review(plans, "--config", str(config))
    assert result.status == 0
    lines = result.out.splitlines()
    assert len(lines) <= 20, result.out
    assert "**50 stacks: 0 to create, 1 to update, 0 to replace, 0 to delete.**" in lines
    assert result.out.count("\n| `") == 1  # one table row: the changed pipeline's stack
    assert row("churn", 0, 1, 0, 0).search(result.out)
    assert result.out.count("### Stack") == 1
    # every other stack in one line, by kind, the 47 pipeline stacks elided after five names
    unchanged = next(line for line in lines if "unchanged:" in line)
    assert unchanged.startswith(
        "49 stacks unchanged: base `mlbatch-dev`; pipeline `mlbatch-dev-ltv`, `mlbatch-dev-p00`, "
    )
    assert unchanged.endswith(" and 42 more; dashboard `mlbatch-dev-dashboard`.")
    assert "(environment" not in result.out


def test_review_fits_a_github_comment(
    many: tuple[dict[str, dict[str, Any]], Path], review: Callable[..., Review]
) -> None:
    """Creating 48 pipelines from nothing is a long review: it is cut at a line, with a note,
    to what a GitHub comment holds; the data guard comes first, so it is never the part cut."""
    stacks, config = many
    plans = env_plans({}, stacks, "dev")
    full = review(plans, "--config", str(config), "--max-chars", "0")
    assert len(full.out) > 65_536
    result = review(plans, "--config", str(config))
    assert result.status == full.status == 0
    assert len(result.out) <= 65_536
    body, note = result.out.rsplit("\n\n", 1)
    assert full.out.startswith(body)
    assert re.fullmatch(
        r"\*\*Review truncated\*\* at [0-9,]+ of [0-9,]+ characters \(a GitHub comment holds "
        r"65,536\): run `python -m tools.plan_review` on the plans for the rest\.\n",
        note,
    ), note
    assert f"of {len(full.out):,} characters" in note


def test_make_plan_review_fails_on_data_at_risk(
    baseline: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    bucket = bucket_address(baseline, "prod", "input")
    for stack, plan in env_plans(baseline, baseline, "prod", replace=(bucket,)).items():
        (tmp_path / f"{stack}.json").write_text(json.dumps(plan))
    example = {**os.environ, "PIPELINE_CONFIG": str(EXAMPLE_CONFIG)}  # the stacks' roles
    result = subprocess.run(
        ["make", "--no-print-directory", "plan-review", f"PLAN={tmp_path}/*.json"],
        cwd=REPO,
        env=example,
        capture_output=True,
        text=True,
    )
    assert result.stdout.startswith("<!-- plan-review -->\n## Plan review")
    # make exits 2 for any failed recipe; the target names the reviewer's own status, and how to
    # get it as an exit status
    assert result.returncode == 2
    assert result.stderr.startswith("plan-review: status 3: data at risk"), result.stderr
    assert ".venv/bin/python -m tools.plan_review " in result.stderr
    direct = subprocess.run(
        [sys.executable, "-m", "tools.plan_review", *sorted(map(str, tmp_path.glob("*.json")))],
        cwd=REPO,
        env=example,
        capture_output=True,
        text=True,
    )
    assert direct.returncode == 3
    assert direct.stdout == result.stdout


# ---------------------------------------------------------------------------------------------
# make plan


DEV_STACKS = ["mlbatch-dev", "mlbatch-dev-churn", "mlbatch-dev-dashboard", "mlbatch-dev-ltv"]


def test_the_app_is_started_on_the_config_and_environments_named(tmp_path: Path) -> None:
    """tools/synth.py's start_app, as `make plan` and `make review` start the app: the config
    named wins over $PIPELINE_CONFIG (here the session's, which names no file)."""
    synth = start_app(REPO, tmp_path / "out", config=str(EXAMPLE_CONFIG), environments=["dev"])
    _, stderr = synth.communicate()
    assert synth.returncode == 0, stderr
    assert sorted(read_stacks(tmp_path / "out")) == DEV_STACKS


def test_deploy_order_follows_the_manifest() -> None:
    manifest = {
        "stacks": {
            "mlbatch-dev-churn": {"dependencies": ["mlbatch-dev"]},
            "mlbatch-dev": {"dependencies": []},
            "mlbatch-dev-dashboard": {"dependencies": ["mlbatch-dev-churn", "mlbatch-dev"]},
        }
    }
    assert deploy_order(manifest) == ["mlbatch-dev", "mlbatch-dev-churn", "mlbatch-dev-dashboard"]


def test_make_plan_names_what_is_missing_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_terraform import terraform_unavailable

    monkeypatch.setenv("CHECKPOINT_DISABLE", "1")
    monkeypatch.setenv("TF_DATA_DIR", str(tmp_path / "probe"))

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | {
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "CHECKPOINT_DISABLE": "1",
        "PIPELINE_CONFIG": str(EXAMPLE_CONFIG),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.plan_review.plan",
            "--env",
            "dev",
            "--outdir",
            str(tmp_path / "out"),
            "--plans",
            str(tmp_path / "plans"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("make plan: cannot plan dev: no AWS credentials")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert sorted(manifest["stacks"]) == DEV_STACKS  # that environment only, no bootstrap
    stack_dir = tmp_path / "out" / manifest["stacks"][deploy_order(manifest)[0]]["workingDirectory"]
    provider_missing = terraform_unavailable(stack_dir) is not None
    assert ("cannot install the AWS provider" in result.stderr) == provider_missing
    assert not (tmp_path / "plans").exists()


def test_workflow_uses_oidc_and_no_secrets() -> None:
    text = (REPO / ".github" / "workflows" / "plan-review.yml").read_text()
    workflow = yaml.safe_load(text)
    plan = workflow["jobs"]["plan"]
    assert plan["permissions"]["id-token"] == "write"
    credentials = next(
        s for s in plan["steps"] if s.get("uses", "").startswith("aws-actions/configure-aws")
    )
    assert credentials["with"]["role-to-assume"] == "${{ vars.AWS_PLAN_ROLE_ARN }}"
    assert "secrets." not in text and "aws-access-key-id" not in text
    assert "<!-- plan-review -->" in text  # finds and updates its own comment


def test_reviewing_doc_shows_a_real_review(
    synth: Callable[..., dict[str, dict[str, Any]]],
    baseline: dict[str, dict[str, Any]],
    review: Callable[..., Review],
) -> None:
    """docs/reviewing.md's example is this review, verbatim."""

    def edit(raw: dict[str, Any]) -> None:
        raw["environments"]["dev"]["pipelines"]["churn"]["transform"]["instance_count"] = 2
        raw["pipelines"][1]["model"]["ecr_repository_arns"].append(
            "arn:aws:ecr:eu-west-1:141502667606:repository/sagemaker-sklearn"
        )

    after = synth(edit, ["dev"])
    result = review(env_plans(baseline, after, "dev"))
    shown = result.out.removeprefix("<!-- plan-review -->\n")
    document = (REPO / "docs" / "reviewing.md").read_text()
    assert f"```markdown\n{shown}```" in document
