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
  missing data is the symptom); and an EventBridge
  rule that forwards this pipeline's SageMaker "Transform Job State Change" events with status
  Failed or Stopped, as a JSON message with severity page.
- ``EnvironmentDashboard``: one CloudWatch dashboard per environment with, per pipeline, runs
  started/succeeded/failed, run duration, transform job CPU/memory, DLQ depth and alarm states.

Needs: ``Names``, ``AwsContext``, the KMS key ARN, the subscriptions, and for a pipeline the state
machine and schedule outputs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from constructs import Construct

from imports.aws import (
    CloudwatchDashboard,
    CloudwatchEventRule,
    CloudwatchEventTarget,
    CloudwatchMetricAlarm,
    LambdaPermission,
    SnsTopic,
    SnsTopicPolicy,
    SnsTopicSubscription,
)
from modules.alert_routing import FILTER_POLICY_SCOPE, PAGE, SEVERITY_KEY, filter_policy
from modules.aws_context import AwsContext
from modules.config import PipelineConfig, Subscription
from modules.iam import allow, deny_insecure_transport, policy_document
from modules.naming import TRANSFORMS_COMPLETED, Names
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
            name=names.alert_topic,
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
                            "aws:SourceArn": aws.arn(
                                "cloudwatch", f"alarm:{names.pipelines_pattern}"
                            )
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
                        "ArnLike": {
                            "aws:SourceArn": aws.arn("events", f"rule/{names.pipelines_pattern}")
                        },
                    },
                ),
                deny_insecure_transport("sns:Publish", topic.arn),
            ),
        )
        for index, subscription in enumerate(subscriptions):
            if subscription.protocol == "lambda":
                # SNS invokes a function only with the function's own permission for this topic.
                LambdaPermission(
                    self,
                    f"subscription-{index}-invoke",
                    statement_id=names.alert_topic,
                    action="lambda:InvokeFunction",
                    function_name=subscription.endpoint,
                    principal=aws.service_principal("sns"),
                    source_arn=topic.arn,
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
                topic_arn=topic.arn,
                protocol=subscription.protocol,
                endpoint=subscription.endpoint,
                **routing,
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
        aws: AwsContext,
        topic_arn: str,
        state_machine: StateMachineOutputs,
        schedule: ScheduleOutputs,
    ) -> None:
        super().__init__(scope, id)
        pipeline_names = names.of_pipeline(pipeline.name)
        name = pipeline_names.base
        period = pipeline.alarms.period_seconds
        window = pipeline.freshness_window_hours
        alarm_names = pipeline_names.alarms(freshness=window is not None)

        def alarm(construct_id: str, alarm_name: str, description: str, **metric: Any) -> None:
            """One alarm of this pipeline, paging the topic and telling it when it recovers."""
            CloudwatchMetricAlarm(
                self,
                construct_id,
                alarm_name=alarm_name,
                alarm_description=f"{name}: {description}",
                alarm_actions=[topic_arn],
                ok_actions=[topic_arn],
                **metric,
            )

        for metric, alarm_name in alarm_names.executions.items():
            alarm(
                f"alarm-{metric}",
                alarm_name,
                f"{EXECUTION_ALARM_MEANINGS[metric]}. The Step Functions console shows the run.",
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
            )
        alarm(
            "alarm-dlq-depth",
            alarm_names.dead_letters,
            "EventBridge Scheduler could not start a run; the undelivered run is in the "
            "dead-letter queue.",
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": schedule.dlq_name},
            statistic="Maximum",
            period=period,
            evaluation_periods=1,
            threshold=pipeline.alarms.dlq_messages_threshold,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
        )
        if window is not None and alarm_names.freshness is not None:
            alarm(
                "alarm-freshness",
                alarm_names.freshness,
                f"no transform completed in the last {window} hours (runs that found no input "
                "or were skipped do not count). Is the schedule still firing, and is upstream "
                "still delivering input? (Runs that fail raise their own alarms.)",
                # Published by the run after its transform job completed (RecordCompletedTransform).
                namespace=pipeline_names.metric_namespace,
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

        rule = CloudwatchEventRule(
            self,
            "transform-job-failed-rule",
            name=pipeline_names.job_failed_rule,
            description=f"{name}: a transform job failed or was stopped",
            event_pattern=json.dumps(
                {
                    "source": ["aws.sagemaker"],
                    "detail-type": ["SageMaker Transform Job State Change"],
                    "detail": {
                        "TransformJobStatus": ["Failed", "Stopped"],
                        "TransformJobName": [{"prefix": pipeline_names.run_prefix}],
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
                "input_template": _job_event_message(name),
            },
        )


def _job_event_message(pipeline: str) -> str:
    """The event rule's message: JSON (subscription filter policies read ``severity``), a sentence
    first for email readers. Placeholders outside quotes are inserted as JSON values, so a
    FailureReason with quotes stays valid JSON; job names and statuses have none."""
    head = json.dumps(
        {
            SEVERITY_KEY: PAGE,
            "event": "transform job failed or stopped",
            "pipeline": pipeline,
            "message": f"{pipeline}: transform job <job> is <status>",
        }
    )
    return head[:-1] + ', "transform_job": <job>, "status": <status>, "reason": <reason>}'


@dataclass(frozen=True)
class DashboardPipeline:
    name: str
    job_prefix: str
    state_machine_arn: str
    dlq_name: str
    alarm_arns: list[str]

    @classmethod
    def of(cls, pipeline: PipelineConfig, names: Names, aws: AwsContext) -> DashboardPipeline:
        """A pipeline's row, from names only: the dashboard needs no reference to its resources,
        so it can live in a stack of its own without reading every pipeline's state."""
        pipeline_names = names.of_pipeline(pipeline.name)
        alarms = pipeline_names.alarms(freshness=pipeline.freshness_window_hours is not None)
        return cls(
            name=pipeline.name,
            job_prefix=pipeline_names.base,
            state_machine_arn=aws.arn("states", f"stateMachine:{pipeline_names.state_machine}"),
            dlq_name=pipeline_names.schedule_dlq,
            alarm_arns=[aws.arn("cloudwatch", f"alarm:{alarm}") for alarm in alarms.all],
        )


# The dashboard body structure allows at most 100 widgets (CloudWatch API reference, "Dashboard
# Body Structure and Syntax"). Larger environments get further dashboards <project>-<env>-2, -3, ...
MAX_DASHBOARD_WIDGETS = 100
PIPELINE_WIDGETS = 5  # per pipeline: runs, duration, utilisation, dead letters, alarms
PIPELINES_PER_DASHBOARD = (MAX_DASHBOARD_WIDGETS - 1) // PIPELINE_WIDGETS  # after the title


class EnvironmentDashboard(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: Names,
        region: str,
        pipelines: list[DashboardPipeline],
    ) -> None:
        super().__init__(scope, id)
        self.dashboard_names: list[str] = []
        for start in range(0, len(pipelines), PIPELINES_PER_DASHBOARD):
            page = start // PIPELINES_PER_DASHBOARD
            dashboard_name = names.dashboard(page)
            widgets: list[dict[str, object]] = [
                {
                    "type": "text",
                    "width": 24,
                    "height": 1,
                    "properties": {"markdown": f"## {dashboard_name}: scheduled batch inference"},
                }
            ]
            for pipeline in pipelines[start : start + PIPELINES_PER_DASHBOARD]:
                row = self._pipeline_row(pipeline, region)
                if len(row) != PIPELINE_WIDGETS:  # pages are sized by it (widget limit)
                    raise RuntimeError(
                        f"a pipeline row has {len(row)} widgets, PIPELINE_WIDGETS says "
                        f"{PIPELINE_WIDGETS}: update PIPELINE_WIDGETS"
                    )
                widgets += row
            CloudwatchDashboard(
                self,
                "dashboard" if page == 0 else f"dashboard-{page + 1}",
                dashboard_name=dashboard_name,
                dashboard_body=json.dumps({"widgets": widgets}, indent=2),
            )
            self.dashboard_names.append(dashboard_name)

    @staticmethod
    def _pipeline_row(pipeline: DashboardPipeline, region: str) -> list[dict[str, object]]:
        machine = ["StateMachineArn", pipeline.state_machine_arn]

        def metric(
            title: str, metrics: Sequence[Sequence[object]], stat: str, width: int = 6
        ) -> dict[str, object]:
            return {
                "type": "metric",
                "width": width,
                "height": 6,
                "properties": {
                    "title": f"{pipeline.name}: {title}",
                    "region": region,
                    "stat": stat,
                    "period": 3600,
                    "view": "timeSeries",
                    "metrics": metrics,
                },
            }

        runs = [
            ["AWS/States", m, *machine, {"label": label}]
            for m, label in (
                ("ExecutionsStarted", "started"),
                ("ExecutionsSucceeded", "succeeded"),
                ("ExecutionsFailed", "failed"),
                ("ExecutionsTimedOut", "timed out"),
            )
        ]
        jobs = [
            [
                {
                    "expression": (
                        f"SEARCH('{{/aws/sagemaker/TransformJobs,Host}} {metric_name} "
                        f"{pipeline.job_prefix}', 'Average', 300)"
                    ),
                    "label": metric_name,
                    "id": f"e{index}",
                }
            ]
            for index, metric_name in enumerate(("CPUUtilization", "MemoryUtilization"))
        ]
        return [
            metric("runs", runs, "Sum"),
            metric(
                "run duration (ms)",
                [["AWS/States", "ExecutionTime", *machine, {"label": "average"}]],
                "Average",
            ),
            metric("transform job utilisation (%)", jobs, "Average"),
            metric(
                "schedule dead letters",
                [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", pipeline.dlq_name]],
                "Maximum",
            ),
            {
                "type": "alarm",
                "width": 24,
                "height": 2,
                "properties": {
                    "title": f"{pipeline.name}: alarms",
                    "alarms": pipeline.alarm_arns,
                },
            },
        ]
