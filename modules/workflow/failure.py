"""The failure handling, where every step's Catch leads: describe the failure (as a page, with a
console link to the execution), delete the per-run model, notify, and fail the run with the
original error. It is not in the chain: it ends the run itself.

Needs the pipeline's config, the targets (alert topic, console region) and the alert severities
(modules/alert_routing.py).
"""

from __future__ import annotations

from modules.alert_routing import PAGE, SEVERITY_KEY, message_identity
from modules.aws_context import console_url
from modules.config import PipelineConfig
from modules.workflow import state_names as sn
from modules.workflow.asl import escape_intrinsic, publish, publish_statement
from modules.workflow.chain import States, Step
from modules.workflow.registry import delete_run_model
from modules.workflow.targets import WorkflowTargets


def failure_handling(pipeline: PipelineConfig, t: WorkflowTargets) -> Step:
    """Every failure: describe it, clean up, notify, and fail the run with the original error.
    Not in the chain: every step's Catch leads here, and it ends the run itself."""
    return Step(
        sn.DESCRIBE_FAILURE, lambda _: _failure_states(pipeline, t), (publish_statement(t),)
    )


def _failure_states(pipeline: PipelineConfig, t: WorkflowTargets) -> States:
    states: States = {}
    console = (
        escape_intrinsic(
            console_url(t.aws.partition, t.aws.region, "states/home") + "#/v2/executions/details/"
        )
        + "{}"
    )
    after_describe = (
        sn.DELETE_RUN_MODEL_AFTER_FAILURE if pipeline.model.resolved_per_run else sn.NOTIFY_FAILURE
    )
    states[sn.DESCRIBE_FAILURE] = {
        "Type": "Pass",
        "Parameters": {
            SEVERITY_KEY: PAGE,  # subscription filter policies route on it (alert_routing)
            "event": "run failed",
            **message_identity(t.names.base, t.environment),
            "execution.$": "$$.Execution.Id",
            "run_id.$": "$$.Execution.Name",
            "run_name.$": "$.run.job_name",
            "input_prefix.$": "$.run.input_prefix",
            "error.$": "$.error.Error",
            "cause.$": "$.error.Cause",
            "console.$": f"States.Format('{console}', $$.Execution.Id)",
        },
        "ResultPath": "$.failure",
        "Next": after_describe,
    }
    if pipeline.model.resolved_per_run:
        states[sn.DELETE_RUN_MODEL_AFTER_FAILURE] = delete_run_model(t, sn.NOTIFY_FAILURE)
    # A lost notification must not turn a failed run into a succeeded one: both paths fail.
    states[sn.NOTIFY_FAILURE] = publish(
        t, "batch inference run failed", "States.JsonToString($.failure)", sn.RUN_FAILED
    )
    states[sn.RUN_FAILED] = {
        "Type": "Fail",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }
    return states
