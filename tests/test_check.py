"""`make check` (tools/check): the user's config through the product's gates, and the helper the
team's own checks use. Run here on the example fixture, never on the user's config."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import EXAMPLE_CONFIG, FIXTURES, REPO, stacks_of
from tools.check import CHECK_CONFIG_ENV_VAR, PATHS_FILE_ENV_VAR, stack_check
from tools.check.__main__ import _paths_cell
from tools.check.__main__ import main as check_main

NOT_COLLECTED = "import a_module_nobody_installed\n"
BROKEN_CHECK = """
from tools.check.stack_check import assert_resource, pipeline_stack


def test_churn_has_a_schedule(record_property) -> None:
    assert_resource(pipeline_stack("dev", "churn"), "aws_scheduler_schedule", {})
    record_property("schedules", "1 checked")


def test_churn_runs_on_mars_time() -> None:
    assert_resource(
        pipeline_stack("dev", "churn"),
        "aws_scheduler_schedule",
        {"schedule_expression_timezone": "Mars/Olympus", "state": "ENABLED"},
    )
"""


@pytest.fixture
def checking(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Path], None]]:
    """Point stack_check at a config, as `make check` does (its caches emptied before and after)."""

    def check(config: Path) -> None:
        monkeypatch.setenv(CHECK_CONFIG_ENV_VAR, str(config))
        stack_check.user_config.cache_clear()
        stack_check._stacks.cache_clear()

    yield check
    stack_check.user_config.cache_clear()
    stack_check._stacks.cache_clear()


@pytest.fixture
def example_checked(checking: Callable[[Path], None]) -> None:
    checking(EXAMPLE_CONFIG)


def test_a_failing_matcher_names_the_closest_resource_and_what_differs(
    example_checked: None,
) -> None:
    stack = stack_check.pipeline_stack("dev", "churn")
    stack_check.assert_resource(
        stack, "aws_scheduler_schedule", {"schedule_expression_timezone": "Europe/Berlin"}
    )
    with pytest.raises(AssertionError) as raised:
        stack_check.assert_resource(
            stack,
            "aws_scheduler_schedule",
            {
                "schedule_expression_timezone": "Mars/Olympus",
                "flexible_time_window": {"mode": "ON"},
            },
        )
    message = str(raised.value)
    assert "the closest is aws_scheduler_schedule.pipeline-churn_schedule" in message
    assert "schedule_expression_timezone: expected 'Mars/Olympus', found 'Europe/Berlin'" in message
    assert "flexible_time_window.mode: expected 'ON', found 'FLEXIBLE'" in message
    with pytest.raises(AssertionError, match="the stack has no aws_lambda_function"):
        stack_check.assert_resource(stack, "aws_lambda_function", {})


def test_a_disabled_pipeline_has_no_stack_to_check(example_checked: None) -> None:
    with pytest.raises(AssertionError, match="prod has no \\(enabled\\) pipeline 'fraud'"):
        stack_check.pipeline_stack("prod", "fraud")


def test_a_pipeline_of_a_one_stack_environment_is_in_that_stack(
    checking: Callable[[Path], None],
) -> None:
    checking(FIXTURES / "all-features.yaml")  # stage: layout single
    stack = stack_check.pipeline_stack("stage", "scores")
    stack_check.assert_resource(stack, "aws_sfn_state_machine", {"name": "full-stage-scores"})
    stack_check.assert_resource(stack, "aws_sfn_state_machine", {"name": "full-stage-latest"})


def _make_check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "check", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_config_error_fails_the_validate_gate(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE_CONFIG.read_text().replace("ml.m5.2xlarge", "ml.m5.3xlarge"))
    result = _make_check(f"PIPELINE_CONFIG={bad}")
    assert result.returncode != 0
    assert f"config error: {bad}:" in result.stderr
    assert "make check: failed gate: validate" in result.stderr


def _check_only_checks(
    checks: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, pytest.CaptureResult[str]]:
    """`make check CHECKS=<checks> GATES=checks` on the example, run in this process."""
    capsys.readouterr()
    status = check_main(
        ["--config", str(EXAMPLE_CONFIG), "--checks", str(checks), "--gates", "checks"]
    )
    return status, capsys.readouterr()


def test_a_broken_user_check_fails_make_check_with_its_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checks = tmp_path / "checks"
    checks.mkdir()
    (checks / "test_broken.py").write_text(BROKEN_CHECK)
    (checks / "test_not_collected.py").write_text(NOT_COLLECTED)  # the others still run
    # `make check CHECKS=<dir> GATES=checks`, run in this process (the tests above and below run
    # it through make): only the team's checks after validate and synth; the product's gates on
    # this config are tests/test_security.py's and tests/test_executions.py's.
    status, result = _check_only_checks(checks, capsys)
    assert status == 1, result.out
    # The summary still shows every environment x pipeline; no path executed without that gate.
    rows = [line.split("  ") for line in result.out.splitlines()]
    rows = [[cell.strip() for cell in row if cell.strip()] for row in rows]
    assert rows[1] == ["environment", "pipeline", "stack", "resources", "paths executed"]
    # (what the resources column counts: test_a_row_counts_its_pipelines_own_resources_...)
    env, pipeline, stack, count, paths = rows[3]
    assert [env, pipeline, stack, paths] == [
        "dev",
        "churn",
        "mlbatch-dev-churn",
        "not run (--gates)",
    ]
    assert int(count) > 0, result.out
    assert {(r[0], r[1]) for r in rows[3:7]} == {
        (env, p) for env in ("dev", "prod") for p in ("churn", "ltv")
    }
    # What a gate's tests record of their findings is on its line (as checkov's counts are).
    assert (
        "your checks FAILED (2 tests, 1 failed, 1 file not collected; schedules: 1 checked)"
        in result.out
    )
    assert "security not run" in result.out and "executions not run" in result.out
    assert "test_broken.py::test_churn_runs_on_mars_time" in result.err
    assert "schedule_expression_timezone: expected 'Mars/Olympus', found 'Europe/Berlin'" in (
        result.err
    )
    assert "make check: failed gate: your checks\n" in result.err


BROKEN_FIXTURE = """
import pytest


