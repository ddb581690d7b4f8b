"""Alerting layer: the environment's alert topic, and each pipeline's alarms and event rule.

Alerting has two ends in the stack:
- ``AlertTopic`` comes first (the state machines publish failures to it): a KMS-encrypted SNS
  topic, subscriptions from config (with the invoke permission a Lambda endpoint needs, and the
  message-body filter policy of their ``receives``: modules/alert_routing.py), and a
  topic policy that lets CloudWatch alarms and EventBridge rules of this account publish
  (confused-deputy conditions) and refuses non-TLS publishing.
- ``PipelineAlarms`` comes last and watches one pipeline: CloudWatch alarms on the state machine's
  ExecutionsFailed, ExecutionsTimedOut, ExecutionsAborted and ExecutionThrottled and on the
  schedule's dead-letter queue depth (alarm and OK actions to the topic; no data means nothing
  happened, so missing data is not breaching); a freshness alarm that fires when no transform
  completed within the pipeline's window (the run's own TransformsCompleted metric; there,
  missing data is the symptom); and an EventBridge rule that forwards this pipeline's SageMaker
  "Transform Job State Change" events with status Failed or Stopped, as a JSON message with
  severity page.

Needs: ``Names``, ``AwsContext``, the KMS key ARN, the subscriptions, and for a pipeline the state
machine and schedule outputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from constructs import Construct

from imports.aws import (
    CloudwatchEventRule,
    CloudwatchEventTarget,
    CloudwatchMetricAlarm,
    LambdaPermission,
    SnsTopic,
    SnsTopicPolicy,
    SnsTopicSubscription,
)
from modules.alert_routing import FILTER_POLICY_SCOPE, PAGE, filter_policy, message_head
from modules.aws_context import AwsContext
from modules.config import PipelineConfig, Subscription
from modules.iam import allow, deny_insecure_transport, policy_document
from modules.naming import TRANSFORMS_COMPLETED, AlarmNames, Names, PipelineNames
from modules.scheduler import ScheduleOutputs
from modules.sfn import StateMachineOutputs

# What each Step Functions metric that Names alarms on means (one alarm per metric).
EXECUTION_ALARM_MEANINGS = {
    "ExecutionsFailed": "a run failed",
    "ExecutionsTimedOut": "a run timed out",
    "ExecutionsAborted": "a run was aborted",
    "ExecutionThrottled": "Step Functions throttled the workflow",
}


@dataclass(frozen=True)
class AlertTopicOutputs:
    """Where alerts go: the topic the state machines, alarms and rules publish to."""

    topic_arn: str
    topic_name: str


class AlertTopic(Construct):
    """The environment's alert topic, its policy and its subscriptions.

    Inputs: ``names``, ``aws``, ``kms_key_arn`` (encrypts the topic) and ``subscriptions`` (from
    the environment's alerting config). Outputs: ``outputs``, an ``AlertTopicOutputs`` (topic ARN
    and name).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: Names,
        aws: AwsContext,
        kms_key_arn: str,
        subscriptions: list[Subscription],
    ) -> None:
        super().__init__(scope, id)
        topic = SnsTopic(
            self,
            "topic",
            name=names.alert_topic,
            display_name=f"{names.prefix} batch inference alerts",
            kms_master_key_id=kms_key_arn,
        )
        self._topic_policy(names, aws, topic.arn)
        for index, subscription in enumerate(subscriptions):
            self._subscription(index, subscription, names, aws, topic.arn)
        self.outputs = AlertTopicOutputs(topic_arn=topic.arn, topic_name=topic.name)

    def _topic_policy(self, names: Names, aws: AwsContext, topic_arn: str) -> None:
        """Alarms and EventBridge rules of this account's pipelines may publish, over TLS only."""
        SnsTopicPolicy(
            self,
            "topic-policy",
            arn=topic_arn,
            policy=policy_document(
                allow(
                    "CloudWatchAlarmsOfThisAccountPublish",
                    ["sns:Publish"],
                    topic_arn,
                    Principal={"Service": aws.service_principal("cloudwatch")},
                    Condition={
                        "StringEquals": {"aws:SourceAccount": aws.account_id},
                        "ArnLike": {
                            "aws:SourceArn": aws.arn(
                                "cloudwatch", f"alarm:{names.pipelines_pattern}"
                            )
                        },
                    },
                ),
                allow(
                    "EventBridgeRulesOfThisAccountPublish",
                    ["sns:Publish"],
                    topic_arn,
                    Principal={"Service": aws.service_principal("events")},
                    Condition={
                        "StringEquals": {"aws:SourceAccount": aws.account_id},
                        "ArnLike": {
                            "aws:SourceArn": aws.arn("events", f"rule/{names.pipelines_pattern}")
                        },
                    },
                ),
                deny_insecure_transport("sns:Publish", topic_arn),
            ),
        )

    def _subscription(
        self,
        index: int,
        subscription: Subscription,
        names: Names,
        aws: AwsContext,
        topic_arn: str,
    ) -> None:
        """One subscription with the filter policy of what it receives (and, for a Lambda
        endpoint, the function's permission for the topic)."""
        if subscription.protocol == "lambda":
            # SNS invokes a function only with the function's own permission for this topic.
            LambdaPermission(
                self,
                f"subscription-{index}-invoke",
                statement_id=names.alert_topic,
                action="lambda:InvokeFunction",
                function_name=subscription.endpoint,
                principal=aws.service_principal("sns"),
                source_arn=topic_arn,
            )
        policy = filter_policy(subscription.receives)
        routing: dict[str, str] = {}
        if policy is not None:  # receives: all keeps no policy (every message)
            routing = {
                "filter_policy": json.dumps(policy),
                "filter_policy_scope": FILTER_POLICY_SCOPE,
            }
        SnsTopicSubscription(
            self,
            f"subscription-{index}",
            topic_arn=topic_arn,
            protocol=subscription.protocol,
            endpoint=subscription.endpoint,
            **routing,
        )


