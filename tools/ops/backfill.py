"""Backfill logic without AWS: which dated folders to run, under which execution names, which to
leave alone (resume), and the loop that starts them one after another (or a few at a time) and
waits for each, stopping cleanly on Ctrl-C.

Everything here takes its clock, its random token and its AWS calls as arguments, so the tests
drive it with a fake clock and fake runs (tests/test_ops_backfill.py); tools/ops/cli.py gives it
the real ones.

Names: ``backfill-<folder>-<UTC start of the backfill>-<4 hex>``. A new backfill (a re-run of a
failed date) gets a new stamp and token, so its names never collide with earlier executions
(Step Functions refuses a name used in the last 90 days); the folder in the name is how a later
backfill finds the runs of a date to resume.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from tools.ops.runs import RUNNING, RunState

NAME_PREFIX = "backfill-"
MAX_EXECUTION_NAME = 80  # Step Functions' limit (StartExecution.name)
_STAMP = "%Y%m%dT%H%M%SZ"
_SUFFIX = r"\d{8}T\d{6}Z-[0-9a-f]{4}"
# Results of runs that ended SUCCEEDED without doing the work (modules/workflow/guards.py:
# RunSkipped, NoInput): their dates are run again.
NO_WORK_RESULTS = ("skipped", "no-input")


def _folder_part(folder: str) -> str:
    """The folder as it appears in a name; a long one is cut and given a hash (names stay unique
    per folder and within Step Functions' 80 characters)."""
    room = MAX_EXECUTION_NAME - len(NAME_PREFIX) - len("-20261126T010000Z-0000")
    if len(folder) <= room:
        return folder
    digest = hashlib.md5(folder.encode()).hexdigest()[:8]
    return f"{folder[: room - 9]}-{digest}"


def execution_name(folder: str, stamp: datetime, token: str) -> str:
    return f"{NAME_PREFIX}{_folder_part(folder)}-{stamp.strftime(_STAMP)}-{token}"


def is_run_of(name: str, folder: str) -> bool:
    """Whether an execution name is a backfill run of this folder."""
    pattern = re.escape(f"{NAME_PREFIX}{_folder_part(folder)}-") + _SUFFIX
    return re.fullmatch(pattern, name) is not None


@dataclass(frozen=True)
class PastRun:
    """An execution of the state machine, as ListExecutions (and, for a succeeded one,
    DescribeExecution's result) shows it."""

    name: str
    arn: str
    status: str
    started: datetime
    result: str | None = None


@dataclass(frozen=True)
class PlannedRun:
    scheduled_time: datetime
    folder: str
    input_prefix: str
    name: str
    start: bool
    reason: str  # why it is started or left alone
    previous: PastRun | None


def latest_runs(folders: Iterable[str], past: Iterable[PastRun]) -> dict[str, PastRun]:
    """The most recent backfill run of each folder (by start time)."""
    runs = list(past)
    found: dict[str, PastRun] = {}
    for folder in folders:
        mine = [run for run in runs if is_run_of(run.name, folder)]
        if mine:
            found[folder] = max(mine, key=lambda run: (run.started, run.name))
    return found


def plan(
    slots: Sequence[tuple[datetime, str]],
    latest: dict[str, PastRun],
    *,
    input_prefix: str,
    stamp: datetime,
    token: str,
    force: bool,
) -> list[PlannedRun]:
    """One run per folder, in date order. A folder whose latest run succeeded (and did the work)
    is left alone unless ``force``; one whose latest run is still running is left alone always."""
    planned = []
    for when, folder in sorted(slots):
        previous = latest.get(folder)
        start, reason = True, "no earlier backfill run"
        if previous is not None:
            if previous.status == RUNNING:
                start, reason = False, f"still running: {previous.name}"
            elif previous.status == "SUCCEEDED" and previous.result not in NO_WORK_RESULTS:
                start, reason = force, f"succeeded: {previous.name}"
                if force:
                    reason += " (--force)"
            else:
                shown = previous.status.lower() + (
                    f" ({previous.result})" if previous.result else ""
                )
                reason = f"latest run {shown}: {previous.name}"
        planned.append(
            PlannedRun(
                scheduled_time=when,
                folder=folder,
                input_prefix=f"{input_prefix}{folder}/",
                name=execution_name(folder, stamp, token),
                start=start,
                reason=reason,
                previous=previous,
            )
        )
    return planned


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class Runner(Protocol):
    """The two calls a backfill makes: start a run, and look at it."""

    def start(self, run: PlannedRun) -> str: ...

    def state(self, execution_arn: str) -> RunState: ...


NOT_STARTED = "NOT STARTED"
LEFT_ALONE = "LEFT ALONE"


@dataclass
class Outcome:
    run: PlannedRun
    status: str = NOT_STARTED
    result: str | None = None
    execution_arn: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass
class Report:
    outcomes: list[Outcome]
    interrupted: bool = False
    parallel: int = 1
    starts: list[str] = field(default_factory=list)  # names, in the order they were started

    @property
    def still_running(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == RUNNING]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


def execute(
    planned: Sequence[PlannedRun],
    runner: Runner,
    clock: Clock,
    *,
    parallel: int = 1,
    poll_seconds: float = 30.0,
    on_change: Callable[[Outcome], None] = lambda _: None,
) -> Report:
    """Start the planned runs in date order, at most ``parallel`` at a time (1: each waits for the
    one before to finish), polling every ``poll_seconds``. Ctrl-C (KeyboardInterrupt) stops
    starting runs; those already started keep running in AWS and are listed as RUNNING."""
    if parallel < 1:
        raise ValueError("parallel must be at least 1")
    outcomes = [Outcome(run, status=NOT_STARTED if run.start else LEFT_ALONE) for run in planned]
    report = Report(outcomes, parallel=parallel)
    pending = deque(o for o in outcomes if o.run.start)
    running: list[Outcome] = []
    try:
        while pending or running:
            while pending and len(running) < parallel:
                outcome = pending.popleft()
                outcome.execution_arn = runner.start(outcome.run)
                outcome.status, outcome.started_at = RUNNING, clock.now()
                report.starts.append(outcome.run.name)
                running.append(outcome)
                on_change(outcome)
            clock.sleep(poll_seconds)
            for outcome in list(running):
                assert outcome.execution_arn is not None
                state = runner.state(outcome.execution_arn)
                if state.status != RUNNING:
                    outcome.status, outcome.result = state.status, state.result
                    outcome.finished_at = clock.now()
                    running.remove(outcome)
                    on_change(outcome)
    except KeyboardInterrupt:
        report.interrupted = True
    return report
