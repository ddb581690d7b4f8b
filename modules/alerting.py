"""Alerting layer: the environment's alert topic, and each pipeline's alarms and event rule.

Alerting has two ends in the stack:
- ``AlertTopic`` comes first (the state machines publish failures to it): a KMS-encrypted SNS
  topic, subscriptions from config, and a topic policy that lets CloudWatch alarms and EventBridge
  rules of this account publish (confused-deputy conditions) and refuses non-TLS publishing.
- ``PipelineAlarms`` comes last and watches one pipeline: CloudWatch alarms on the state machine's
  ExecutionsFailed, ExecutionsTimedOut, ExecutionsAborted and ExecutionThrottled and on the
  schedule's dead-letter queue depth (alarm and OK actions to the topic; no data means nothing
  happened, so missing data is not breaching), and an EventBridge rule that forwards this
  pipeline's SageMaker "Transform Job State Change" events with status Failed or Stopped.

Needs: ``Names``, ``AwsContext``, the KMS key ARN, the subscriptions, and for a pipeline the state
machine and schedule outputs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from constructs import Construct

from imports.aws import (
    CloudwatchEventRule,
    CloudwatchEventTarget,
    CloudwatchMetricAlarm,
    SnsTopic,
    SnsTopicPolicy,
    SnsTopicSubscription,
)
from modules.config import PipelineConfig, Subscription
from modules.context import AwsContext, Names, allow, policy_document
from modules.scheduler import ScheduleOutputs
from modules.sfn import StateMachineOutputs

# (metric, what it means) for the Step Functions metrics that each mean "a run went wrong".
EXECUTION_ALARMS = (
    ("ExecutionsFailed", "a run failed"),
    ("ExecutionsTimedOut", "a run timed out"),
    ("ExecutionsAborted", "a run was aborted"),
    ("ExecutionThrottled", "Step Functions throttled the workflow"),
)


@dataclass(frozen=True)
class AlertTopicOutputs:
    topic_arn: str
    topic_name: str


class AlertTopic(Construct):
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
            name=f"{names.prefix}-alerts",
            display_name=f"{names.prefix} batch inference alerts",
            kms_master_key_id=kms_key_arn,
        )
        SnsTopicPolicy(
            self,
            "topic-policy",
            arn=topic.arn,
            policy=policy_document(
                allow(
                    "CloudWatchAlarmsOfThisAccountPublish",
                    ["sns:Publish"],
                    topic.arn,
                    Principal={"Service": aws.service_principal("cloudwatch")},
                    Condition={
                        "StringEquals": {"aws:SourceAccount": aws.account_id},
                        "ArnLike": {
                            "aws:SourceArn": aws.arn("cloudwatch", f"alarm:{names.prefix}-*")
                        },
                    },
                ),
                allow(
                    "EventBridgeRulesOfThisAccountPublish",
                    ["sns:Publish"],
                    topic.arn,
                    Principal={"Service": aws.service_principal("events")},
                    Condition={
                        "StringEquals": {"aws:SourceAccount": aws.account_id},
                        "ArnLike": {"aws:SourceArn": aws.arn("events", f"rule/{names.prefix}-*")},
                    },
                ),
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sns:Publish",
                    "Resource": topic.arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
            ),
        )
        for index, subscription in enumerate(subscriptions):
            SnsTopicSubscription(
                self,
                f"subscription-{index}",
                topic_arn=topic.arn,
                protocol=subscription.protocol,
                endpoint=subscription.endpoint,
            )
        self.outputs = AlertTopicOutputs(topic_arn=topic.arn, topic_name=topic.name)


class PipelineAlarms(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        pipeline: PipelineConfig,
        names: Names,
        topic_arn: str,
        state_machine: StateMachineOutputs,
        schedule: ScheduleOutputs,
    ) -> None:
        super().__init__(scope, id)
        name = names.pipeline(pipeline.name)
        period = pipeline.alarms.period_seconds
        actions = {"alarm_actions": [topic_arn], "ok_actions": [topic_arn]}

        for metric, meaning in EXECUTION_ALARMS:
            CloudwatchMetricAlarm(
                self,
                f"alarm-{metric}",
                alarm_name=f"{name}-{metric}",
                alarm_description=f"{name}: {meaning}. The Step Functions console shows the run.",
                namespace="AWS/States",
                metric_name=metric,
                dimensions={"StateMachineArn": state_machine.arn},
                statistic="Sum",
                period=period,
                evaluation_periods=1,
                threshold=1,
                comparison_operator="GreaterThanOrEqualToThreshold",
                # No data means no run in this period: nothing went wrong.
                treat_missing_data="notBreaching",
                **actions,
            )
        CloudwatchMetricAlarm(
            self,
            "alarm-dlq-depth",
            alarm_name=f"{name}-ScheduleDeadLetters",
            alarm_description=(
                f"{name}: EventBridge Scheduler could not start a run; the undelivered run is in "
                "the dead-letter queue."
            ),
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": schedule.dlq_name},
            statistic="Maximum",
            period=period,
            evaluation_periods=1,
            threshold=pipeline.alarms.dlq_messages_threshold,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            **actions,
        )

        rule = CloudwatchEventRule(
            self,
            "transform-job-failed-rule",
            name=f"{name}-transform-job-failed",
            description=f"{name}: a transform job failed or was stopped",
            event_pattern=json.dumps(
                {
                    "source": ["aws.sagemaker"],
                    "detail-type": ["SageMaker Transform Job State Change"],
                    "detail": {
                        "TransformJobStatus": ["Failed", "Stopped"],
                        "TransformJobName": [{"prefix": f"{name}-"}],
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
                "input_template": json.dumps(f"{name}: transform job <job> is <status>: <reason>"),
            },
        )
