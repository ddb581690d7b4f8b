"""Alerting layer: alert key, topic, subscriptions, alarms, the transform job event rule and its
dead-letter queue, the alert delivery alarm and the dashboard."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imports.core import Testing
from modules.alerting import AlertTopic, PipelineAlarms
from modules.alerting.job_events import ALERT_MAX_EVENT_AGE_SECONDS, ALERT_RETRY_ATTEMPTS
from modules.config import ProjectConfig, Subscription
from modules.config.aws_names import java_pattern, name_rule
from modules.dashboard import MAX_DASHBOARD_WIDGETS, DashboardPipeline, EnvironmentDashboard
from modules.naming import EXECUTION_ALARM_METRICS, Names
from modules.scheduler import DLQ_RETENTION_SECONDS, ScheduleOutputs
from modules.sfn import StateMachineOutputs
from tests.support.helpers import (
    TEST_AWS,
    layer_stack,
    policy_of,
    reference,
    resource_named,
    resources,
    statement,
)

ALERT_KEY = "arn:aws:kms:eu-west-1:111122223333:key/alert-key"
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
        subscriptions=list(env.alerting.subscriptions),
        allow_destroy=False,
        key_deletion_window_days=14,
    )
    PipelineAlarms(
        stack,
        "alarms",
        pipeline=env.pipelines[0],
        names=names,
        aws=TEST_AWS,
        topic_arn=TOPIC,
        alert_key_arn=ALERT_KEY,
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
    [topic] = resources(synthesized, "aws_sns_topic").values()
    assert topic["name"] == "full-stage-alerts"
    # Its own key, not the data key.
    assert topic["kms_master_key_id"] == reference(synthesized, "aws_kms_key", "arn")
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
            # scores has fallback instance types: a CapacityError is its run's to handle
            # (tests/test_alert_routing.py matches real events against this pattern).
            "$or": [
                {"TransformJobStatus": ["Stopped"]},
                {"FailureReason": [{"anything-but": {"prefix": "CapacityError"}}]},
            ],
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
        alert_key_arn=ALERT_KEY,
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
    names = {
        a["alarm_name"] for a in resources(synthesized, "aws_cloudwatch_metric_alarm").values()
    }
    pipeline_names = Names(full_config.project, "stage").of_pipeline(scores.name)
    assert names - {"full-stage-alerts-NotificationsFailed"} == set(
        pipeline_names.alarms(freshness=False).all
    )
    assert not any(n.endswith("-NoRecentSuccess") for n in names)


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
    # 4 execution + the two dead-letter queues (schedule, transform-job rule) + freshness
    assert len(alarm_widget["properties"]["alarms"]) == 7
    runs = next(w for w in widgets if w["properties"].get("title") == "churn: runs")
    assert [m[1] for m in runs["properties"]["metrics"]] == [
        "ExecutionsStarted",
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
    ]


def _dashboards_of_45_pipelines(full_config: ProjectConfig) -> tuple[Names, list[Any]]:
    """An environment of 45 pipelines: more than one dashboard's widgets."""
    pipeline = full_config.environments["stage"].pipelines[0]
    names = Names("p", "dev")
    rows = [
        DashboardPipeline.of(pipeline.model_copy(update={"name": f"p{i:03d}"}), names, TEST_AWS)
        for i in range(45)
    ]
    stack = layer_stack()
    EnvironmentDashboard(stack, "dashboard", names=names, aws=TEST_AWS, pipelines=rows)
    return names, list(resources(Testing.synth(stack), "aws_cloudwatch_dashboard").values())


def test_large_environments_get_several_dashboards_within_the_widget_limit(
    full_config: ProjectConfig,
) -> None:
    _, dashboards = _dashboards_of_45_pipelines(full_config)
    assert [d["dashboard_name"] for d in dashboards] == ["p-dev", "p-dev-2", "p-dev-3"]
    titles = []
    for dashboard in dashboards:
        widgets = json.loads(dashboard["dashboard_body"])["widgets"]
        assert len(widgets) <= MAX_DASHBOARD_WIDGETS
        titles += [w["properties"].get("title", "") for w in widgets]
    assert [t for t in titles if t.endswith(": alarms")] == [f"p{i:03d}: alarms" for i in range(45)]


def _subscriptions(*endpoints: str) -> list[Subscription]:
    return [Subscription(protocol="lambda", endpoint=endpoint) for endpoint in endpoints]


def test_each_lambda_subscription_gets_a_permission_statement_of_its_own() -> None:
    """Lambda refuses a second AddPermission with a statement id the function already has
    (ResourceConflictException): each function, and each alias of one, gets its own id, within
    what botocore says AddPermission takes."""
    functions = [
        "arn:aws:lambda:eu-west-1:111122223333:function:page-oncall",
        "arn:aws:lambda:eu-west-1:111122223333:function:page-oncall:live",
        "arn:aws:lambda:eu-west-1:111122223333:function:post-to-chat",
    ]
    stack = layer_stack()
    names = Names("full", "stage")
    AlertTopic(
        stack,
        "topic",
        names=names,
        aws=TEST_AWS,
        subscriptions=_subscriptions(*functions),
        allow_destroy=False,
        key_deletion_window_days=14,
    )
    permissions = resources(Testing.synth(stack), "aws_lambda_permission").values()
    ids = {p["function_name"]: p["statement_id"] for p in permissions}
    assert sorted(ids) == sorted(functions)
    assert len(set(ids.values())) == len(functions)
    rule = name_rule("lambda:AddPermission.StatementId")
    assert rule.pattern is not None
    for statement_id in ids.values():
        assert len(statement_id) <= rule.max_length
        assert java_pattern(rule.pattern).fullmatch(statement_id), statement_id
    # Named after the function, not its place: reordering the list keeps every id.
    assert ids[functions[0]] == names.alert_invoke_statement(functions[0])


