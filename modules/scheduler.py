"""Scheduler layer: what starts runs. The environment's schedule group, and per pipeline its
schedule and (optionally) its S3 event trigger.

Creates
- ``ScheduleGroup``: one EventBridge Scheduler schedule group for the environment;
- ``PipelineSchedule``: for one pipeline, an encrypted standard SQS dead-letter queue (TLS-only
  queue policy), a role EventBridge Scheduler assumes (trust: ``scheduler.amazonaws.com`` for
  this account and this schedule group) that may only start this state machine and send to its
  DLQ, and the schedule itself: expression, time zone, flexible window, start/end date, state,
  a bounded retry policy and the run payload (encrypted with the environment key);
- with ``trigger`` configured: an EventBridge rule on "Object Created" events of the input bucket
  for the marker object under the pipeline's prefix, a target that starts the state machine with
  ``{"trigger": "event", "marker_key": ...}`` (bounded retries, same DLQ), and its own role (trust:
  ``events.amazonaws.com`` for this rule) limited to ``states:StartExecution``. Both triggers feed
  the same workflow.

Scheduler retries only cover failing to *start* a run; a run that starts and fails is reported by
the state machine and the alarms.

Needs: the pipeline config, ``Names``, ``AwsContext``, the KMS key ARN, the state machine outputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from constructs import Construct

from imports.aws import (
    CloudwatchEventRule,
    CloudwatchEventTarget,
    SchedulerSchedule,
    SchedulerScheduleGroup,
    SqsQueue,
    SqsQueuePolicy,
)
from modules.aws_context import AwsContext
from modules.config import PipelineConfig
from modules.iam import allow, deny_insecure_transport, policy_document, service_role, use_key
from modules.naming import Names, PipelineNames
from modules.sfn import StateMachineOutputs

DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum: time to notice and replay


@dataclass(frozen=True)
class ScheduleOutputs:
    schedule_name: str
    dlq_arn: str
    dlq_name: str
    dlq_url: str


class ScheduleGroup(Construct):
    def __init__(self, scope: Construct, id: str, *, names: Names) -> None:
        super().__init__(scope, id)
        group = SchedulerScheduleGroup(self, "group", name=names.schedule_group)
        self.name: str = group.name


def run_payload(pipeline: PipelineConfig) -> str:
    """The execution input a scheduled run starts with (Scheduler fills in <aws.scheduler.*>)."""
    payload = {
        "trigger": "schedule",
        "scheduled_time": "<aws.scheduler.scheduled-time>",
        **pipeline.schedule.payload,
    }
    return json.dumps(payload, sort_keys=True)


def _iso(value: datetime | None) -> str | None:
    """RFC 3339 in UTC; a date-time without an offset is read as UTC."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _retry_policy(pipeline: PipelineConfig) -> dict[str, int]:
    """The bounded retries of starting a run, the same for the schedule and the event trigger."""
    retry = pipeline.schedule.retry
    return {
        "maximum_retry_attempts": retry.max_attempts,
        "maximum_event_age_in_seconds": retry.max_event_age_seconds,
    }


