"""What the operations tool reads from a run, without calling AWS: a run's state, summary row and
the folder it read from DescribeExecution's answer, why it failed from its execution history, and
the input a run of a dated folder is started with.

The run's own data follows modules/workflow/: the input keys a run is started with (``trigger``,
``input_prefix``, ``scheduled_time``, ``marker_key``), the state it keeps (``run``, ``transform``,
``result``) and the failure handling (every Catch leads to ``DescribeFailure``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from modules.config import PipelineConfig
from modules.config.folders import FolderError, render
from modules.config.schedule import utc_text
from modules.workflow.state_names import DESCRIBE_FAILURE, RUN_TRANSFORM_JOB
from tools.ops.delivery import model_of_output

RUNNING = "RUNNING"


@dataclass(frozen=True)
class RunState:
    status: str  # RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    result: str | None = None  # "skipped", "no-input": a run that succeeded without a job


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def run_state(described: dict[str, Any]) -> RunState:
    output = _json(described.get("output"))
    result = output.get("result", {}).get("status") if isinstance(output, dict) else None
    return RunState(described["status"], result)


def scheduled_run_input(pipeline: PipelineConfig, when: datetime, trigger: str) -> dict[str, Any]:
    """The input a scheduled run at ``when`` gets (modules/scheduler.py: the schedule's payload,
    ``scheduled_time``), started by ``trigger`` instead: with dated input folders the state
    machine reads the folder of that time, exactly as the schedule's run of it would."""
    return {
        **pipeline.schedule.payload,
        "trigger": trigger,
        "scheduled_time": utc_text(when),
    }


def input_prefix_of(run_input: dict[str, Any], pipeline: PipelineConfig) -> str:
    """The prefix a run reads, worked out from its input as the workflow does (its first states:
    CheckTrigger, CheckScheduledRun, CheckRunInput). For display; the run's own output says it
    once the run has got that far."""
    default = pipeline.default_input_prefix
    marker = run_input.get("marker_key")
    if pipeline.trigger is not None and isinstance(marker, str):
        return marker[: len(marker) - len(pipeline.trigger.marker)]
    folder = pipeline.schedule.input_folder
    when = run_input.get("scheduled_time")
    if folder is not None and isinstance(when, str) and "input_prefix" not in run_input:
        try:
            return f"{default}{render(folder, datetime.fromisoformat(when))}/"
        except (FolderError, ValueError):
            return f"{default}?"
    requested = run_input.get("input_prefix")
    return requested if isinstance(requested, str) else default


def folder_read(described: dict[str, Any], pipeline: PipelineConfig) -> str | None:
    """The folder under the pipeline's input prefix a run read (its output says, once it got that
    far; else its input, as the workflow works it out), whatever started it: a schedule, a
    backfill, ``run`` or anyone's StartExecution. None for a run of the whole prefix."""
    output = _json(described.get("output"))
    run = output.get("run", {}) if isinstance(output, dict) else {}
    prefix = run.get("input_prefix") or input_prefix_of(
        _json(described.get("input")) or {}, pipeline
    )
    default = pipeline.default_input_prefix
    if not (isinstance(prefix, str) and prefix.startswith(default) and prefix.endswith("/")):
        return None
    return prefix[len(default) : -1] or None


@dataclass(frozen=True)
class RunRow:
    """One line of `runs`."""

    name: str
    execution_arn: str
    status: str
    result: str | None
    started: datetime
    stopped: datetime | None
    trigger: str
    input_prefix: str
    transform_job: str | None
    error: str | None
    model: str | None = None  # which model made the run, where its output says

    @property
    def outcome(self) -> str:
        return f"{self.status} ({self.result})" if self.result else self.status


def _cause_details(cause: str | None) -> dict[str, Any]:
    """A ``.sync`` transform job's failure cause is the job's description (JSON)."""
    details = _json(cause)
    return details if isinstance(details, dict) else {}


def run_row(described: dict[str, Any], pipeline: PipelineConfig) -> RunRow:
    run_input = _json(described.get("input")) or {}
    output = _json(described.get("output"))
    state = run_state(described)
    run = output.get("run", {}) if isinstance(output, dict) else {}
    transform = output.get("transform", {}) if isinstance(output, dict) else {}
    cause = _cause_details(described.get("cause"))
    job = transform.get("job_name") or cause.get("TransformJobName")
    error = described.get("error")
    if error:
        reason = cause.get("FailureReason") or described.get("cause") or ""
        error = f"{error}: {reason}" if reason else error
    return RunRow(
        name=described["name"],
        execution_arn=described["executionArn"],
        status=state.status,
        result=state.result,
        started=described["startDate"],
        stopped=described.get("stopDate"),
        trigger=str(run_input.get("trigger", "manual")),
        input_prefix=run.get("input_prefix") or input_prefix_of(run_input, pipeline),
        transform_job=job,
        error=error,
        model=model_of_output(output),
    )


@dataclass(frozen=True)
class Failure:
    """Where and why a run failed, from its history."""

    state: str | None
    error: str | None
    cause: str | None
    transform_job: str | None

    @property
    def failure_reason(self) -> str | None:
        reason = _cause_details(self.cause).get("FailureReason")
        return str(reason) if reason else None


_FAILED_EVENTS = {
    "TaskFailed": "taskFailedEventDetails",
    "TaskTimedOut": "taskTimedOutEventDetails",
    "TaskStartFailed": "taskStartFailedEventDetails",
    "TaskSubmitFailed": "taskSubmitFailedEventDetails",
}
_EXECUTION_END = {
    "ExecutionFailed": "executionFailedEventDetails",
    "ExecutionTimedOut": "executionTimedOutEventDetails",
    "ExecutionAborted": "executionAbortedEventDetails",
}


def failure_of(events: list[dict[str, Any]]) -> Failure:
    """The state that failed (the task whose error the failure handling caught, or the state the
    run left for DescribeFailure, or the last state entered), its error and cause, and the
    transform job attempt it ran last."""
    state: str | None = None
    before_handling: str | None = None
    failed: tuple[str | None, str | None, str | None] | None = None
    ended: tuple[str | None, str | None] = (None, None)
    job: str | None = None
    handling = False
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            if name == DESCRIBE_FAILURE and not handling:
                handling, before_handling = True, state
            state = name
        elif kind in _FAILED_EVENTS and not handling:
            details = event.get(_FAILED_EVENTS[kind], {})
            failed = (state, details.get("error"), details.get("cause"))
        elif kind == "TaskScheduled" and state == RUN_TRANSFORM_JOB and not handling:
            parameters = _json(event["taskScheduledEventDetails"].get("parameters")) or {}
            job = parameters.get("TransformJobName", job)
        elif kind in _EXECUTION_END:
            details = event.get(_EXECUTION_END[kind], {})
            ended = (details.get("error"), details.get("cause"))
    if failed is None:
        failed = (before_handling or state, *ended)
    where, error, cause = failed
    job = job or _cause_details(cause).get("TransformJobName")
    return Failure(state=where, error=error or ended[0], cause=cause or ended[1], transform_job=job)
