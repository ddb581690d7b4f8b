"""Scheduler layer: schedule group, schedule, DLQ and role, synthesized on their own."""

from __future__ import annotations

import json

import pytest

from imports.core import Testing
from modules.config import ProjectConfig
from modules.naming import Names
from modules.scheduler import PipelineSchedule, ScheduleGroup
from modules.sfn import StateMachineOutputs
from tests.support.helpers import (
    TEST_AWS,
    actions,
    layer_stack,
    policy_of,
    reference,
    resource_named,
    resources,
    statement,
)

STATE_MACHINE = "arn:aws:states:eu-west-1:111122223333:stateMachine:full-stage-scores"
KEY = "arn:aws:kms:eu-west-1:111122223333:key/test-key"


def _synth(config: ProjectConfig, env: str, pipeline: str) -> str:
    stack = layer_stack()
    names = Names(config.project, env)
    group = ScheduleGroup(stack, "group", names=names)
    PipelineSchedule(
        stack,
        "schedule",
        pipeline=next(p for p in config.environments[env].pipelines if p.name == pipeline),
        names=names,
        aws=TEST_AWS,
        group_name=group.name,
        kms_key_arn=KEY,
        state_machine=StateMachineOutputs(arn=STATE_MACHINE),
        input_bucket_name="test-input",
    )
    return Testing.synth(stack)


@pytest.fixture(scope="module")
def scores(full_config: ProjectConfig) -> str:
    return _synth(full_config, "stage", "scores")


@pytest.fixture(scope="module")
def churn(default_config: ProjectConfig) -> str:
    return _synth(default_config, "dev", "churn")


def test_schedule_in_its_group_with_expression_timezone_window_dates(scores: str) -> None:
    assert Testing.to_have_resource_with_properties(
        scores, "aws_scheduler_schedule_group", {"name": "full-stage"}
    )
    assert Testing.to_have_resource_with_properties(
        scores,
        "aws_scheduler_schedule",
        {
            "name": "full-stage-scores",
            "schedule_expression": "rate(6 hours)",
            "schedule_expression_timezone": "America/New_York",
            "flexible_time_window": {"mode": "FLEXIBLE", "maximum_window_in_minutes": 30},
            "start_date": "2099-01-01T00:00:00Z",
            "end_date": "2100-01-01T00:00:00Z",
            "state": "ENABLED",
        },
    )


def test_flexible_window_from_config(churn: str) -> None:
    assert Testing.to_have_resource_with_properties(
        churn,
        "aws_scheduler_schedule",
        {"flexible_time_window": {"mode": "FLEXIBLE", "maximum_window_in_minutes": 15}},
    )


def test_exact_time_window_and_disabled_state(default_config: ProjectConfig) -> None:
    ltv = _synth(default_config, "dev", "ltv")
    assert Testing.to_have_resource_with_properties(
        ltv,
        "aws_scheduler_schedule",
        {"flexible_time_window": {"mode": "OFF"}, "state": "DISABLED"},
    )


def test_bounded_retry_dlq_and_payload(scores: str) -> None:
    [schedule] = resources(scores, "aws_scheduler_schedule").values()
    target = schedule["target"]
    assert target["arn"] == STATE_MACHINE
    assert target["retry_policy"] == {
        "maximum_retry_attempts": 5,
        "maximum_event_age_in_seconds": 7200,
    }
    assert target["dead_letter_config"]["arn"].startswith("${aws_sqs_queue.")
    assert json.loads(target["input"]) == {
        "trigger": "schedule",
        "scheduled_time": "<aws.scheduler.scheduled-time>",
        "input_prefix": "scores/daily/",
    }


def test_default_retry_is_far_below_the_service_default(churn: str) -> None:
    [schedule] = resources(churn, "aws_scheduler_schedule").values()
    assert schedule["target"]["retry_policy"]["maximum_retry_attempts"] == 3


def test_encrypted_standard_dlq_with_tls_only_policy(scores: str) -> None:
    assert Testing.to_have_resource_with_properties(
        scores,
        "aws_sqs_queue",
        {
            "name": "full-stage-scores-schedule-dlq",
            "kms_master_key_id": KEY,
            "message_retention_seconds": 1209600,
        },
    )
    [queue] = resources(scores, "aws_sqs_queue").values()
    assert "fifo_queue" not in queue
    [queue_policy] = resources(scores, "aws_sqs_queue_policy").values()
    deny = statement(policy_of(queue_policy), "DenyInsecureTransport")
    assert deny["Effect"] == "Deny"


