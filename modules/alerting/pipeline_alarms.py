"""What watches one pipeline: its alarms, and the rule that pages its failed transform jobs.

Creates CloudWatch alarms on the state machine's ExecutionsFailed, ExecutionsTimedOut,
ExecutionsAborted and ExecutionThrottled and on the depth of the schedule's dead-letter queue and
of the transform-job rule's (alarm and OK actions to the alert topic; no data means nothing
happened, so missing data is not breaching); a freshness alarm that fires when no transform
completed within the pipeline's window (the run's own TransformsCompleted metric; there, missing
data is the symptom); and the transform-job rule (modules/alerting/job_events.py).

Needs: the pipeline config, ``Names``, ``AwsContext``, the alert topic's ARN and key, and the
state machine and schedule outputs.
"""

from __future__ import annotations

from typing import Any

from constructs import Construct

from imports.aws import CloudwatchMetricAlarm
from modules.alerting.job_events import transform_job_alerts
from modules.aws_context import AwsContext
from modules.config import PipelineConfig
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


class PipelineAlarms(Construct):
    """What watches one pipeline: its execution, dead-letter and freshness alarms, and the rule
    forwarding its failed or stopped transform jobs to the topic.

    Inputs: ``pipeline`` (alarm settings, freshness window), ``names``, ``aws``, ``topic_arn``
    (where alarms and the rule send), ``alert_key_arn`` (encrypts the rule's dead letters),
    ``state_machine`` and ``schedule`` (the watched metrics' dimensions). Outputs: none (other
    stacks find the alarms by their names).
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
        alert_key_arn: str,
        state_machine: StateMachineOutputs,
        schedule: ScheduleOutputs,
    ) -> None:
        super().__init__(scope, id)
        pipeline_names = names.of_pipeline(pipeline.name)
        window = pipeline.freshness_window_hours
        alarm_names = pipeline_names.alarms(freshness=window is not None)
        self._execution_alarms(pipeline, pipeline_names, alarm_names, topic_arn, state_machine)
        self._dead_letter_alarm(
            pipeline,
            pipeline_names,
            topic_arn,
            "alarm-dlq-depth",
            alarm_names.dead_letters,
            "EventBridge Scheduler could not start a run; the undelivered run is in the "
            "dead-letter queue.",
            schedule.dlq_name,
            pipeline.alarms.dlq_messages_threshold,
        )
        alert_dlq = transform_job_alerts(
            self,
            names=pipeline_names,
            environment=names.environment,
            aws=aws,
            topic_arn=topic_arn,
            alert_key_arn=alert_key_arn,
            falls_back_on_capacity=bool(pipeline.transform.fallback_instance_types),
            shard_jobs=pipeline.transform.shards is not None,
        )
        self._dead_letter_alarm(
            pipeline,
            pipeline_names,
            topic_arn,
            "alarm-alert-dlq-depth",
            alarm_names.alert_dead_letters,
            "EventBridge could not publish a failed or stopped transform job to the alert "
            "topic; the undelivered alert is in the dead-letter queue.",
            alert_dlq.name,
            1,  # every lost page counts
        )
        if window is not None and alarm_names.freshness is not None:
            self._freshness_alarm(pipeline_names, alarm_names.freshness, window, topic_arn)

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
        topic_arn: str,
        construct_id: str,
        alarm_name: str,
        description: str,
        queue_name: str,
        threshold: int,
    ) -> None:
        """What could not be delivered, waiting in a dead-letter queue (the schedule's runs
        Scheduler could not start, the transform-job rule's pages EventBridge could not
        publish)."""
        self._alarm(
            names,
            topic_arn,
            construct_id,
            alarm_name,
            description,
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": queue_name},
            statistic="Maximum",
            period=pipeline.alarms.period_seconds,
            evaluation_periods=1,
            threshold=threshold,
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
