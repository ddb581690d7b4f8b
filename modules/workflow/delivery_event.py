"""The "Batch predictions ready" event: after a complete run (counted, its partition registered with
``delivery.table``, recorded, its manifest written), one event on the environment's default event
bus or ``delivery.event_bus``, through the optimized ``events:putEvents`` integration (no Lambda);
the IAM that needs (that bus only, the source pinned); and the event's JSON Schema (Draft 4), from
the same table as the detail, for the schema registry and docs/.

A run that failed, found no input or was skipped never reaches it: it puts no event.

Needs the pipeline's config (delivery, model, manifest), the targets (AWS context, names, output
bucket) and the delivery counts (modules/workflow/delivery_count.py).
"""

from __future__ import annotations

from typing import Any

from modules.aws_context import AwsContext
from modules.config import PipelineConfig
from modules.iam import Statement, allow
from modules.naming import Names
from modules.workflow import state_names as sn
from modules.workflow.asl import (
    integration,
    jsonata_catch_to,
    jsonata_string,
    transient_retry,
)
from modules.workflow.chain import Step
from modules.workflow.delivery_count import COUNTS
from modules.workflow.finish import MANIFEST_NAME
from modules.workflow.model_identity import identity_object
from modules.workflow.targets import WorkflowTargets

READY_DETAIL_TYPE = "Batch predictions ready"
DEFAULT_EVENT_BUS = "default"
# Errors of PutEvents a later attempt can get past.
EVENTBRIDGE_TRANSIENT = ["EventBridge.InternalException", "EventBridge.ThrottlingException"]

# The detail: field, JSON Schema type, description. The detail expression and the schema are both
# read from here.
_DETAIL_FIELDS: list[tuple[str, str, str]] = [
    ("project", "string", "The project."),
    ("environment", "string", "The environment."),
    ("pipeline", "string", "The pipeline."),
    ("run_id", "string", "The run's id (its execution's name)."),
    ("scheduled_time", "string", "The schedule's time of the run (scheduled runs only)."),
    ("output_uri", "string", "The run's output folder: one .out per input object."),
    ("manifest_uri", "string", "The run's manifest (pipelines that write one)."),
    ("model", "object", "Which model made the predictions."),
    *((count, "integer", f"The run's {count.replace('_', ' ')}.") for count in COUNTS),
    ("table_partition", "object", "The run's partition of the predictions table."),
]
_OPTIONAL = {"scheduled_time", "manifest_uri", "table_partition"}
_MODEL_FIELDS = {
    "package_arn": ("string", "The Model Registry package's ARN."),
    "package_version": ("integer", "The package's version."),
    "image": ("string", "The inference image."),
    "image_digest": ("string", "The image's digest, when the image is given by digest."),
    "artifact_key": ("string", "The model artifact's key in the environment's model bucket."),
}
_PARTITION_FIELDS = {
    "database": "The Glue database.",
    "table": "The table.",
    "run_date": "The partition's run_date: the run's scheduled or start date, UTC (yyyy-mm-dd).",
    "run_id": "The partition's run_id.",
}


def event_bus_arn(pipeline: PipelineConfig, aws: AwsContext) -> str:
    """The bus the pipeline's "ready" events go to."""
    assert pipeline.delivery is not None
    return aws.arn("events", f"event-bus/{pipeline.delivery.event_bus or DEFAULT_EVENT_BUS}")


def _detail(pipeline: PipelineConfig, t: WorkflowTargets) -> str:
    """The detail, a JSONata object over the state's input."""
    folder = "$states.input.transform.output_path"
    values = {
        "project": jsonata_string(t.names.project),
        "environment": jsonata_string(t.environment),
        "pipeline": jsonata_string(pipeline.name),
        "run_id": "$states.context.Execution.Name",
        "scheduled_time": "$states.input.scheduled_time",
        "output_uri": folder,
        "manifest_uri": f"{folder} & {jsonata_string(MANIFEST_NAME)}",
        "model": identity_object(pipeline),
        **{count: f"$states.input.delivery.{count}" for count in COUNTS},
        "table_partition": "$states.input.table_partition",
    }
    if not pipeline.write_manifest:
        del values["manifest_uri"]
    if pipeline.delivery is None or pipeline.delivery.table is None:
        del values["table_partition"]
    assert values.keys() <= {name for name, _, _ in _DETAIL_FIELDS}
    return "{" + ", ".join(f"'{key}': {value}" for key, value in values.items()) + "}"