@pytest.fixture
def registry():
    raise RuntimeError("the registry cannot be reached")


def test_a(registry):
    pass


def test_b(registry):
    pass
"""


@pytest.mark.parametrize(
    ("files", "said"),
    [
        (
            {"test_imports.py": NOT_COLLECTED},
            r"0 tests collected: collection error in \S*test_imports\.py: "
            r"ModuleNotFoundError: No module named 'a_module_nobody_installed'",
        ),
        (
            {"test_fixture.py": BROKEN_FIXTURE},
            r"0 tests ran: error at setup of \S*test_fixture\.py::test_a: "
            r"RuntimeError: the registry cannot be reached",
        ),
        (None, r"0 tests collected: no folder \S*/no-checks-here"),
    ],
    ids=["not collected", "error at setup", "no folder"],
)
def test_a_gate_that_runs_no_test_fails_saying_why(
    files: dict[str, str] | None, said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checks = tmp_path / "no-checks-here"
    if files is not None:
        checks = tmp_path / "checks"
        checks.mkdir()
        for name, text in files.items():
            (checks / name).write_text(text)
    status, result = _check_only_checks(checks, capsys)
    assert status == 1
    output = result.out + result.err
    assert re.search(rf"^gates: .*your checks FAILED: {said}", output, re.M), output
    assert "(0 tests)" not in output
    assert result.err.endswith("make check: failed gate: your checks\n")


def _runs(environment: str, pipeline: str, paths: int) -> Any:
    """What gate_executions reads of one state machine's runs (tests/test_executions.Runs)."""
    machine = SimpleNamespace(environment=environment, pipeline=SimpleNamespace(name=pipeline))
    return SimpleNamespace(machine=machine, runs=dict.fromkeys(range(paths)))


def test_paths_executed_are_shown_as_counted_or_say_why_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tools.check.gate_executions as gate

    # Recorded for the summary even when the gate's own test fails on them.
    recorded = tmp_path / "paths.json"
    monkeypatch.setenv(PATHS_FILE_ENV_VAR, str(recorded))
    with pytest.raises(AssertionError):
        gate.TestUserConfig().test_paths_are_recorded_for_the_summary(
            [_runs("dev", "churn", 17), _runs("dev", "ltv", 0)]
        )
    paths = json.loads(recorded.read_text())
    assert paths == {"dev/churn": 17, "dev/ltv": 0}

    executions = ["executions"]
    assert _paths_cell("dev/churn", executions, paths) == "17"
    assert _paths_cell("dev/ltv", executions, paths) == "0"
    assert _paths_cell("prod/churn", executions, paths) == "none: no state machine"
    assert _paths_cell("dev/churn", executions, {}) == "none: no run recorded (executions)"
    assert _paths_cell("dev/churn", ["checks"], paths) == "not run (--gates)"


def test_gates_are_named_or_refused_with_the_names_there_are() -> None:
    result = _make_check("GATES=security,typo")
    assert result.returncode != 0
    assert "no gate typo: the gates are security, executions, checks" in result.stderr


@pytest.mark.parametrize("label", ["example", "all-features"])
def test_a_row_counts_its_pipelines_own_resources_in_either_layout(
    label: str, stacks: dict[str, dict[str, Any]]
) -> None:
    """A pipeline's row counts that pipeline's resources: all of its own stack's (split layout,
    the example), or a part of the environment's one stack, which also holds storage, alerts and
    the other pipelines (single layout, the all-features fixture)."""
    from modules.config import load_config
    from modules.stack_names import stack_name
    from tools.check.__main__ import _rows

    config = load_config(FIXTURES / f"{label}.yaml")
    documents = stacks_of(stacks, label)
    for env_name, pipeline_name, stack, count in _rows(config, documents):
        whole = sum(len(items) for items in documents[stack]["resource"].values())
        if stack == stack_name(config.project, env_name):
            assert 0 < count < whole, f"{env_name}/{pipeline_name}: {count} of {whole}"
        else:
            assert count == whole, f"{env_name}/{pipeline_name}: {count} of {whole}"
