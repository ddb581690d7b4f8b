"""`make review` (tools/plan_review/review.py): a commit and the working tree, both synthesized,
reviewed as a plan; run on a clone of this repository whose config is the example fixture."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from modules.config import DEFAULT_CONFIG_PATH
from tests.conftest import EXAMPLE_CONFIG, REPO
from tools.plan_review.report import EXIT_GUARD
from tools.plan_review.review import MARKER, review

# The app's default config file, in the clone (this repository's own is never read here).
APP_CONFIG = DEFAULT_CONFIG_PATH.relative_to(REPO)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository's HEAD, with the example config committed as its config."""
    target = tmp_path_factory.mktemp("review") / "repo"
    subprocess.run(["git", "clone", "-q", str(REPO), str(target)], check=True)
    (target / APP_CONFIG).write_text(EXAMPLE_CONFIG.read_text())
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "commit", "-qam", "example config"], cwd=target, check=True)
    return target


def _edit(clone: Path, old: str, new: str) -> None:
    config = clone / APP_CONFIG
    config.write_text(EXAMPLE_CONFIG.read_text().replace(old, new, 1))


def test_a_changed_instance_count_is_reviewed_as_the_changed_stack(clone: Path) -> None:
    _edit(
        clone,
        "      instance_count: 2\n      max_payload",
        "      instance_count: 3\n      max_payload",
    )
    text, status = review("HEAD", repo=clone)
    assert status == 0
    assert text.startswith(f"{MARKER}\n## Configuration review\n")
    assert "No Terraform state" in text and "drift" in text
    assert "**9 stacks: 0 to create, 2 to update, 0 to replace, 0 to delete.**" in text
    assert "### Stack `mlbatch-prod-ltv`" in text
    assert "`Parameters.TransformResources.InstanceCount`: `2` → `3`" in text


def test_nothing_changed_reviews_every_stack_as_unchanged(clone: Path) -> None:
    _edit(clone, "", "")
    text, status = review("HEAD", repo=clone)
    assert status == 0
    assert "0 to create, 0 to update, 0 to replace, 0 to delete" in text


def test_data_at_risk_exits_3(clone: Path) -> None:
    # Renaming the project renames (replaces) prod's buckets, which hold data.
    _edit(clone, "project: mlbatch", "project: mlbatch2")
    text, status = review("HEAD", repo=clone)
    assert status == EXIT_GUARD
    assert "Data at risk" in text


def test_a_config_error_exits_2(clone: Path) -> None:
    _edit(clone, "instance_type: ml.m5.2xlarge", "instance_type: ml.m5.3xlarge")
    result = subprocess.run(
        ["make", "--no-print-directory", "review", "BASE=HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"PIPELINE_CONFIG": str(clone / APP_CONFIG), **_path()},
    )
    assert result.returncode == 2
    assert "config error:" in result.stderr and "instance_type" in result.stderr
    assert "review: status 2" in result.stderr


def _path() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "PIPELINE_CONFIG"}


def test_every_pull_request_gets_the_configuration_review() -> None:
    import yaml

    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "plan-review.yml").read_text())
    jobs = workflow["jobs"]
    review_job = jobs["config-review"]
    assert "needs" not in review_job and "if" not in review_job  # every pull request, at once
    assert "needs" not in jobs["plan"]  # the plan's review does not wait for the tests either
    run = "\n".join(step.get("run", "") for step in review_job["steps"])
    assert "-m tools.plan_review.review --base" in run
    posted = [s for s in review_job["steps"] if s.get("uses") == "./.github/actions/pr-comment"]
    assert posted and posted[0]["with"]["marker"] == MARKER
