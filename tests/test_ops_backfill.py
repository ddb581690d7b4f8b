"""The backfill's logic without AWS (tools/ops/backfill.py): plan, names, resume, the order runs
start in, parallelism and Ctrl-C, driven by a fake clock and fake runs (no sleeps)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest

from tools.ops import backfill as bf
from tools.ops.folders import slots
from tools.ops.runs import RUNNING, RunState

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
DAILY = "[Y0001]-[M01]-[D01]"
WEEK = list(slots(DAILY, date(2026, 11, 20), date(2026, 11, 26)))


class FakeClock:
    def __init__(self) -> None:
        self.time = START
        self.sleeps: list[float] = []
        self.interrupt_after: int | None = None  # Ctrl-C during this sleep

    def now(self) -> datetime:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self.interrupt_after is not None and len(self.sleeps) == self.interrupt_after:
            raise KeyboardInterrupt
        self.time += timedelta(seconds=seconds)


@dataclass
class FakeRuns:
    """Runs that take ``minutes`` each and end with ``status`` (per folder, else SUCCEEDED)."""

    clock: FakeClock
    minutes: int = 20
    status: dict[str, str] = field(default_factory=dict)
    started: dict[str, tuple[bf.PlannedRun, datetime]] = field(default_factory=dict)

    def start(self, run: bf.PlannedRun) -> str:
        arn = f"arn:aws:states:eu-west-1:111122223333:execution:m:{run.name}"
        assert arn not in self.started, "a name was used twice"
        self.started[arn] = (run, self.clock.now())
        return arn

    def state(self, execution_arn: str) -> RunState:
        run, at = self.started[execution_arn]
        if self.clock.now() - at < timedelta(minutes=self.minutes):
            return RunState(RUNNING)
        return RunState(self.status.get(run.folder, "SUCCEEDED"))

    def windows(self) -> list[tuple[datetime, datetime]]:
        return sorted((at, at + timedelta(minutes=self.minutes)) for _, at in self.started.values())

    def past(self, report: bf.Report) -> list[bf.PastRun]:
        """The executions ListExecutions would show after ``report``."""
        return [
            bf.PastRun(o.run.name, o.execution_arn, o.status, o.started_at, folder=o.run.folder)
            for o in reversed(report.outcomes)  # ListExecutions: newest first
            if o.execution_arn is not None and o.started_at is not None
        ]


def _plan(
    latest: dict[str, bf.PastRun] | None = None, *, stamp: datetime = START, token: str = "a1b2"
) -> list[bf.PlannedRun]:
    return bf.plan(WEEK, latest or {}, input_prefix="churn/", stamp=stamp, token=token, force=False)


def test_seven_dates_with_overlap_skip_start_one_after_another() -> None:
    clock = FakeClock()
    runs = FakeRuns(clock)
    report = bf.execute(_plan(), runs, clock, parallel=1, poll_seconds=60)
    assert [name.split("-2026")[0] for name in report.starts] == ["backfill"] * 7
    started_folders = [runs.started[arn][0].folder for arn in runs.started]
    assert started_folders == [f"2026-11-{day}" for day in range(20, 27)]
    windows = runs.windows()
    assert all(later[0] >= earlier[1] for earlier, later in itertools.pairwise(windows))
    assert report.count("SUCCEEDED") == 7 and not report.interrupted
    assert next(o.run.input_prefix for o in report.outcomes) == "churn/2026-11-20/"


def test_running_the_backfill_again_leaves_succeeded_dates_alone() -> None:
    clock = FakeClock()
    runs = FakeRuns(clock, status={"2026-11-22": "FAILED"})
    first = bf.execute(_plan(), runs, clock, poll_seconds=60)
    assert first.count("FAILED") == 1
    folders = [folder for _, folder in WEEK]
    latest = bf.latest_runs(folders, runs.past(first))
    again = _plan(latest, stamp=clock.now(), token="c3d4")
    assert [run.folder for run in again if run.start] == ["2026-11-22"]
    retry = next(run for run in again if run.start)
    assert retry.name not in first.starts  # a new name: Step Functions refuses a reused one
    assert retry.reason.startswith("latest run failed: backfill-2026-11-22-")
    second = bf.execute(again, runs, clock, poll_seconds=60)
    assert second.starts == [retry.name]
    assert second.count(bf.LEFT_ALONE) == 6
    forced = bf.plan(
        WEEK, latest, input_prefix="churn/", stamp=clock.now(), token="e5f6", force=True
    )
    assert all(run.start for run in forced)


def test_a_date_whose_run_was_skipped_or_is_running_is_not_done() -> None:
    folders = [folder for _, folder in WEEK]
    names = {f: bf.execution_name(f, START, "0000") for f in folders[:3]}
    past = [
        bf.PastRun(names[folders[0]], "a0", "SUCCEEDED", START, "skipped", folders[0]),
        bf.PastRun(names[folders[1]], "a1", "SUCCEEDED", START, "no-input", folders[1]),
        bf.PastRun(names[folders[2]], "a2", RUNNING, START, folder=folders[2]),
    ]
    latest = bf.latest_runs(folders, past)
    planned = bf.plan(WEEK, latest, input_prefix="churn/", stamp=START, token="1", force=False)
    assert [run.start for run in planned[:3]] == [True, True, False]
    assert planned[0].reason.startswith("latest run succeeded (skipped)")
    assert planned[2].reason.startswith("still running")
    forced = bf.plan(WEEK, latest, input_prefix="churn/", stamp=START, token="1", force=True)
    assert not forced[2].start  # a running date is never started twice


def test_names_are_valid_and_unique_per_attempt() -> None:
    first = bf.execution_name("2026-11-20", START, "a1b2")
    assert first == "backfill-2026-11-20-20261201T080000Z-a1b2"
    later = bf.execution_name("2026-11-20", START + timedelta(seconds=1), "a1b2")
    assert later != first
    long = "x" * 100
    name = bf.execution_name(long, START, "a1b2")
    assert len(name) == bf.max_execution_name() == 80  # Step Functions' limit, from botocore
    assert name != bf.execution_name("x" * 99, START, "a1b2")  # cut, but told apart by a hash


def test_names_keep_only_what_step_functions_logging_takes() -> None:
    """0-9 A-Z a-z - _ only: any other character in an execution name breaks its CloudWatch Logs
    logging (StartExecution.name), and dated folders hold '=', '/', '.'."""
    name = bf.execution_name("dt=2026-11-20/hour=05.v_2", START, "a1b2")
    assert name == "backfill-dt-2026-11-20-hour-05-v_2-20261201T080000Z-a1b2"
    long = bf.execution_name("dt=" + "x/" * 60, START, "a1b2")
    assert re.fullmatch(r"[0-9A-Za-z_-]{1,80}", long)


def test_the_latest_run_of_each_folder_is_found_whatever_started_it() -> None:
    """Newest first, as ListExecutions lists; read only until every folder has its run."""
    past = [
        bf.PastRun("manual-1", "a3", "FAILED", START, folder="2026-11-21"),
        bf.PastRun("3f1d2c4b", "a2", "SUCCEEDED", START, folder="2026-11-20"),
        bf.PastRun("manual-0", "a1", "SUCCEEDED", START, folder=None),  # the whole prefix
        bf.PastRun("backfill-x", "a0", "SUCCEEDED", START, folder="2026-11-21"),
    ]
    read: list[str] = []

    def listed() -> Iterator[bf.PastRun]:
        for run in past:
            read.append(run.arn)
            yield run

    latest = bf.latest_runs(["2026-11-20", "2026-11-21"], listed())
    assert {folder: run.arn for folder, run in latest.items()} == {
        "2026-11-20": "a2",
        "2026-11-21": "a3",
    }
    assert read == ["a3", "a2"]  # each DescribeExecution costs a call: none past the last needed


def test_parallel_runs_only_as_many_at_once_as_asked() -> None:
    clock = FakeClock()
    runs = FakeRuns(clock)
    report = bf.execute(_plan(), runs, clock, parallel=3, poll_seconds=60)
    windows = runs.windows()
    most = max(sum(1 for s, e in windows if s <= at < e) for at, _ in windows)
    assert most == 3 and len(report.starts) == 7 and report.count("SUCCEEDED") == 7


def test_ctrl_c_stops_starting_runs_and_lists_those_still_running() -> None:
    clock = FakeClock()
    runs = FakeRuns(clock)
    clock.interrupt_after = 45  # 20 one-minute polls per run: during the third run
    report = bf.execute(_plan(), runs, clock, parallel=1, poll_seconds=60)
    assert report.interrupted
    assert len(report.starts) == 3
    assert [o.run.folder for o in report.still_running] == ["2026-11-22"]
    assert report.count(bf.NOT_STARTED) == 4 and report.count("SUCCEEDED") == 2


def test_parallel_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        bf.execute(_plan(), FakeRuns(FakeClock()), FakeClock(), parallel=0)
