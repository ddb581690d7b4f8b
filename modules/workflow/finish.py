"""The steps after a transform job succeeded: the per-run model's deletion, the completion record
(the metric the freshness alarm counts), the run's manifest (written next to its output when
configured), the success notice and the Succeed state.

Needs the pipeline's config, the targets (output bucket, key, metric namespace, alert topic), the
completion metric's name (modules/naming.py) and, with ``delivery``, the model's identity
(modules/workflow/model_identity.py) for the manifest.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from modules.config import PipelineConfig
from modules.iam import Statement, allow, write_objects
from modules.naming import TRANSFORMS_COMPLETED
from modules.workflow import state_names as sn
from modules.workflow.asl import (
    catch_to,
    escape_intrinsic,
    jsonata_string,
    notice,
    publish,
    publish_statement,
    sdk_task,
)
from modules.workflow.chain import States, Step
from modules.workflow.model_identity import identity_object
from modules.workflow.registry import delete_run_model, run_models_statement
from modules.workflow.targets import WorkflowTargets

MANIFEST_NAME = "_manifest.json"


def run_model_cleanup(t: WorkflowTargets) -> Step:
    """The per-run model is deleted after the job (after a failure: see the failure handling)."""
    return Step(
        sn.DELETE_RUN_MODEL,
        lambda nxt: {sn.DELETE_RUN_MODEL: delete_run_model(t, nxt)},
        (run_models_statement(t),),
    )


def _completion_states(t: WorkflowTargets, nxt: str) -> States:
    return {
        sn.RECORD_COMPLETED_TRANSFORM: sdk_task(
            t,
            "cloudwatch:putMetricData",
            {
                "Namespace": t.names.metric_namespace,
                "MetricData": [{"MetricName": TRANSFORMS_COMPLETED, "Value": 1, "Unit": "Count"}],
            },
            comment="The freshness alarm counts this metric, not succeeded executions.",
            catch=catch_to(nxt, "$.metric_error"),
            next_state=nxt,
        )
    }


def completion_record(t: WorkflowTargets) -> Step:
    """Record that a transform completed: the one signal the freshness alarm counts (no-input and
    skipped runs also end as succeeded executions, without it). Its own failure does not change
    the run's result; a run that cannot record it shows up as missing data, i.e. the alarm."""
    statement = allow(
        "RecordCompletedTransforms",
        ["cloudwatch:PutMetricData"],
        "*",  # PutMetricData has no resource type: the namespace condition scopes it
        Condition={"StringEquals": {"cloudwatch:namespace": t.names.metric_namespace}},
    )
    return Step(sn.RECORD_COMPLETED_TRANSFORM, partial(_completion_states, t), (statement,))


def _manifest_expression(pipeline: PipelineConfig, t: WorkflowTargets, more: dict[str, str]) -> str:
    model = (
        "$states.input.model_package.arn"
        if pipeline.model.resolved_per_run
        else jsonata_string(str(t.model_name))
    )
    fields = {
        "pipeline": jsonata_string(pipeline.name),
        "environment": jsonata_string(t.environment),
        "run_id": "$states.context.Execution.Name",
        "trigger": "$exists($states.input.trigger) ? $states.input.trigger : 'manual'",
        "model": model,
        "input": f"{jsonata_string(f's3://{t.input_bucket}/')} & $states.input.run.input_prefix",
        "output": "$states.input.transform.output_path",
        "transform_job": "$states.input.transform.job_name",
        "started_at": "$states.context.Execution.StartTime",
        "finished_at": "$now()",
        "duration_seconds": (
            "$round(($toMillis($now()) - $toMillis($states.context.Execution.StartTime)) / 1000)"
        ),
        **more,
    }
    if pipeline.delivery is not None:
        # The "ready" event's model: which model made this output.
        fields["model_identity"] = identity_object(pipeline)
    body = ", ".join(f"'{key}': {value}" for key, value in fields.items())
    return f"{{% $merge([$states.input, {{'manifest': {{{body}}}}}]) %}}"


def _write_manifest_state(pipeline: PipelineConfig, t: WorkflowTargets, nxt: str) -> dict[str, Any]:
    output_prefix = escape_intrinsic(pipeline.run_output_prefix)
    return sdk_task(
        t,
        "s3:putObject",
        {
            "Bucket": t.output_bucket,
            "Key.$": f"States.Format('{output_prefix}{{}}/{MANIFEST_NAME}', $.run.run_id)",
            "Body.$": "States.JsonToString($.manifest)",
            "ContentType": "application/json",
            "ServerSideEncryption": "aws:kms",
            "SSEKMSKeyId": t.kms_key_arn,
        },
        comment="Downstream jobs can trigger on this object.",
        next_state=nxt,
    )


def _manifest_states(
    pipeline: PipelineConfig, t: WorkflowTargets, more: dict[str, str], nxt: str
) -> States:
    states: States = {
        sn.BUILD_MANIFEST: {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Output": _manifest_expression(pipeline, t, more),
            "Next": sn.WRITE_MANIFEST if pipeline.write_manifest else nxt,
        }
    }
    if pipeline.write_manifest:
        states[sn.WRITE_MANIFEST] = _write_manifest_state(pipeline, t, nxt)
    return states


def manifest(
    pipeline: PipelineConfig, t: WorkflowTargets, more: dict[str, str] | None = None
) -> Step:
    """What the run did, as one document; written next to its output when configured. ``more``:
    other steps' fields (name: JSONata over the state's input), e.g. the delivery counts."""
    statements: tuple[Statement, ...] = ()
    if pipeline.write_manifest:
        statements = (
            write_objects(
                "WriteRunManifest",
                t.output_bucket_arn,
                f"{pipeline.run_output_prefix}*/{MANIFEST_NAME}",
                multipart=False,
            ),
        )
    return Step(sn.BUILD_MANIFEST, partial(_manifest_states, pipeline, t, more or {}), statements)


def _success_states(t: WorkflowTargets, nxt: str) -> States:
    message = notice(
        t,
        "run succeeded",
        "Run {} succeeded.",
        "$$.Execution.Name",
        manifest="States.JsonToString($.manifest)",
    )
    return {sn.NOTIFY_SUCCESS: publish(t, "batch inference run succeeded", message, nxt)}


def success_notification(t: WorkflowTargets) -> Step:
    """Tell the alert topic's subscribers (a notice) that the run succeeded, with its manifest."""
    return Step(sn.NOTIFY_SUCCESS, partial(_success_states, t), (publish_statement(t),))


def succeed() -> Step:
    """The run's end when it did its work."""
    return Step(sn.RUN_SUCCEEDED, lambda _: {sn.RUN_SUCCEEDED: {"Type": "Succeed"}})
