"""Alerting layer: topic, subscriptions, alarms and the transform job event rule."""

from __future__ import annotations

import json

import pytest

from imports.core import Testing
from modules.alerting import AlertTopic, PipelineAlarms
from modules.config import ProjectConfig
from modules.dashboard import MAX_DASHBOARD_WIDGETS, DashboardPipeline, EnvironmentDashboard
from modules.naming import EXECUTION_ALARM_METRICS, Names
from modules.scheduler import ScheduleOutputs
from modules.sfn import StateMachineOutputs
from tests.support.helpers import TEST_AWS, layer_stack, policy_of, resources, statement

KEY = "arn:aws:kms:eu-west-1:111122223333:key/test-key"
TOPIC = "arn:aws:sns:eu-west-1:111122223333:full-stage-alerts"
STATE_MACHINE = "arn:aws:states:eu-west-1:111122223333:stateMachine:full-stage-scores"


@pytest.fixture(scope="module")
def synthesized(full_config: ProjectConfig) -> str:
    stack = layer_stack()
    env = full_config.environments["stage"]
    names = Names(full_config.project, "stage")
    AlertTopic(
        stack,
        "topic",
        names=names,
        aws=TEST_AWS,
        kms_key_arn=KEY,
        subscriptions=list(env.alerting.subscriptions),
    )
    PipelineAlarms(
        stack,
        "alarms",
        pipeline=env.pipelines[0],
        names=names,
        aws=TEST_AWS,
        topic_arn=TOPIC,
        state_machine=StateMachineOutputs(arn=STATE_MACHINE),
        schedule=ScheduleOutputs(
            schedule_name="s",
            dlq_arn="q",
            dlq_name="full-stage-scores-dlq",
            dlq_url="u",
        ),
    )
    return Testing.synth(stack)


def test_encrypted_topic_and_subscriptions_from_config(synthesized: str) -> None:
    assert Testing.to_have_resource_with_properties(
        synthesized, "aws_sns_topic", {"name": "full-stage-alerts", "kms_master_key_id": KEY}
    )
    protocols = sorted(
        s["protocol"] for s in resources(synthesized, "aws_sns_topic_subscription").values()
    )
    assert protocols == ["email", "https", "lambda"]
    # SNS invokes the function only with the function's permission for this topic.
    [permission] = resources(synthesized, "aws_lambda_permission").values()
    assert (
        permission["function_name"] == "arn:aws:lambda:us-east-1:444455556666:function:page-oncall"
    )
    assert permission["principal"] == "sns.amazonaws.com"
    assert permission["action"] == "lambda:InvokeFunction"
    assert permission["source_arn"].startswith("${aws_sns_topic.")
    assert Testing.to_have_resource_with_properties(
        synthesized,
        "aws_sns_topic_subscription",
        {"protocol": "email", "endpoint": "oncall@example.com"},
    )


def test_topic_policy_lets_this_accounts_alarms_and_rules_publish(synthesized: str) -> None:
    [topic_policy] = resources(synthesized, "aws_sns_topic_policy").values()
    policy = policy_of(topic_policy)
    alarms = statement(policy, "CloudWatchAlarmsOfThisAccountPublish")
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"]["StringEquals"] == {"aws:SourceAccount": "111122223333"}
    events = statement(policy, "EventBridgeRulesOfThisAccountPublish")
    assert events["Principal"] == {"Service": "events.amazonaws.com"}
    assert events["Condition"]["ArnLike"] == {
        "aws:SourceArn": "arn:aws:events:eu-west-1:111122223333:rule/full-stage-*"
    }
    assert statement(policy, "DenyInsecureTransport")["Effect"] == "Deny"


@pytest.mark.parametrize("metric", EXECUTION_ALARM_METRICS)
def test_execution_alarms_page_and_recover(synthesized: str, metric: str) -> None:
    assert Testing.to_have_resource_with_properties(
        synthesized,
        "aws_cloudwatch_metric_alarm",
        {
            "alarm_name": f"full-stage-scores-{metric}",
            "namespace": "AWS/States",
            "metric_name": metric,
            "dimensions": {"StateMachineArn": STATE_MACHINE},
            "statistic": "Sum",
            "threshold": 1,
            "period": 900,
            "comparison_operator": "GreaterThanOrEqualToThreshold",
            "treat_missing_data": "notBreaching",
            "alarm_actions": [TOPIC],
            "ok_actions": [TOPIC],
        },
    )


def test_dlq_depth_alarm(synthesized: str) -> None:
    assert Testing.to_have_resource_with_properties(
        synthesized,
        "aws_cloudwatch_metric_alarm",
        {
            "namespace": "AWS/SQS",
            "metric_name": "ApproximateNumberOfMessagesVisible",
            "dimensions": {"QueueName": "full-stage-scores-dlq"},
            "threshold": 2,
            "alarm_actions": [TOPIC],
        },
    )


def test_transform_job_failures_of_this_pipeline_reach_the_topic(synthesized: str) -> None:
    [rule] = resources(synthesized, "aws_cloudwatch_event_rule").values()
    assert json.loads(rule["event_pattern"]) == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Transform Job State Change"],
        "detail": {
            "TransformJobStatus": ["Failed", "Stopped"],
            "TransformJobName": [{"prefix": "full-stage-scores-"}],
        },
    }
    assert Testing.to_have_resource_with_properties(
        synthesized, "aws_cloudwatch_event_target", {"arn": TOPIC}
    )


