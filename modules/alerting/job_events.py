"""The transform-job rule: a page for each of one pipeline's transform jobs that failed or was
stopped.

Creates an EventBridge rule on this pipeline's SageMaker "Transform Job State Change" events with
status Failed or Stopped (but for a CapacityError the run falls back from), and its target: the
alert topic, with an input transformer that writes the page (``job_event_message``), a bounded
retry policy, and a dead-letter queue (encrypted with the alert key, its policy letting only this
rule send; the queue helper is the schedule's, modules/scheduler.py) for what EventBridge could
not publish.

Needs: the pipeline's names, the environment's name, ``AwsContext``, the alert topic's ARN and
the alert key's.
"""

from __future__ import annotations

import json
from typing import Any

from constructs import Construct

from imports.aws import CloudwatchEventRule, CloudwatchEventTarget
from modules.alert_routing import NOTICE, PAGE, message_head
from modules.aws_context import AwsContext
from modules.config.aws_facts import CAPACITY_ERROR_PREFIX
from modules.iam import Statement, allow
from modules.naming import PipelineNames
from modules.scheduler import DeadLetterQueue, dead_letter_queue

# EventBridge's retries of publishing a page (its default is 185 attempts over 24 hours). A page
# hours late still matters; past this, the dead-letter queue keeps it and its alarm says so.
ALERT_RETRY_ATTEMPTS = 20
ALERT_MAX_EVENT_AGE_SECONDS = 6 * 3600

# The rule's input paths. The rule's pattern requires the job's name and status, so only the
# reason can be missing (a stopped job has none).
JOB_EVENT_PATHS = {
    "job": "$.detail.TransformJobName",
    "status": "$.detail.TransformJobStatus",
    "reason": "$.detail.FailureReason",
}


def transform_job_alerts(
    scope: Construct,
    *,
    names: PipelineNames,
    environment: str,
    aws: AwsContext,
    topic_arn: str,
    alert_key_arn: str,
    falls_back_on_capacity: bool = False,
    shard_jobs: bool = False,
) -> DeadLetterQueue:
    """The rule, its target and the target's dead-letter queue, in ``scope`` (the pipeline's
    alarms); returns the queue, which the alarms watch. A pipeline that ``falls_back_on_capacity``
    (transform.fallback_instance_types) gets no page for a job that failed with a CapacityError:
    its run starts the job on the next type, and pages itself if no type had capacity. A sharded
    pipeline's jobs (``shard_jobs``) are its shards': each failed or stopped one is a notice, not
    a page, since the run pages once, naming its failed shards, when they are more than it
    tolerates (and a run that fails stops its other shards' jobs: a page each would bury it)."""
    rule_arn = aws.arn("events", f"rule/{names.job_failed_rule}")
    detail: dict[str, Any] = {
        "TransformJobStatus": ["Failed", "Stopped"],
        "TransformJobName": [{"prefix": names.run_prefix}],
    }
    if falls_back_on_capacity:
        detail["$or"] = [
            {"TransformJobStatus": ["Stopped"]},  # a stopped job has no FailureReason
            {"FailureReason": [{"anything-but": {"prefix": CAPACITY_ERROR_PREFIX}}]},
        ]
    rule = CloudwatchEventRule(
        scope,
        "transform-job-failed-rule",
        name=names.job_failed_rule,
        description=f"{names.base}: a transform job failed or was stopped",
        event_pattern=json.dumps(
            {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Transform Job State Change"],
                "detail": detail,
            },
            indent=2,
        ),
    )

    def only_this_rule(queue_arn: str) -> list[Statement]:
        # EventBridge delivers undeliverable events with the queue's permission.
        return [
            allow(
                "TransformJobRuleDeadLetters",
                ["sqs:SendMessage"],
                queue_arn,
                Principal={"Service": aws.service_principal("events")},
                Condition={"ArnEquals": {"aws:SourceArn": rule_arn}},
            )
        ]

    dlq = dead_letter_queue(
        scope,
        "alert-dead-letter-queue",
        name=names.alert_dlq,
        kms_key_arn=alert_key_arn,
        senders=only_this_rule,
    )
    CloudwatchEventTarget(
        scope,
        "transform-job-failed-target",
        rule=rule.name,
        arn=topic_arn,
        input_transformer={
            "input_paths": JOB_EVENT_PATHS,
            "input_template": job_event_message(
                names.base, environment, NOTICE if shard_jobs else PAGE
            ),
        },
        retry_policy={
            "maximum_retry_attempts": ALERT_RETRY_ATTEMPTS,
            "maximum_event_age_in_seconds": ALERT_MAX_EVENT_AGE_SECONDS,
        },
        dead_letter_config={"arn": dlq.arn},
    )
    return dlq


def job_event_message(pipeline: str, environment: str, severity: str = PAGE) -> str:
    """The rule's message: JSON (subscription filter policies read ``severity``), a sentence
    first for email readers.

    It stays JSON whatever the event holds. EventBridge leaves a variable whose path is missing
    out of the output, and inserts a value as it is inside quotes, as JSON outside them. So the
    job's name and status (always there: the rule's pattern requires them; SageMaker's names and
    statuses hold no quote) are inside quotes, and the reason, which a stopped job lacks and whose
    text may hold quotes, is the one element of a list: ``[]`` when missing."""
    sentence = json.dumps(f"{pipeline}: transform job <job> is <status>")[1:-1]
    return (
        message_head(severity, "transform job failed or stopped", pipeline, environment)
        + sentence
        + '", "transform_job": "<job>", "status": "<status>", "reason": [<reason>]}'
    )