class PipelineAlarms(Construct):
    """What watches one pipeline: its execution, dead-letter and freshness alarms, and the rule
    forwarding its failed or stopped transform jobs to the topic.

    Inputs: ``pipeline`` (alarm settings, freshness window), ``names``, ``aws``, ``topic_arn``
    (where alarms and the rule send), ``state_machine`` and ``schedule`` (the watched metrics'
    dimensions). Outputs: none (other stacks find the alarms by their names).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        pipeline: PipelineConfig,
        names: Names,
        aws: AwsContext,
        topic_arn: str,
        state_machine: StateMachineOutputs,
        schedule: ScheduleOutputs,
    ) -> None:
        super().__init__(scope, id)
        pipeline_names = names.of_pipeline(pipeline.name)
        window = pipeline.freshness_window_hours
        alarm_names = pipeline_names.alarms(freshness=window is not None)
        self._execution_alarms(pipeline, pipeline_names, alarm_names, topic_arn, state_machine)
        self._dead_letter_alarm(pipeline, pipeline_names, alarm_names, topic_arn, schedule)
        if window is not None and alarm_names.freshness is not None:
            self._freshness_alarm(pipeline_names, alarm_names.freshness, window, topic_arn)
        self._job_state_rule(pipeline_names, topic_arn)

    def _alarm(
        self,
        names: PipelineNames,
        topic_arn: str,
        construct_id: str,
        alarm_name: str,
        description: str,
        **metric: Any,
    ) -> None:
        """One alarm of this pipeline, paging the topic and telling it when it recovers."""
        CloudwatchMetricAlarm(
            self,
            construct_id,
            alarm_name=alarm_name,
            alarm_description=f"{names.base}: {description}",
            alarm_actions=[topic_arn],
            ok_actions=[topic_arn],
            **metric,
        )

    def _execution_alarms(
        self,
        pipeline: PipelineConfig,
        names: PipelineNames,
        alarm_names: AlarmNames,
        topic_arn: str,
        state_machine: StateMachineOutputs,
    ) -> None:
        """One alarm per Step Functions metric of a run gone wrong."""
        for metric, alarm_name in alarm_names.executions.items():
            self._alarm(
                names,
                topic_arn,
                f"alarm-{metric}",
                alarm_name,
                f"{EXECUTION_ALARM_MEANINGS[metric]}. The Step Functions console shows the run.",
                namespace="AWS/States",
                metric_name=metric,
                dimensions={"StateMachineArn": state_machine.arn},
                statistic="Sum",
                period=pipeline.alarms.period_seconds,
                evaluation_periods=1,
                threshold=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                # No data means no run in this period: nothing went wrong.
                treat_missing_data="notBreaching",
            )

    def _dead_letter_alarm(
        self,
        pipeline: PipelineConfig,
        names: PipelineNames,
        alarm_names: AlarmNames,
        topic_arn: str,
        schedule: ScheduleOutputs,
    ) -> None:
        """Runs Scheduler could not start, waiting in the schedule's DLQ."""
        self._alarm(
            names,
            topic_arn,
            "alarm-dlq-depth",
            alarm_names.dead_letters,
            "EventBridge Scheduler could not start a run; the undelivered run is in the "
            "dead-letter queue.",
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": schedule.dlq_name},
            statistic="Maximum",
            period=pipeline.alarms.period_seconds,
            evaluation_periods=1,
            threshold=pipeline.alarms.dlq_messages_threshold,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
        )

    def _freshness_alarm(
        self, names: PipelineNames, alarm_name: str, window: int, topic_arn: str
    ) -> None:
        """No transform completed within the pipeline's window of ``window`` hours."""
        self._alarm(
            names,
            topic_arn,
            "alarm-freshness",
            alarm_name,
            f"no transform completed in the last {window} hours (runs that found no input "
            "or were skipped do not count). Is the schedule still firing, and is upstream "
            "still delivering input? (Runs that fail raise their own alarms.)",
            # Published by the run after its transform job completed (RecordCompletedTransform).
            namespace=names.metric_namespace,
            metric_name=TRANSFORMS_COMPLETED,
            statistic="Sum",
            period=3600,
            evaluation_periods=window,
            datapoints_to_alarm=window,
            threshold=1,
            comparison_operator="LessThanThreshold",
            # Here no data is the symptom: every hour of the window without a success breaches.
            treat_missing_data="breaching",
        )

    def _job_state_rule(self, names: PipelineNames, topic_arn: str) -> None:
        """The rule forwarding this pipeline's failed or stopped transform jobs to the topic."""
        rule = CloudwatchEventRule(
            self,
            "transform-job-failed-rule",
            name=names.job_failed_rule,
            description=f"{names.base}: a transform job failed or was stopped",
            event_pattern=json.dumps(
                {
                    "source": ["aws.sagemaker"],
                    "detail-type": ["SageMaker Transform Job State Change"],
                    "detail": {
                        "TransformJobStatus": ["Failed", "Stopped"],
                        "TransformJobName": [{"prefix": names.run_prefix}],
                    },
                },
                indent=2,
            ),
        )
        CloudwatchEventTarget(
            self,
            "transform-job-failed-target",
            rule=rule.name,
            arn=topic_arn,
            input_transformer={
                "input_paths": {
                    "job": "$.detail.TransformJobName",
                    "status": "$.detail.TransformJobStatus",
                    "reason": "$.detail.FailureReason",
                },
                "input_template": _job_event_message(names.base),
            },
        )


def _job_event_message(pipeline: str) -> str:
    """The event rule's message: JSON (subscription filter policies read ``severity``), a sentence
    first for email readers. Placeholders outside quotes are inserted as JSON values, so a
    FailureReason with quotes stays valid JSON; job names and statuses have none."""
    sentence = json.dumps(f"{pipeline}: transform job <job> is <status>")[1:-1]
    return (
        message_head(PAGE, "transform job failed or stopped", pipeline)
        + sentence
        + '", "transform_job": <job>, "status": <status>, "reason": <reason>}'
    )
