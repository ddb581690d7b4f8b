"""`make plan-review` (tools/plan_review) reading what it is given: real `terraform show -json`
output (terraform's built-in terraform_data, no provider needed), counted and printed by stack and
pipeline, sensitive values hidden; a state, or a file that is no plan, refused in one line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.plan_review import Review, run_reviewer

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
    status = run_reviewer([str(p) for p in paths], ())
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
