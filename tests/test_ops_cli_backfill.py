"""`./ops backfill` (tools/ops/cli.py) against botocore's Stubber: dates started one after
another in date order, succeeded dates left alone when run again, a dry run that starts nothing,
Ctrl-C naming the run still going, and the progress bar a terminal sees. Every request is checked
against the service model and the parameters expected, every answer against the model; the order
of the stubbed answers is the order the tool must call in. Output is read at 80 columns."""

from __future__ import annotations

import io
import json
import re
import shlex
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from botocore.stub import ANY
from rich.console import Console
from typer.testing import CliRunner

from tests.support.ops_cli import (
    WEEK,
    backfill_name,
    expect_backfill_run,
    expect_backfill_start,
    expect_history,
    expect_listing,
    invoke,
    scenario_backfill,
    using_ops_config,
)
from tests.support.ops_stubs import (
    NOW,
    FakeClock,
    StubbedAws,
    described,
    install,
    succeeded_output,
    target,
)
from tools.ops import cli
from tools.ops.backfill import max_execution_name
from tools.ops.folders import slots
from tools.ops.target import Target

# tests/fixtures/ops.yaml's environment (with an account), its pipeline with daily folders
# (`overlap: skip`) and the one with hourly folders named `dt=.../hour=...`.
ENVIRONMENT = "prod"
PIPELINE = "churn"
HOURLY_PIPELINE = "clicks"


@pytest.fixture(autouse=True)
def ops_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from using_ops_config(monkeypatch)


def test_backfill_over_seven_dates_starts_seven_runs_one_after_another() -> None:
    aws, clock = StubbedAws(ENVIRONMENT), FakeClock()
    console = install(aws, clock)
    t = target(ENVIRONMENT, PIPELINE)
    scenario_backfill(aws, t, {})
    code, text = invoke(
        f"./ops backfill {ENVIRONMENT} {PIPELINE} --from 2026-11-20 --to 2026-11-26"
    )
    # The stubbed answers are queued start, describe, start, describe...: a second run started
    # before the first one finished would meet the wrong answer and fail here.
    aws.assert_done()
    assert code == 0, text
    assert [line.split()[1] for line in text.splitlines() if line.startswith("started")] == [
        backfill_name(folder) for folder in WEEK
    ]
    assert "7 succeeded" in text
    assert clock.sleeps == [60.0] * 7
    assert console.width == 80


def _succeeded(t: Target, name: str, run_input: dict[str, Any], folder: str) -> dict[str, Any]:
    output = succeeded_output(t, name, f"{t.pipeline.default_input_prefix}{folder}/")
    return described(t, name, "SUCCEEDED", NOW, run_input, output=output)


def test_running_a_backfill_again_leaves_succeeded_dates_alone() -> None:
    aws = StubbedAws(ENVIRONMENT)
    install(aws, token="c3d4")
    t = target(ENVIRONMENT, PIPELINE)
    earlier = []
    for folder in reversed(WEEK):  # newest first
        run_input = {"scheduled_time": f"{folder}T00:00:00Z", "trigger": "backfill"}
        if folder == "2026-11-22":
            failed = described(t, backfill_name(folder), "FAILED", NOW, run_input, error="x")
            earlier.append(failed)
        else:
            earlier.append(_succeeded(t, backfill_name(folder), run_input, folder))
    expect_history(aws, t, earlier)
    expect_backfill_run(aws, t, "2026-11-22", token="c3d4")
    code, text = invoke(
        f"./ops backfill {ENVIRONMENT} {PIPELINE} --from 2026-11-20 --to 2026-11-26"
    )
    aws.assert_done()
    assert code == 0, text
    started = [line for line in text.splitlines() if line.startswith("started")]
    assert started == [f"started  {backfill_name('2026-11-22', 'c3d4')}"]
    assert "1 succeeded, 6 left alone" in text


def _earlier_runs_of_every_kind(t: Target) -> list[dict[str, Any]]:
    """Newest first: a manual run of 2026-11-24's folder (--input-prefix), one of 2026-11-23's
    (--date), a scheduled run of 2026-11-21 and one that found no input on 2026-11-20, none a
    backfill."""
    prefix = t.pipeline.default_input_prefix
    manual = {"trigger": "manual", "input_prefix": f"{prefix}2026-11-24/"}
    dated = {"trigger": "manual", "scheduled_time": "2026-11-23T00:00:00Z"}
    scheduled = {"trigger": "schedule", "scheduled_time": "2026-11-21T02:00:00Z"}
    empty = {"trigger": "schedule", "scheduled_time": "2026-11-20T02:00:00Z"}
    no_input = succeeded_output(t, "c0ffee00-0000", f"{prefix}2026-11-20/", result="no-input")
    return [
        _succeeded(t, "manual-20261130T100000Z-0a0a", manual, "2026-11-24"),
        _succeeded(t, "manual-20261130T090000Z-0b0b", dated, "2026-11-23"),
        _succeeded(t, "5d0f4a1e-9b7c-4e2a-8f3d-1c2b3a4d5e6f", scheduled, "2026-11-21"),
        described(t, "c0ffee00-0000", "SUCCEEDED", NOW, empty, output=no_input),
    ]


