"""Backfill logic without AWS: which dated folders to run, under which execution names, which to
leave alone (resume), and the loop that starts them one after another (or a few at a time) and
waits for each, stopping cleanly on Ctrl-C.

Everything here takes its clock, its random token and its AWS calls as arguments, so the tests
drive it with a fake clock and fake runs (tests/test_ops_backfill.py); tools/ops/cli.py gives it
the real ones.

Names: ``backfill-<folder>-<UTC start of the backfill>-<4 hex>``, the folder with every character
outside ``0-9 A-Z a-z - _`` written as ``-`` (Step Functions' rule for execution names that keep
CloudWatch Logs logging working) and cut to fit the name's length limit. A new backfill (a re-run
of a failed date) gets a new stamp and token, so its names never collide with earlier executions
(Step Functions refuses a name used in the last 90 days).

Resume: a date is done when the latest run that read its folder succeeded and did the work,
whatever started that run (the schedule, an earlier backfill, ``run``): runs are matched by the
folder they read (``PastRun.folder``, from their input), not by name.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from tools.ops.runs import RUNNING, RunState

NAME_PREFIX = "backfill-"
_STAMP = "%Y%m%dT%H%M%SZ"
_STAMP_AND_TOKEN = "-20261126T010000Z-0000"  # the shape of what follows the folder
# Step Functions: "To enable logging with CloudWatch Logs, the name should only contain 0-9, A-Z,
# a-z, - and _" (StartExecution.name); logging is on at level ALL here.
_NOT_IN_NAMES = re.compile(r"[^0-9A-Za-z_-]")
# Results of runs that ended SUCCEEDED without doing the work (modules/workflow/guards.py:
# RunSkipped, NoInput): their dates are run again.
NO_WORK_RESULTS = ("skipped", "no-input")


@functools.cache
def max_execution_name() -> int:
    """Step Functions' limit on an execution name (StartExecution.name), from botocore."""
    from modules.config.botocore_facts import request_member

    return int(request_member("stepfunctions:StartExecution.name")["max"])


def name_part(text: str, room: int) -> str:
    """``text`` as part of an execution name, in at most ``room`` characters: characters Step
    Functions' logging cannot take become ``-``; a long one is cut and given a hash of the whole
    text (names stay unique per text and within the limit). Also ``rerun``'s (tools/ops/shards.py).
    """
    safe = _NOT_IN_NAMES.sub("-", text)
    if len(safe) <= room:
        return safe
    digest = hashlib.md5(text.encode()).hexdigest()[:8]
    return f"{safe[: room - 9]}-{digest}"


def _folder_part(folder: str) -> str:
    """The folder as it appears in a name (``name_part``, in the room the name leaves it)."""
    return name_part(folder, max_execution_name() - len(NAME_PREFIX) - len(_STAMP_AND_TOKEN))


def stamp_text(stamp: datetime) -> str:
    """A UTC time as execution names carry it (``20261126T010000Z``)."""
    return stamp.strftime(_STAMP)


def execution_name(folder: str, stamp: datetime, token: str) -> str:
    return f"{NAME_PREFIX}{_folder_part(folder)}-{stamp_text(stamp)}-{token}"


@dataclass(frozen=True)
class PastRun:
    """An execution of the state machine, as ListExecutions and DescribeExecution show it: its
    result, and the folder under the pipeline's prefix it read (None: the whole prefix)."""

    name: str
    arn: str
    status: str
    started: datetime
    result: str | None = None
    folder: str | None = None


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
    """The most recent run that read each folder, whatever started it. ``past`` is newest first
    (ListExecutions' order) and read only until every folder has its run."""
    wanted = set(folders)
    found: dict[str, PastRun] = {}
    runs = iter(past)
    while not found.keys() >= wanted:
        run = next(runs, None)
        if run is None:
            break
        if run.folder in wanted and run.folder not in found:
            found[run.folder] = run
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
        start, reason = True, "no earlier run"
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
