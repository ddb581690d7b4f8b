"""The steps that settle a run's input prefix: from the marker object that started it (event
trigger), from its scheduled date (dated input folders), or as requested or by default, checked to
lie under the pipeline's own prefix; then the run's identity (``$.run``).

Needs the pipeline's config and the targets (the run-name format of its names).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from modules.config import PipelineConfig
from modules.workflow import state_names as sn
from modules.workflow.asl import (
    jsonata_string,
    present_string,
    under_prefix,
)
from modules.workflow.chain import States, Step
from modules.workflow.targets import WorkflowTargets


def _derived_input_states(
    check: str,
    derive: str,
    comment: str,
    when: list[dict[str, Any]],
    prefix: str,
    nxt: str,
) -> States:
    return {
        check: {
            "Type": "Choice",
            "Comment": comment,
            "Choices": [{"And": when, "Next": derive}],
            "Default": nxt,
        },
        derive: {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": f"{{% $merge([$states.input, {{'input_prefix': {prefix}}}]) %}}",
            "Next": sn.CHECK_RUN_INPUT,
        },
    }


def _derived_input(
    check: str, derive: str, comment: str, when: list[dict[str, Any]], prefix: str
) -> Step:
    """Runs whose input matches ``when`` read the input prefix the JSONata expression ``prefix``
    derives from it; it is then checked like any requested prefix (CheckRunInput)."""
    return Step(check, partial(_derived_input_states, check, derive, comment, when, prefix))


def marker_input(marker: str) -> Step:
    """Runs started by a marker object (event trigger) read the folder the marker is in."""
    return _derived_input(
        sn.CHECK_TRIGGER,
        sn.INPUT_FROM_MARKER,
        "Runs started by a marker object read the folder the marker is in.",
        present_string("$.marker_key"),
        "$substring($states.input.marker_key, 0, "
        f"$length($states.input.marker_key) - {len(marker)})",
    )


def scheduled_input(pipeline: PipelineConfig, folder: str) -> Step:
    """Scheduled runs (with dated input folders) read the folder of their scheduled date."""
    return _derived_input(
        sn.CHECK_SCHEDULED_RUN,
        sn.INPUT_FROM_SCHEDULE,
        "Scheduled runs read the folder of their scheduled date.",
        [
            *present_string("$.scheduled_time"),
            {"Not": {"Variable": "$.input_prefix", "IsPresent": True}},
        ],
        f"{jsonata_string(pipeline.default_input_prefix)} & "
        "$fromMillis($toMillis($states.input.scheduled_time), "
        f"{jsonata_string(folder)}) & '/'",
    )


def _run_parameters(t: WorkflowTargets, input_prefix: dict[str, str]) -> dict[str, Any]:
    return {
        **input_prefix,
        "run_id.$": "$$.Execution.Name",
        "job_name.$": (
            f"States.Format('{t.names.run_name_format}', States.Hash($$.Execution.Name, 'MD5'))"
        ),
        "started_at.$": "$$.Execution.StartTime",
        "attempt": 0,
    }


def _run_input_states(pipeline: PipelineConfig, t: WorkflowTargets, nxt: str) -> States:
    default_prefix = pipeline.default_input_prefix
    states: States = {}
    states[sn.CHECK_RUN_INPUT] = {
        "Type": "Choice",
        "Comment": "A run may read another prefix, but only under the pipeline's own.",
        "Choices": under_prefix(
            "$.input_prefix", default_prefix, sn.USE_REQUESTED_INPUT, sn.REJECT_RUN_INPUT
        ),
        "Default": sn.USE_DEFAULT_INPUT,
    }
    states[sn.REJECT_RUN_INPUT] = {
        "Type": "Fail",
        "Error": "InvalidRunInput",
        "Cause": f"input_prefix must be a string starting with '{default_prefix}'",
    }
    for name, prefix in (
        (sn.USE_REQUESTED_INPUT, {"input_prefix.$": "$.input_prefix"}),
        (sn.USE_DEFAULT_INPUT, {"input_prefix": default_prefix}),
    ):
        states[name] = {
            "Type": "Pass",
            "Parameters": _run_parameters(t, prefix),
            "ResultPath": "$.run",
            "Next": nxt,
        }
    return states


def run_input(pipeline: PipelineConfig, t: WorkflowTargets) -> Step:
    """The run's input prefix: requested (under the pipeline's own) or the default."""
    return Step(sn.CHECK_RUN_INPUT, partial(_run_input_states, pipeline, t))