def _pipeline_alarms(full_config: ProjectConfig, pipeline: str) -> str:
    stack = layer_stack()
    env = full_config.environments["stage"]
    PipelineAlarms(
        stack,
        "alarms",
        pipeline=next(p for p in env.pipelines if p.name == pipeline),
        names=Names(full_config.project, "stage"),
        aws=TEST_AWS,
        topic_arn=TOPIC,
        state_machine=StateMachineOutputs(arn=STATE_MACHINE),
        schedule=ScheduleOutputs(schedule_name="s", dlq_arn="q", dlq_name="d", dlq_url="u"),
    )
    return Testing.synth(stack)


def test_freshness_alarm_fires_when_no_transform_completed_in_the_window(
    full_config: ProjectConfig,
) -> None:
    synthesized = _pipeline_alarms(full_config, "latest")
    [latest] = [p for p in full_config.environments["stage"].pipelines if p.name == "latest"]
    [freshness] = [
        a
        for a in resources(synthesized, "aws_cloudwatch_metric_alarm").values()
        if a["alarm_name"].endswith("-NoRecentSuccess")
    ]
    assert freshness == {
        **freshness,
        "alarm_name": "full-stage-latest-NoRecentSuccess",
        # What the run publishes after a completed transform (RecordCompletedTransform), not
        # ExecutionsSucceeded, which also counts runs that found no input or were skipped.
        "namespace": "BatchInference/full-stage-latest",
        "metric_name": "TransformsCompleted",
        "statistic": "Sum",
        "period": 3600,
        "evaluation_periods": latest.freshness_window_hours,  # one per hour of the window
        "datapoints_to_alarm": latest.freshness_window_hours,
        "comparison_operator": "LessThanThreshold",
        "threshold": 1,
        "treat_missing_data": "breaching",
        "alarm_actions": [TOPIC],
    }
    assert "dimensions" not in freshness  # the namespace is the pipeline's own


def test_a_schedule_with_start_or_end_date_gets_no_freshness_alarm(
    full_config: ProjectConfig, synthesized: str
) -> None:
    scores = full_config.environments["stage"].pipelines[0]
    assert scores.schedule.start_date is not None and scores.schedule.end_date is not None
    assert scores.freshness_window_hours is None
    names = [
        a["alarm_name"] for a in resources(synthesized, "aws_cloudwatch_metric_alarm").values()
    ]
    assert len(names) == 5 and not any(n.endswith("-NoRecentSuccess") for n in names)


def test_freshness_window_is_derived_from_the_schedule(
    default_config: ProjectConfig, full_config: ProjectConfig
) -> None:
    prod = {p.name: p for p in default_config.environments["prod"].pipelines}
    assert prod["churn"].freshness_window_hours is not None  # daily
    assert prod["ltv"].freshness_window_hours is None  # weekly: no margin within 7 days
    dev = {p.name: p for p in default_config.environments["dev"].pipelines}
    assert dev["ltv"].freshness_window_hours is None  # schedule disabled
    stage = {p.name: p for p in full_config.environments["stage"].pipelines}
    assert stage["latest"].freshness_window_hours is not None  # hourly
    assert stage["registry"].freshness_window_hours is None  # one-time at()


def test_dashboard_per_environment(dev_json: str) -> None:
    [dashboard] = resources(dev_json, "aws_cloudwatch_dashboard").values()
    assert dashboard["dashboard_name"] == "mlbatch-dev"
    widgets = json.loads(dashboard["dashboard_body"])["widgets"]
    titles = [w["properties"].get("title") for w in widgets]
    for pipeline in ("churn", "ltv"):
        for title in (
            "runs",
            "run duration (ms)",
            "transform job utilisation (%)",
            "schedule dead letters",
            "alarms",
        ):
            assert f"{pipeline}: {title}" in titles
    alarm_widget = next(w for w in widgets if w["properties"].get("title") == "churn: alarms")
    assert len(alarm_widget["properties"]["alarms"]) == 6  # 4 execution + DLQ + freshness
    runs = next(w for w in widgets if w["properties"].get("title") == "churn: runs")
    assert [m[1] for m in runs["properties"]["metrics"]] == [
        "ExecutionsStarted",
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
    ]


def test_large_environments_get_several_dashboards_within_the_widget_limit(
    full_config: ProjectConfig,
) -> None:
    pipeline = full_config.environments["stage"].pipelines[0]
    names = Names("p", "dev")
    rows = [
        DashboardPipeline.of(pipeline.model_copy(update={"name": f"p{i:03d}"}), names, TEST_AWS)
        for i in range(45)
    ]
    stack = layer_stack()
    EnvironmentDashboard(stack, "dashboard", names=names, region="eu-west-1", pipelines=rows)
    dashboards = resources(Testing.synth(stack), "aws_cloudwatch_dashboard").values()
    assert [d["dashboard_name"] for d in dashboards] == ["p-dev", "p-dev-2", "p-dev-3"]
    titles = []
    for dashboard in dashboards:
        widgets = json.loads(dashboard["dashboard_body"])["widgets"]
        assert len(widgets) <= MAX_DASHBOARD_WIDGETS
        titles += [w["properties"].get("title", "") for w in widgets]
    assert [t for t in titles if t.endswith(": alarms")] == [f"p{i:03d}: alarms" for i in range(45)]