def _ready_event_state(pipeline: PipelineConfig, t: WorkflowTargets, nxt: str) -> dict[str, Any]:
    entry = (
        f"{{'Source': {jsonata_string(t.names.event_source)}, "
        f"'DetailType': {jsonata_string(READY_DETAIL_TYPE)}, "
        f"'EventBusName': {jsonata_string(event_bus_arn(pipeline, t.aws))}, "
        f"'Detail': $string({_detail(pipeline, t)})}}"
    )
    return {
        "Type": "Task",
        "QueryLanguage": "JSONata",
        "Comment": "Consumers start from this event instead of polling S3.",
        "Resource": integration(t, "events:putEvents"),
        "Arguments": f"{{% {{'Entries': [{entry}]}} %}}",
        "Output": "{% $states.input %}",
        "Retry": [transient_retry(EVENTBRIDGE_TRANSIENT)],
        "Catch": jsonata_catch_to(sn.DESCRIBE_FAILURE),
        "Next": nxt,
    }


def ready_event(pipeline: PipelineConfig, t: WorkflowTargets) -> Step:
    """Put the "Batch predictions ready" event of a complete run."""
    statement: Statement = allow(
        "PutReadyEventsOnThisBus",
        ["events:PutEvents"],
        event_bus_arn(pipeline, t.aws),
        Condition={"StringEquals": {"events:source": t.names.event_source}},
    )
    return Step(
        sn.PUT_READY_EVENT,
        lambda nxt: {sn.PUT_READY_EVENT: _ready_event_state(pipeline, t, nxt)},
        (statement,),
    )


def ready_event_schema(event_source: str) -> dict[str, Any]:
    """The event's JSON Schema (Draft 4): the EventBridge envelope and the detail."""
    model = {
        "type": "object",
        "description": "Which model made the predictions: a package, or an image and artifact.",
        "properties": {
            name: {"type": kind, "description": text}
            for name, (kind, text) in _MODEL_FIELDS.items()
        },
    }
    partition = {
        "type": "object",
        "description": "The run's partition of the predictions table (pipelines with "
        "delivery.table).",
        "required": list(_PARTITION_FIELDS),
        "properties": {
            name: {"type": "string", "description": text}
            for name, text in _PARTITION_FIELDS.items()
        },
    }
    objects = {"model": model, "table_partition": partition}
    detail = {
        "type": "object",
        "required": [name for name, _, _ in _DETAIL_FIELDS if name not in _OPTIONAL],
        "properties": {
            name: objects.get(name, {"type": kind, "description": text})
            for name, kind, text in _DETAIL_FIELDS
        },
    }
    envelope = {name: {"type": "string"} for name in ("version", "id", "account", "time", "region")}
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": READY_DETAIL_TYPE,
        "type": "object",
        "required": ["detail-type", "source", "detail"],
        "properties": {
            **envelope,
            "source": {"type": "string", "enum": [event_source]},
            "detail-type": {"type": "string", "enum": [READY_DETAIL_TYPE]},
            "resources": {"type": "array", "items": {"type": "string"}},
            "detail": detail,
        },
    }


def ready_events(pipeline: PipelineConfig, aws: AwsContext, names: Names) -> dict[str, Any]:
    """Where the pipeline's "ready" events go, and a rule pattern that matches them (without
    ``detail.pipeline``, every pipeline's)."""
    return {
        "event_bus": event_bus_arn(pipeline, aws),
        "rule_pattern": {
            "source": [names.event_source],
            "detail-type": [READY_DETAIL_TYPE],
            "detail": {"pipeline": [pipeline.name]},
        },
    }
