"""What `make plan-review` says about this project's own resources, in plans built from two
synthesized configs (tools/plan_review/config_diff.py): a transform's instance count, states added
and removed, a pipeline added, a bucket replaced (data at risk, exit 3), values unknown until
apply, a KMS key deleted with and without `allow_destroy`, a policy widened, the state bucket
renamed in the bootstrap stack; and docs/reviewing.md's example, which is one of these reviews."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from modules.workflow.state_names import (
    NOTIFY_SUCCESS,
    RUN_SUCCEEDED,
    RUN_TRANSFORM_JOB,
    WRITE_MANIFEST,
)
from tests.conftest import stacks_of
from tests.support.plan_review import (
    REPO,
    Review,
    bucket_address,
    config_dict,
    env_plans,
    example_raw_config,
    reviewer,
    row,
    synthesizer,
)
from tools.plan_review.config_diff import build_plan


@pytest.fixture
def review(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Review]:
    return reviewer(tmp_path, capsys)


@pytest.fixture(scope="module")
def raw_config() -> dict[str, Any]:
    return example_raw_config()


@pytest.fixture(scope="module")
def synth(
    tmp_path_factory: pytest.TempPathFactory, raw_config: dict[str, Any]
) -> Callable[..., dict[str, dict[str, Any]]]:
    return synthesizer(tmp_path_factory, raw_config)


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
    config.write_text(yaml.safe_dump(config_dict(raw_config, single)))
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
    assert len(keys) == 2  # the data key and the alert key
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
    [boot] = [name for name in after if name.startswith("mlbatch-state-")]
    plans = {boot: build_plan(baseline[boot], after[boot])}
    plans |= env_plans(baseline, after, "dev")
    result = review(plans)
    assert result.status == 3
    assert f"**{len(plans)} stacks:" in result.out
    assert f"### Stack `{boot}`: state bootstrap (no environment of the config" in result.out
    # dev's stacks are all unchanged: one line, each labelled with what it is, and no section
    assert (
        "4 stacks unchanged: base `mlbatch-dev`; pipeline `mlbatch-dev-churn`, `mlbatch-dev-ltv`; "
        "dashboard `mlbatch-dev-dashboard`.\n" in result.out
    )
    assert "### Stack `mlbatch-dev" not in result.out
    assert f"| `{boot}` | delete | `aws_s3_bucket.state-mlbatch-tfstate-1234" in result.out


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
