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

Needs: the pipeline config, ``Names``, ``AwsContext``, the KMS key ARN, the state machine outputs
and the input bucket's name (the trigger's event source).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

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
from modules.config.schedule import utc_text
from modules.iam import (
    ServiceRole,
    Statement,
    allow,
    deny_insecure_transport,
    policy_document,
    service_role,
    use_key,
)
from modules.naming import Names, PipelineNames
from modules.sfn import StateMachineOutputs

DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum: time to notice and replay


@dataclass(frozen=True)
class DeadLetterQueue:
    """The attributes of a dead-letter queue, read once."""

    arn: str
    url: str
    name: str


def dead_letter_queue(
    scope: Construct,
    id: str,
    *,
    name: str,
    kms_key_arn: str,
    senders: Callable[[str], list[Statement]],
) -> DeadLetterQueue:
    """An encrypted standard queue that keeps what could not be delivered as long as SQS allows,
    with a TLS-only policy plus ``senders(queue_arn)``. Also the alerting layer's (the
    transform-job rule's dead letters)."""
    dlq = SqsQueue(
        scope,
        id,
        name=name,
        kms_master_key_id=kms_key_arn,
        kms_data_key_reuse_period_seconds=3600,
        message_retention_seconds=DLQ_RETENTION_SECONDS,
    )
    # Each attribute read is a round trip to the jsii runtime: read once.
    queue = DeadLetterQueue(arn=dlq.arn, url=dlq.url, name=dlq.name)
    SqsQueuePolicy(
        scope,
        f"{id}-policy",
        queue_url=queue.url,
        policy=policy_document(deny_insecure_transport("sqs:*", queue.arn), *senders(queue.arn)),
    )
    return queue


@dataclass(frozen=True)
class ScheduleOutputs:
    """What the alarms and the outputs use: the schedule's name and its dead-letter queue."""

    schedule_name: str
    dlq_arn: str
    dlq_name: str
    dlq_url: str


class ScheduleGroup(Construct):
    """The environment's EventBridge Scheduler schedule group.

    Inputs: ``names`` (the group's name). Outputs: ``name``, the group's name.
    """

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
    """RFC 3339 in UTC (``utc_text``: a date-time without an offset is read as UTC)."""
    return None if value is None else utc_text(value)


def _marker_event_pattern(bucket_name: str, prefix: str, marker: str) -> str:
    """EventBridge pattern of the marker object landing in the prefix or one folder of it."""
    return json.dumps(
        {
            "source": ["aws.s3"],
            "detail-type": ["Object Created"],
            "detail": {
                "bucket": {"name": [bucket_name]},
                "object": {"key": [f"{prefix}{marker}", {"wildcard": f"{prefix}*/{marker}"}]},
            },
        },
        indent=2,
    )


def _retry_policy(pipeline: PipelineConfig) -> dict[str, int]:
    """The bounded retries of starting a run, the same for the schedule and the event trigger."""
    retry = pipeline.schedule.retry
    return {
        "maximum_retry_attempts": retry.max_attempts,
        "maximum_event_age_in_seconds": retry.max_event_age_seconds,
    }


