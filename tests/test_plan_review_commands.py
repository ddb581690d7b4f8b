"""The commands around the plan review and how they are wired: `make plan-review` (make's exit
status 2 naming the reviewer's own), `make plan` (the app started on the config and environment
named, stacks planned in deploy order, a one-line refusal naming what is missing) and the
plan-review GitHub workflow (OIDC, no secrets)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import EXAMPLE_CONFIG, stacks_of
from tests.support.plan_review import REPO, bucket_address, env_plans
from tools.plan_review.plan import deploy_order
from tools.synth import read_stacks, start_app


@pytest.fixture(scope="module")
def baseline(stacks: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The example config as synthesized for the session: what every edit is compared with."""
    return stacks_of(stacks, "example")


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