def test_role_may_only_start_this_state_machine(scores: str) -> None:
    role = resource_named(scores, "aws_iam_role", name="full-stage-scores-scheduler")
    [trust] = policy_of(role, "assume_role_policy")["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    # Scheduler sets aws:SourceArn to the schedule group, not to the schedule.
    group_arn = "arn:aws:scheduler:eu-west-1:111122223333:schedule-group/full-stage"
    assert trust["Condition"]["ArnLike"] == {"aws:SourceArn": group_arn}
    role_id = reference(scores, "aws_iam_role", "id", name="full-stage-scores-scheduler")
    policy = policy_of(resource_named(scores, "aws_iam_role_policy", role=role_id))
    start = statement(policy, "StartThisStateMachine")
    assert actions(start) == {"states:StartExecution"} and start["Resource"] == STATE_MACHINE
    assert actions(statement(policy, "SendUndeliveredRunsToDlq")) == {"sqs:SendMessage"}
    assert {a for s in policy["Statement"] for a in actions(s)} == {
        "states:StartExecution",
        "sqs:SendMessage",
        "kms:Decrypt",
        "kms:GenerateDataKey",
    }


def test_event_trigger_starts_runs_from_marker_objects(scores: str) -> None:
    rule = resource_named(scores, "aws_cloudwatch_event_rule", name="full-stage-scores-input-ready")
    assert json.loads(rule["event_pattern"]) == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {
            "bucket": {"name": ["test-input"]},
            "object": {"key": ["scores/_READY", {"wildcard": "scores/*/_READY"}]},
        },
    }
    [target] = resources(scores, "aws_cloudwatch_event_target").values()
    assert target["arn"] == STATE_MACHINE
    assert target["input_transformer"]["input_paths"] == {
        "key": "$.detail.object.key",
        "time": "$.time",
    }
    assert '"trigger": "event"' in target["input_transformer"]["input_template"]
    assert target["retry_policy"] == {
        "maximum_retry_attempts": 5,
        "maximum_event_age_in_seconds": 7200,
    }
    assert target["dead_letter_config"]["arn"].startswith("${aws_sqs_queue.")


def test_event_trigger_role_and_dlq_permission(scores: str) -> None:
    role = resource_named(scores, "aws_iam_role", name="full-stage-scores-trigger")
    [trust] = policy_of(role, "assume_role_policy")["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    rule_arn = "arn:aws:events:eu-west-1:111122223333:rule/full-stage-scores-input-ready"
    assert trust["Condition"]["ArnLike"] == {"aws:SourceArn": rule_arn}
    role_id = reference(scores, "aws_iam_role", "id", name="full-stage-scores-trigger")
    policy = policy_of(resource_named(scores, "aws_iam_role_policy", role=role_id))
    assert [actions(s) for s in policy["Statement"]] == [{"states:StartExecution"}]
    [queue_policy] = resources(scores, "aws_sqs_queue_policy").values()
    dead_letters = statement(policy_of(queue_policy), "EventTriggerDeadLetters")
    assert dead_letters["Principal"] == {"Service": "events.amazonaws.com"}
    assert dead_letters["Condition"] == {"ArnEquals": {"aws:SourceArn": rule_arn}}


def test_no_event_trigger_unless_configured(churn: str) -> None:
    assert resources(churn, "aws_cloudwatch_event_rule") == {}
    [queue_policy] = resources(churn, "aws_sqs_queue_policy").values()
    assert "EventTriggerDeadLetters" not in queue_policy["policy"]


def test_dates_are_rfc3339_in_utc() -> None:
    from datetime import datetime, timedelta, timezone

    from modules.scheduler import _iso

    eastern = timezone(timedelta(hours=-5))
    assert _iso(datetime(2030, 1, 1, tzinfo=eastern)) == "2030-01-01T05:00:00Z"
    assert _iso(datetime(2030, 1, 1)) == "2030-01-01T00:00:00Z"
