"""Dashboard layer: the environment's CloudWatch dashboards.

Creates one dashboard per environment (further pages ``<project>-<env>-2``, ``-3``, ... past
CloudWatch's widget limit) with, on every page, the state of the alert topic's delivery alarm
(it has no action: it cannot page through the topic that is failing, so this is where it shows),
and per pipeline, runs started/succeeded/failed/timed out, run duration, transform job
CPU/memory, schedule DLQ depth and the states of its alarms.

Needs: ``Names``, ``AwsContext``, and per pipeline a ``DashboardPipeline`` built from names only
(no references to other stacks' resources).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from constructs import Construct

from imports.aws import CloudwatchDashboard
from modules.aws_context import AwsContext
from modules.config import PipelineConfig
from modules.naming import Names


@dataclass(frozen=True)
class DashboardPipeline:
    """One pipeline's row of the dashboard: what its widgets show (state machine, job prefix,
    DLQ, alarms), built from names so the dashboard references no other stack's resources."""

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
PAGE_WIDGETS = 2  # per page: the title and the alert delivery alarm
PIPELINE_WIDGETS = 5  # per pipeline: runs, duration, utilisation, dead letters, alarms
PIPELINES_PER_DASHBOARD = (MAX_DASHBOARD_WIDGETS - PAGE_WIDGETS) // PIPELINE_WIDGETS


class EnvironmentDashboard(Construct):
    """The environment's dashboards, one page per ``PIPELINES_PER_DASHBOARD`` pipelines.

    Inputs: ``names`` (dashboard and alarm names), ``aws`` (the widgets' region, the alarm's
    ARN) and ``pipelines`` (one ``DashboardPipeline`` per row). Outputs: ``dashboard_names``,
    the pages' names.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        names: Names,
        aws: AwsContext,
        pipelines: list[DashboardPipeline],
    ) -> None:
        super().__init__(scope, id)
        region = aws.region
        delivery_alarm = aws.arn("cloudwatch", f"alarm:{names.alert_delivery_alarm}")
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
                },
                {
                    "type": "alarm",
                    "width": 24,
                    "height": 2,
                    "properties": {
                        "title": f"{names.alert_topic}: alerts SNS could not deliver (this alarm "
                        "cannot page: it would go through the failing topic)",
                        "alarms": [delivery_alarm],
                    },
                },
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
        dead_letters = [
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", pipeline.dlq_name]
        ]
        duration = [["AWS/States", "ExecutionTime", *machine, {"label": "average"}]]
        return [
            _metric_widget(pipeline, region, "runs", runs, "Sum"),
            _metric_widget(pipeline, region, "run duration (ms)", duration, "Average"),
            _metric_widget(pipeline, region, "transform job utilisation (%)", jobs, "Average"),
            _metric_widget(pipeline, region, "schedule dead letters", dead_letters, "Maximum"),
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


def _metric_widget(
    pipeline: DashboardPipeline,
    region: str,
    title: str,
    metrics: Sequence[Sequence[object]],
    stat: str,
) -> dict[str, object]:
    """A 6 x 6 hourly time series of one pipeline's row."""
    return {
        "type": "metric",
        "width": 6,
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
