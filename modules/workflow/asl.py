"""Amazon States Language building blocks shared by the workflow's steps: one escaper per language
that config values are pasted into, Catch rules, service integrations, retried SDK tasks, SNS
notices and the tags of what a run creates.

Config values pasted into string literals go through one function per language:
``jsonata_string`` (JSONata), ``escape_intrinsic`` (intrinsic functions) and
``escape_string_matches`` (Choice ``StringMatches`` patterns).

Needs the targets (``WorkflowTargets``), the alert severities (modules/alert_routing.py) and the
IAM statement builder (modules/iam.py).
"""

from __future__ import annotations

import json
from typing import Any

from modules.alert_routing import NOTICE, message_head
from modules.config import PipelineConfig
from modules.iam import Statement, allow
from modules.workflow.state_names import DESCRIBE_FAILURE
from modules.workflow.targets import WorkflowTargets

# SDK integrations report throttling under the service's own exception names.
TRANSIENT_SDK_RETRY = {
    "ErrorEquals": [
        "Sfn.SfnException",
        "S3.S3Exception",
        "SageMaker.SageMakerException",
        "States.Timeout",
    ],
    "IntervalSeconds": 2,
    "MaxAttempts": 3,
    "BackoffRate": 2.0,
    "JitterStrategy": "FULL",
}


def jsonata_string(text: str) -> str:
    """A JSONata string literal of any text: JSON's escaping (a double-quoted JSONata string reads
    the same escapes), so quotes and backslashes in config values cannot end the literal."""
    return json.dumps(text)


def escape_intrinsic(text: str) -> str:
    """Escape a literal for use inside an intrinsic function's quoted string argument."""
    for char in ("\\", "'", "{", "}"):
        text = text.replace(char, "\\" + char)
    return text


def escape_string_matches(text: str) -> str:
    """Escape a literal for a Choice rule's ``StringMatches`` pattern (``*`` is its wildcard)."""
    return text.replace("\\", "\\\\").replace("*", "\\*")


def present_string(path: str) -> list[dict[str, Any]]:
    """Choice conditions: the run input has a string at this path."""
    return [{"Variable": path, "IsPresent": True}, {"Variable": path, "IsString": True}]


def under_prefix(path: str, prefix: str, accept: str, reject: str) -> list[dict[str, Any]]:
    """Choice rules: a string at ``path`` starting with ``prefix`` goes to ``accept``, anything
    else there to ``reject`` (the Choice's Default takes a run input without it)."""
    return [
        {
            "And": [
                *present_string(path),
                {"Variable": path, "StringMatches": escape_string_matches(prefix) + "*"},
            ],
            "Next": accept,
        },
        {"Variable": path, "IsPresent": True, "Next": reject},
    ]


def catch_to(state: str, result_path: str = "$.error") -> list[dict[str, Any]]:
    """A Catch of every error, kept at ``result_path``, that continues at ``state``."""
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": result_path, "Next": state}]


def transient_retry(errors: list[str]) -> dict[str, Any]:
    """``TRANSIENT_SDK_RETRY`` for a service that names its transient errors ``errors`` (and a
    task's own timeout)."""
    return {**TRANSIENT_SDK_RETRY, "ErrorEquals": [*errors, "States.Timeout"]}


def jsonata_catch_to(state: str) -> list[dict[str, Any]]:
    """``catch_to`` for a JSONata state: every error, kept as ``error`` beside the state's input,
    continues at ``state``."""
    return [
        {
            "ErrorEquals": ["States.ALL"],
            "Output": "{% $merge([$states.input, {'error': $states.errorOutput}]) %}",
            "Next": state,
        }
    ]


def jsonata_catch_keeping_input(state: str) -> list[dict[str, Any]]:
    """A JSONata state's Catch that continues at ``state`` with the state's input as it was: its
    own error must not replace the one the input already carries."""
    return [{"ErrorEquals": ["States.ALL"], "Output": "{% $states.input %}", "Next": state}]


def integration(t: WorkflowTargets, resource: str) -> str:
    """A Task's service integration (``sns:publish``, ``aws-sdk:s3:putObject``...): an ARN with
    neither region nor account."""
    return t.aws.arn("states", resource, region=False, account=False)


def sdk_task(
    t: WorkflowTargets,
    service_action: str,
    parameters: dict[str, Any],
    *,
    next_state: str,
    result_path: str | None = None,
    result_selector: dict[str, Any] | None = None,
    comment: str | None = None,
    catch: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An AWS SDK call, retried on throttling; any other error goes to the failure handling (or
    to ``catch``)."""
    state: dict[str, Any] = {"Type": "Task"}
    if comment is not None:
        state["Comment"] = comment
    state |= {"Resource": integration(t, f"aws-sdk:{service_action}"), "Parameters": parameters}
    if result_selector is not None:
        state["ResultSelector"] = result_selector
    return state | {
        "ResultPath": result_path,
        "Retry": [TRANSIENT_SDK_RETRY],
        "Catch": catch if catch is not None else catch_to(DESCRIBE_FAILURE),
        "Next": next_state,
    }


def publish_statement(t: WorkflowTargets) -> Statement:
    """What a step that notifies needs: publishing to the alert topic."""
    return allow("PublishAlerts", ["sns:Publish"], t.alert_topic_arn)


def publish(t: WorkflowTargets, subject: str, message_path: str, next_state: str) -> dict[str, Any]:
    """An SNS notification whose own failure never changes the run's result."""
    return {
        "Type": "Task",
        "Resource": integration(t, "sns:publish"),
        "Parameters": {
            "TopicArn": t.alert_topic_arn,
            "Subject": f"[{t.names.base}] {subject}",
            "Message.$": message_path,
        },
        "ResultPath": None,
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 5, "MaxAttempts": 2}],
        "Catch": catch_to(next_state, "$.notify_error"),
        "Next": next_state,
    }


def notice(t: WorkflowTargets, event: str, sentence: str, *args: str, **values: str) -> str:
    """A notice's message as ``States.Format`` of JSON text: severity notice (subscription filter
    policies read it, modules/alert_routing.py), the event, the pipeline and environment, a
    sentence for email readers, then ``values``.

    ``sentence`` is intrinsic-string text whose ``{}`` take ``args`` (execution names and ARNs:
    they hold no quote or backslash, so the sentence stays a valid JSON string); each of
    ``values`` is an intrinsic that gives JSON text (``States.JsonToString`` of an object)."""
    head = message_head(NOTICE, event, t.names.base, t.environment)
    text = escape_intrinsic(head) + sentence + '"'
    text += "".join(escape_intrinsic(f', "{key}": ') + "{}" for key in values)
    text += escape_intrinsic("}")
    return f"States.Format('{text}', {', '.join([*args, *values.values()])})"


def run_tags(pipeline: PipelineConfig, t: WorkflowTargets) -> list[dict[str, str]]:
    """The tags of what a run creates (its model, its transform jobs)."""
    return [
        {"Key": "pipeline", "Value": pipeline.name},
        {"Key": "environment", "Value": t.environment},
    ]