class PipelineSchedule(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        pipeline: PipelineConfig,
        names: Names,
        aws: AwsContext,
        group_name: str,
        kms_key_arn: str,
        state_machine: StateMachineOutputs,
        input_bucket_name: str,
    ) -> None:
        super().__init__(scope, id)
        pipeline_names = names.of_pipeline(pipeline.name)
        name = pipeline_names.base
        schedule = pipeline.schedule
        # Scheduler sets aws:SourceArn to the schedule *group* (AWS: do not scope it to a schedule).
        schedule_group_arn = aws.arn("scheduler", f"schedule-group/{names.schedule_group}")
        trigger_rule_arn = aws.arn("events", f"rule/{pipeline_names.trigger_rule}")

        dlq_name = pipeline_names.schedule_dlq
        dlq = SqsQueue(
            self,
            "dead-letter-queue",
            name=dlq_name,
            kms_master_key_id=kms_key_arn,
            kms_data_key_reuse_period_seconds=3600,
            message_retention_seconds=DLQ_RETENTION_SECONDS,
        )
        # Each attribute read is a round trip to the jsii runtime: read once.
        dlq_arn, dlq_url, dlq_name = dlq.arn, dlq.url, dlq.name
        SqsQueuePolicy(
            self,
            "dead-letter-queue-policy",
            queue_url=dlq_url,
            policy=policy_document(
                deny_insecure_transport("sqs:*", dlq_arn),
                *(
                    [
                        # EventBridge delivers undeliverable events with the queue's permission.
                        allow(
                            "EventTriggerDeadLetters",
                            ["sqs:SendMessage"],
                            dlq_arn,
                            Principal={"Service": aws.service_principal("events")},
                            Condition={"ArnEquals": {"aws:SourceArn": trigger_rule_arn}},
                        )
                    ]
                    if pipeline.trigger
                    else []
                ),
            ),
        )
        role = service_role(
            self,
            aws,
            id="role",
            policy_id="policy",
            names=pipeline_names.scheduler_role,
            description=f"EventBridge Scheduler starts {name} runs with this role",
            service="scheduler",
            source_arn=schedule_group_arn,
            statements=[
                allow("StartThisStateMachine", ["states:StartExecution"], state_machine.arn),
                allow("SendUndeliveredRunsToDlq", ["sqs:SendMessage"], dlq_arn),
                use_key("UseKeyForPayloadAndDlq", kms_key_arn, describe=False),
            ],
        )
        flexible_window = (
            {"mode": "FLEXIBLE", "maximum_window_in_minutes": schedule.flexible_window_minutes}
            if schedule.flexible_window_minutes
            else {"mode": "OFF"}
        )
        SchedulerSchedule(
            self,
            "schedule",
            name=pipeline_names.schedule,
            group_name=group_name,
            description=pipeline.description or f"Runs batch inference for {name}",
            schedule_expression=schedule.expression,
            schedule_expression_timezone=schedule.timezone,
            start_date=_iso(schedule.start_date),
            end_date=_iso(schedule.end_date),
            state="ENABLED" if schedule.enabled else "DISABLED",
            # The run payload is stored encrypted with the environment's key; the role decrypts it.
            kms_key_arn=kms_key_arn,
            flexible_time_window=flexible_window,
            target={
                "arn": state_machine.arn,
                "role_arn": role.arn,
                "input": run_payload(pipeline),
                "retry_policy": _retry_policy(pipeline),
                "dead_letter_config": {"arn": dlq_arn},
            },
            depends_on=[role.policy],
        )
        if pipeline.trigger is not None:
            self._event_trigger(
                pipeline,
                pipeline_names,
                aws,
                input_bucket_name,
                state_machine.arn,
                dlq_arn,
                trigger_rule_arn,
            )
        self.outputs = ScheduleOutputs(
            schedule_name=pipeline_names.schedule,
            dlq_arn=dlq_arn,
            dlq_name=dlq_name,
            dlq_url=dlq_url,
        )

    def _event_trigger(
        self,
        pipeline: PipelineConfig,
        names: PipelineNames,
        aws: AwsContext,
        input_bucket_name: str,
        state_machine_arn: str,
        dlq_arn: str,
        rule_arn: str,
    ) -> None:
        assert pipeline.trigger is not None
        name = names.base
        prefix, marker = pipeline.default_input_prefix, pipeline.trigger.marker
        rule = CloudwatchEventRule(
            self,
            "input-ready-rule",
            name=names.trigger_rule,
            description=f"{name}: start a run when {marker} lands under {prefix}",
            event_pattern=json.dumps(
                {
                    "source": ["aws.s3"],
                    "detail-type": ["Object Created"],
                    "detail": {
                        "bucket": {"name": [input_bucket_name]},
                        "object": {
                            "key": [f"{prefix}{marker}", {"wildcard": f"{prefix}*/{marker}"}]
                        },
                    },
                },
                indent=2,
            ),
        )
        role = service_role(
            self,
            aws,
            id="trigger-role",
            policy_id="trigger-policy",
            names=names.trigger_role,
            description=f"EventBridge starts {name} runs from marker objects with this role",
            service="events",
            source_arn=rule_arn,
            statements=[
                allow("StartThisStateMachine", ["states:StartExecution"], state_machine_arn)
            ],
        )
        CloudwatchEventTarget(
            self,
            "input-ready-target",
            rule=rule.name,
            arn=state_machine_arn,
            role_arn=role.arn,
            input_transformer={
                "input_paths": {"key": "$.detail.object.key", "time": "$.time"},
                "input_template": (
                    '{"trigger": "event", "marker_key": <key>, "event_time": <time>}'
                ),
            },
            retry_policy=_retry_policy(pipeline),
            dead_letter_config={"arn": dlq_arn},
        )