class PipelineSchedule(Construct):
    """What starts one pipeline's runs: its schedule, the schedule's dead-letter queue and role,
    and (with ``trigger``) the S3 event trigger.

    Inputs: ``pipeline`` (schedule, trigger, description), ``names``, ``aws``, ``group_name`` (the
    environment's schedule group), ``kms_key_arn`` (encrypts the payload and the DLQ),
    ``state_machine`` (the runs' target) and ``input_bucket_name`` (the trigger's event source).
    Outputs: ``outputs``, a ``ScheduleOutputs`` (schedule name, DLQ ARN, name and URL).
    """

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
        # Scheduler sets aws:SourceArn to the schedule *group* (AWS: do not scope it to a schedule).
        schedule_group_arn = aws.arn("scheduler", f"schedule-group/{names.schedule_group}")
        trigger_rule_arn = aws.arn("events", f"rule/{pipeline_names.trigger_rule}")
        dlq = self._dead_letter_queue(pipeline, pipeline_names, aws, kms_key_arn, trigger_rule_arn)
        role = self._role(
            pipeline_names, aws, kms_key_arn, schedule_group_arn, state_machine.arn, dlq.arn
        )
        self._schedule(pipeline, pipeline_names, group_name, kms_key_arn, state_machine, role, dlq)
        if pipeline.trigger is not None:
            self._event_trigger(
                pipeline,
                pipeline_names,
                aws,
                input_bucket_name,
                state_machine.arn,
                dlq.arn,
                trigger_rule_arn,
            )
        self.outputs = ScheduleOutputs(
            schedule_name=pipeline_names.schedule,
            dlq_arn=dlq.arn,
            dlq_name=dlq.name,
            dlq_url=dlq.url,
        )

    def _dead_letter_queue(
        self,
        pipeline: PipelineConfig,
        names: PipelineNames,
        aws: AwsContext,
        kms_key_arn: str,
        trigger_rule_arn: str,
    ) -> DeadLetterQueue:
        """The encrypted DLQ of undelivered runs, with a TLS-only policy that also lets the event
        trigger's rule deliver to it."""

        def senders(queue_arn: str) -> list[Statement]:
            if not pipeline.trigger:
                return []
            # EventBridge delivers undeliverable events with the queue's permission.
            return [
                allow(
                    "EventTriggerDeadLetters",
                    ["sqs:SendMessage"],
                    queue_arn,
                    Principal={"Service": aws.service_principal("events")},
                    Condition={"ArnEquals": {"aws:SourceArn": trigger_rule_arn}},
                )
            ]

        return dead_letter_queue(
            self,
            "dead-letter-queue",
            name=names.schedule_dlq,
            kms_key_arn=kms_key_arn,
            senders=senders,
        )

    def _role(
        self,
        names: PipelineNames,
        aws: AwsContext,
        kms_key_arn: str,
        schedule_group_arn: str,
        state_machine_arn: str,
        dlq_arn: str,
    ) -> ServiceRole:
        """The role Scheduler assumes: start this state machine, send to its DLQ, use the key."""
        return service_role(
            self,
            aws,
            id="role",
            policy_id="policy",
            names=names.scheduler_role,
            description=f"EventBridge Scheduler starts {names.base} runs with this role",
            service="scheduler",
            source_arn=schedule_group_arn,
            statements=[
                allow("StartThisStateMachine", ["states:StartExecution"], state_machine_arn),
                allow("SendUndeliveredRunsToDlq", ["sqs:SendMessage"], dlq_arn),
                use_key("UseKeyForPayloadAndDlq", kms_key_arn, describe=False),
            ],
        )

    def _schedule(
        self,
        pipeline: PipelineConfig,
        names: PipelineNames,
        group_name: str,
        kms_key_arn: str,
        state_machine: StateMachineOutputs,
        role: ServiceRole,
        dlq: DeadLetterQueue,
    ) -> None:
        """The schedule: when runs start, with which payload, retries and DLQ."""
        schedule = pipeline.schedule
        flexible_window = (
            {"mode": "FLEXIBLE", "maximum_window_in_minutes": schedule.flexible_window_minutes}
            if schedule.flexible_window_minutes
            else {"mode": "OFF"}
        )
        SchedulerSchedule(
            self,
            "schedule",
            name=names.schedule,
            group_name=group_name,
            description=pipeline.description or f"Runs batch inference for {names.base}",
            schedule_expression=schedule.expression,
            schedule_expression_timezone=schedule.timezone,
            start_date=_iso(schedule.pending_start_date),
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
                "dead_letter_config": {"arn": dlq.arn},
            },
            depends_on=[role.policy],
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
        """The EventBridge rule on the marker object, its target (the state machine, same retries
        and DLQ as the schedule) and the role it starts runs with."""
        assert pipeline.trigger is not None
        name = names.base
        prefix, marker = pipeline.default_input_prefix, pipeline.trigger.marker
        rule = CloudwatchEventRule(
            self,
            "input-ready-rule",
            name=names.trigger_rule,
            description=f"{name}: start a run when {marker} lands under {prefix}",
            event_pattern=_marker_event_pattern(input_bucket_name, prefix, marker),
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