def test_transform_job_rule_retries_then_keeps_what_it_could_not_publish(
    synthesized: str,
) -> None:
    names = Names("full", "stage").of_pipeline("scores")
    rule_arn = f"arn:aws:events:eu-west-1:111122223333:rule/{names.job_failed_rule}"
    [target] = resources(synthesized, "aws_cloudwatch_event_target").values()
    assert target["retry_policy"] == {
        "maximum_retry_attempts": ALERT_RETRY_ATTEMPTS,
        "maximum_event_age_in_seconds": ALERT_MAX_EVENT_AGE_SECONDS,
    }
    queue = resource_named(synthesized, "aws_sqs_queue", name=names.alert_dlq)
    assert target["dead_letter_config"] == {
        "arn": reference(synthesized, "aws_sqs_queue", "arn", name=names.alert_dlq)
    }
    # Encrypted with the alert key, kept as long as the schedule's dead letters.
    assert queue["kms_master_key_id"] == ALERT_KEY
    assert queue["message_retention_seconds"] == DLQ_RETENTION_SECONDS
    [queue_policy] = resources(synthesized, "aws_sqs_queue_policy").values()
    policy = policy_of(queue_policy)
    allowed = [s for s in policy["Statement"] if s["Effect"] == "Allow"]
    assert allowed == [
        {
            "Sid": "TransformJobRuleDeadLetters",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": reference(synthesized, "aws_sqs_queue", "arn", name=names.alert_dlq),
            "Principal": {"Service": "events.amazonaws.com"},
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
        }
    ]
    assert statement(policy, "DenyInsecureTransport")["Effect"] == "Deny"
    # Alarmed like the schedule's dead-letter queue, from the first message.
    assert Testing.to_have_resource_with_properties(
        synthesized,
        "aws_cloudwatch_metric_alarm",
        {
            "alarm_name": names.alarms(freshness=False).alert_dead_letters,
            "namespace": "AWS/SQS",
            "metric_name": "ApproximateNumberOfMessagesVisible",
            "dimensions": {"QueueName": reference(synthesized, "aws_sqs_queue", "name")},
            "threshold": 1,
            "alarm_actions": [TOPIC],
        },
    )


def test_failed_alert_deliveries_raise_an_alarm_that_does_not_page_through_the_topic(
    synthesized: str,
) -> None:
    alarm = resource_named(
        synthesized, "aws_cloudwatch_metric_alarm", metric_name="NumberOfNotificationsFailed"
    )
    assert alarm == {
        **alarm,
        "alarm_name": Names("full", "stage").alert_delivery_alarm,
        "namespace": "AWS/SNS",
        "dimensions": {"TopicName": reference(synthesized, "aws_sns_topic", "name")},
        "statistic": "Sum",
        "threshold": 1,
        "comparison_operator": "GreaterThanOrEqualToThreshold",
        "treat_missing_data": "notBreaching",
    }
    assert "alarm_actions" not in alarm and "ok_actions" not in alarm


def test_every_dashboard_page_shows_the_alert_delivery_alarm(full_config: ProjectConfig) -> None:
    names, dashboards = _dashboards_of_45_pipelines(full_config)
    assert len(dashboards) > 1
    arn = TEST_AWS.arn("cloudwatch", f"alarm:{names.alert_delivery_alarm}")
    for dashboard in dashboards:
        widgets = json.loads(dashboard["dashboard_body"])["widgets"]
        assert [w for w in widgets if w["type"] == "alarm" and w["properties"]["alarms"] == [arn]]


def test_the_alert_key_is_its_own_and_lets_publishers_use_it_only_for_alerts(
    synthesized: str,
) -> None:
    [key] = resources(synthesized, "aws_kms_key").values()
    assert key["enable_key_rotation"] is True
    assert key["deletion_window_in_days"] == 14
    assert key["lifecycle"] == {"prevent_destroy": True}
    assert Testing.to_have_resource_with_properties(
        synthesized, "aws_kms_alias", {"name": Names("full", "stage").alert_key_alias}
    )
    policy = policy_of(key)
    topic = {"kms:EncryptionContext:aws:sns:topicArn": TOPIC}
    alarms = statement(policy, "AlarmsPublishToTheAlertTopic")
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert alarms["Condition"] == {"StringEquals": topic}
    rules = statement(policy, "EventRulesOfThisAccountPublishToTheAlertTopic")
    assert rules["Principal"] == {"Service": "events.amazonaws.com"}
    assert rules["Condition"] == {"StringEquals": {"aws:SourceAccount": "111122223333", **topic}}
    dead_letters = statement(policy, "EventRulesOfThisEnvironmentKeepTheirDeadLetters")
    assert dead_letters["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "111122223333"},
        "ArnLike": {"aws:SourceArn": "arn:aws:events:eu-west-1:111122223333:rule/full-stage-*"},
    }
