"""`./ops backfill` (tools/ops/cli.py) against botocore's Stubber: dates started one after
another in date order, succeeded dates left alone when run again, a dry run that starts nothing,
Ctrl-C naming the run still going, and the progress bar a terminal sees. Every request is checked
against the service model and the parameters expected, every answer against the model; the order
of the stubbed answers is the order the tool must call in. Output is read at 80 columns."""

from __future__ import annotations

import io
import re
import shlex
from collections.abc import Iterator

import pytest
from rich.console import Console
from typer.testing import CliRunner

from tests.support.ops_cli import (
    WEEK,
    backfill_name,
    expect_backfill_run,
    expect_backfill_start,
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
    listed,
    succeeded_output,
    target,
)
from tools.ops import cli

# tests/fixtures/ops.yaml's environment (with an account) and pipeline (`overlap: skip`).
ENVIRONMENT = "prod"
PIPELINE = "churn"


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


def test_running_a_backfill_again_leaves_succeeded_dates_alone() -> None:
    aws = StubbedAws(ENVIRONMENT)
    install(aws, token="c3d4")
    t = target(ENVIRONMENT, PIPELINE)
    earlier = [
        listed(t, backfill_name(folder), "FAILED" if folder == "2026-11-22" else "SUCCEEDED", NOW)
        for folder in WEEK
    ]
    expect_listing(aws, t, earlier)
    for item in earlier:  # each date's latest run that succeeded: did it do the work?
        if item["status"] == "SUCCEEDED":
            folder = item["name"].split("-20261201T")[0].removeprefix("backfill-")
            run_input = {"scheduled_time": f"{folder}T00:00:00Z", "trigger": "backfill"}
            output = succeeded_output(t, item["name"], f"churn/{folder}/")
            aws.expect(
                "stepfunctions",
                "describe_execution",
                described(t, item["name"], "SUCCEEDED", NOW, run_input, output=output),
                executionArn=item["executionArn"],
            )
    expect_backfill_run(aws, t, "2026-11-22", token="c3d4")
    code, text = invoke(
        f"./ops backfill {ENVIRONMENT} {PIPELINE} --from 2026-11-20 --to 2026-11-26"
    )
    aws.assert_done()
    assert code == 0, text
    started = [line for line in text.splitlines() if line.startswith("started")]
    assert started == [f"started  {backfill_name('2026-11-22', 'c3d4')}"]
    assert "1 succeeded, 6 left alone" in text


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
