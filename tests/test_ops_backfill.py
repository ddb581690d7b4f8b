"""The backfill's logic without AWS (tools/ops/backfill.py): plan, names, resume, the order runs
start in, parallelism and Ctrl-C, driven by a fake clock and fake runs (no sleeps)."""

from __future__ import annotations

import itertools
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
            bf.PastRun(o.run.name, o.execution_arn, o.status, o.started_at)
            for o in report.outcomes
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
        bf.PastRun(names[folders[0]], "a0", "SUCCEEDED", START, result="skipped"),
        bf.PastRun(names[folders[1]], "a1", "SUCCEEDED", START, result="no-input"),
        bf.PastRun(names[folders[2]], "a2", RUNNING, START),
    ]
    latest = bf.latest_runs(folders, past)
    planned = bf.plan(WEEK, latest, input_prefix="churn/", stamp=START, token="1", force=False)
    assert [run.start for run in planned[:3]] == [True, True, False]
    assert planned[0].reason.startswith("latest run succeeded (skipped)")
    assert planned[2].reason.startswith("still running")
    forced = bf.plan(WEEK, latest, input_prefix="churn/", stamp=START, token="1", force=True)
    assert not forced[2].start  # a running date is never started twice


def test_names_are_valid_unique_per_attempt_and_found_again_by_folder() -> None:
    first = bf.execution_name("2026-11-20", START, "a1b2")
    assert first == "backfill-2026-11-20-20261201T080000Z-a1b2"
    assert bf.is_run_of(first, "2026-11-20")
    assert not bf.is_run_of(first, "2026-11-2")  # a shorter folder is not a prefix match
    assert not bf.is_run_of("backfill-2026-11-20-manual", "2026-11-20")
    later = bf.execution_name("2026-11-20", START + timedelta(seconds=1), "a1b2")
    assert later != first
    long = "x" * 100
    name = bf.execution_name(long, START, "a1b2")
    assert len(name) <= bf.MAX_EXECUTION_NAME and bf.is_run_of(name, long)
    assert not bf.is_run_of(name, "x" * 99)


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