def test_a_date_any_earlier_run_did_is_left_alone_whatever_started_it() -> None:
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    t = target(ENVIRONMENT, PIPELINE)
    expect_history(aws, t, _earlier_runs_of_every_kind(t))
    for folder in ("2026-11-20", "2026-11-22", "2026-11-25", "2026-11-26"):
        expect_backfill_run(aws, t, folder)
    code, text = invoke(
        f"./ops backfill {ENVIRONMENT} {PIPELINE} --from 2026-11-20 --to 2026-11-26"
    )
    aws.assert_done()  # the scheduled and manual runs' dates were not started again
    assert code == 0, text
    assert "4 succeeded, 3 left alone" in text


def test_force_runs_the_dates_earlier_runs_did_again() -> None:
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    t = target(ENVIRONMENT, PIPELINE)
    expect_history(aws, t, _earlier_runs_of_every_kind(t))
    for folder in WEEK:
        expect_backfill_run(aws, t, folder)
    code, text = invoke(
        f"./ops backfill {ENVIRONMENT} {PIPELINE} --from 2026-11-20 --to 2026-11-26 --force"
    )
    aws.assert_done()
    assert code == 0 and "7 succeeded" in text


def test_backfill_names_keep_only_what_step_functions_logging_takes() -> None:
    """Folders with '=' and '/' (the ops config's hourly pipeline): every character outside
    0-9 A-Z a-z - _ becomes '-' in the name, within the limit; the next backfill of the same
    hours finds those runs and leaves them alone."""
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    t = target(ENVIRONMENT, HOURLY_PIPELINE)
    assert t.pipeline.schedule.input_folder is not None
    hours = list(slots(t.pipeline.schedule.input_folder, date(2026, 11, 20), date(2026, 11, 20)))
    expect_listing(aws, t, [])
    for when, _ in hours:
        run_input = {"scheduled_time": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "trigger": "backfill"}
        aws.expect(
            "stepfunctions",
            "start_execution",
            {"executionArn": t.execution_arn("x"), "startDate": NOW},
            stateMachineArn=t.state_machine_arn,
            name=ANY,
            input=json.dumps(run_input, sort_keys=True),
        )
        aws.expect(
            "stepfunctions",
            "describe_execution",
            described(t, "x", "SUCCEEDED", NOW, run_input, output=succeeded_output(t, "x", "")),
            executionArn=ANY,
        )
    command = f"./ops backfill {ENVIRONMENT} {HOURLY_PIPELINE} --from 2026-11-20 --to 2026-11-20"
    code, text = invoke(command)
    aws.assert_done()
    assert code == 0, text
    names = [c.params["name"] for c in aws.calls if c.operation == "StartExecution"]
    assert len(names) == 24 and len(set(names)) == 24
    assert all(re.fullmatch(r"backfill-[0-9A-Za-z_-]+", name) for name in names), names
    assert all(len(name) <= max_execution_name() for name in names)

    again = StubbedAws(ENVIRONMENT)
    install(again)
    runs = []
    for (when, folder), name in reversed(list(zip(hours, names, strict=True))):
        run_input = {"scheduled_time": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "trigger": "backfill"}
        runs.append(_succeeded(t, name, run_input, folder))
    expect_history(again, t, runs)
    code, text = invoke(command)
    again.assert_done()
    assert code == 0 and "24 left alone" in text


def test_a_dry_run_shows_the_plan_and_starts_nothing() -> None:
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    scenario_backfill(aws, target(ENVIRONMENT, PIPELINE), {"--dry-run": True})
    code, text = invoke(
        f"./ops backfill {ENVIRONMENT} {PIPELINE} --from 2026-11-20 --to 2026-11-26 --dry-run"
    )
    aws.assert_done()
    assert code == 0
    assert "churn/2026-11-20/" in text and backfill_name("2026-11-26") in text


def test_ctrl_c_during_a_backfill_lists_the_run_still_going() -> None:
    aws = StubbedAws(ENVIRONMENT)
    clock = FakeClock()

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    clock.sleep = interrupted  # type: ignore[method-assign]
    install(aws, clock)
    t = target(ENVIRONMENT, PIPELINE)
    expect_listing(aws, t, [])
    expect_backfill_start(aws, t, "2026-11-20")
    name = backfill_name("2026-11-20")
    code, text = invoke(
        f"./ops backfill {ENVIRONMENT} {PIPELINE} --from 2026-11-20 --to 2026-11-26"
    )
    aws.assert_done()
    assert code == 1
    assert "Interrupted: no new runs started. 1 still running" in text
    assert f"  {name}" in text.splitlines()
    assert "1 running, 6 not started" in text


def test_a_terminal_sees_a_progress_bar_of_the_backfill() -> None:
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    screen = io.StringIO()
    cli.RUNTIME.console = Console(width=80, file=screen, force_terminal=True, color_system=None)
    scenario_backfill(aws, target(ENVIRONMENT, PIPELINE), {})
    args = shlex.split(f"backfill {ENVIRONMENT} {PIPELINE} --from 2026-11-20 --to 2026-11-26")
    assert CliRunner().invoke(cli.app, args).exit_code == 0
    aws.assert_done()
    # What the terminal was sent: the bar from 0 of 7 (redrawn as runs finish) to 7 of 7.
    counts = re.findall(r"mlbatch-prod-churn backfill [━╸╺ ]+ (\d)/7", screen.getvalue())
    assert counts[0] == "0" and counts[-1] == "7"
