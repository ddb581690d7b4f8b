"""What the hand-written documents promise, held to what the product does: no redrive of failed
runs (they are re-run as new executions, tests/test_executions.py), and stack globs that match one
environment only (environment names have no "-")."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

from modules.stack_names import (
    bootstrap_stack_name,
    dashboard_stack_name,
    pipeline_stack_name,
    stack_name,
)
from tests.conftest import REPO
from tests.support.environments import ENGINE_DIR

# Every hand-written text a user reads: README, docs (the generated ones are built from code that
# is scanned too), the tools' and the modules' docstrings, the Makefile. Not what the Makefile
# installs under tools/ (the checkov and engine virtualenvs): hidden folders are left out.
TEXTS = sorted(
    path
    for path in [
        REPO / "README.md",
        REPO / "Makefile",
        *(REPO / "docs").glob("*.md"),
        *(REPO / "tools").rglob("*.py"),
        *(REPO / "modules").rglob("*.py"),
    ]
    if not any(part.startswith(".") for part in path.relative_to(REPO).parts)
    # The Step Functions engine's own patches write what AWS answers (a Map's results say a
    # child "cannot be redriven"): AWS's texts, not this project's.
    and ENGINE_DIR not in path.parents
)


def _sentences(path: Path) -> list[str]:
    text = re.sub(r"\s+", " ", path.read_text())
    return re.split(r"(?<=[.;:])\s", text)


def test_docs_say_failed_runs_are_re_run_not_resumed() -> None:
    """A redrive resumes at the failed state, and every failure ends in RunFailed (a Fail state):
    a redriven run fails again. Each mention must say it is not the way to re-run."""
    mentions = [
        (path.relative_to(REPO), sentence)
        for path in TEXTS
        for sentence in _sentences(path)
        if re.search(r"redriv", sentence, re.IGNORECASE)
    ]
    assert mentions  # the README says what to do instead
    promising = [
        (path, sentence)
        for path, sentence in mentions
        if not re.search(r"\bnot\b|would (?:resume|enter)|fails? (?:again|at once)", sentence)
    ]
    assert promising == []
    readme = (REPO / "README.md").read_text()
    assert "re-run as a new execution" in readme


# Two environments whose names share a beginning, as a user may have them.
ENVIRONMENTS = {"prod": ["churn", "ltv"], "prodeu": ["churn"]}


def _stacks() -> dict[str, str]:
    """Stack name -> its environment (the bootstrap stacks: no environment)."""
    found = {
        bootstrap_stack_name("mlbatch", "123456789012", "us-east-1", "mlbatch-tfstate"): "",
        bootstrap_stack_name("mlbatch", None, "us-east-1", "mlbatch-tfstate"): "",
    }
    for env, pipelines in ENVIRONMENTS.items():
        found[stack_name("mlbatch", env)] = env
        found[dashboard_stack_name("mlbatch", env)] = env
        for pipeline in pipelines:
            found[pipeline_stack_name("mlbatch", env, pipeline)] = env
    return found


GLOB = re.compile(r"mlbatch-[A-Za-z0-9.*<>-]*\*[A-Za-z0-9.*-]*")


def test_stack_globs_in_the_docs_match_one_environment() -> None:
    stacks = _stacks()
    globs = {
        (path.relative_to(REPO), match.removesuffix(".json"))
        for path in TEXTS
        for match in GLOB.findall(path.read_text())
    }
    assert globs, "no stack glob found: the deploy command is documented with one"
    for path, glob in globs:
        matched = {env for name, env in stacks.items() if fnmatch.fnmatchcase(name, glob)}
        assert len(matched) == 1 and "" not in matched, (path, glob, matched)


def test_the_documented_deploy_covers_every_stack_of_the_environment() -> None:
    deploying = (REPO / "docs" / "deploying.md").read_text()
    [line] = [
        line
        for line in deploying.splitlines()
        if line.startswith("cdktf deploy") and "--parallelism" in line
    ]
    patterns = [word.strip("'") for word in line.split() if word.strip("'").startswith("mlbatch-")]
    deployed = {name for name in _stacks() if any(fnmatch.fnmatchcase(name, p) for p in patterns)}
    assert deployed == {name for name, env in _stacks().items() if env == "prod"}
