"""The state machine definition as data, what a run does when something fails: retries of
transient errors only (never a failed job), SageMaker's generic error retried only for transient
causes, failures notified then failed, and the console link in the stack's partition."""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from modules.aws_context import AwsContext
from modules.config import ProjectConfig
from modules.workflow import (
    TRANSIENT_SAGEMAKER_ERRORS,
    build_definition,
)
from modules.workflow.state_names import (
    CHECK_SAGEMAKER_ERROR,
    COUNT_ATTEMPT,
    DESCRIBE_FAILURE,
    NEXT_ATTEMPT,
    NOTIFY_FAILURE,
    RUN_FAILED,
    RUN_TRANSFORM_JOB,
    WAIT_BEFORE_RETRY,
)
from tests.support.workflow import TARGETS, pipeline_of, states_of


@pytest.fixture(scope="module")
def definition(default_config: ProjectConfig) -> dict[str, Any]:
    """dev's churn: defaults for every switch (no trigger, no notifications)."""
    return build_definition(pipeline_of(default_config, "dev", "churn"), TARGETS)


def test_retry_only_transient_errors_never_task_failed(definition: dict[str, Any]) -> None:
    [retry] = definition["States"][RUN_TRANSFORM_JOB]["Retry"]
    assert retry["ErrorEquals"] == TRANSIENT_SAGEMAKER_ERRORS
    assert "States.TaskFailed" not in retry["ErrorEquals"]
    assert "States.ALL" not in retry["ErrorEquals"]
    # It also wraps ValidationException: bad parameters must not be retried for minutes.
    assert "SageMaker.AmazonSageMakerException" not in retry["ErrorEquals"]
    assert retry["BackoffRate"] > 1 and retry["MaxAttempts"] <= 3


def test_generic_sagemaker_error_is_retried_only_for_transient_causes(
    definition: dict[str, Any],
) -> None:
    states = definition["States"]
    generic, everything = states[RUN_TRANSFORM_JOB]["Catch"]
    assert generic["ErrorEquals"] == ["SageMaker.AmazonSageMakerException"]
    assert generic["Next"] == CHECK_SAGEMAKER_ERROR
    assert everything["ErrorEquals"] == ["States.ALL"]
    check = states[CHECK_SAGEMAKER_ERROR]
    assert check["Default"] == DESCRIBE_FAILURE
    [rule] = check["Choices"]
    causes = [c["StringMatches"] for c in rule["And"][0]["Or"]]
    validation = "Value 'x' failed to satisfy constraint (Error Code: ValidationException)"
    throttled = "Rate exceeded (Service: AmazonSageMaker; Error Code: ThrottlingException)"
    assert not any(fnmatch.fnmatchcase(validation, c) for c in causes)
    assert any(fnmatch.fnmatchcase(throttled, c) for c in causes)
    assert rule["And"][1] == {"Variable": "$.run.attempt", "NumericLessThan": 3}
    # Wait, count the attempt, and run again under a new job name.
    assert states[WAIT_BEFORE_RETRY]["Next"] == COUNT_ATTEMPT
    assert states[NEXT_ATTEMPT]["ResultPath"] == "$.run.attempt"
    assert states[NEXT_ATTEMPT]["Next"] == RUN_TRANSFORM_JOB


def test_failures_notify_then_fail(definition: dict[str, Any]) -> None:
    states = definition["States"]
    catch = states[RUN_TRANSFORM_JOB]["Catch"][-1]
    assert catch == {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": "$.error",
        "Next": DESCRIBE_FAILURE,
    }
    notify = states[NOTIFY_FAILURE]
    assert notify["Resource"] == "arn:aws:states:::sns:publish"
    assert notify["Parameters"]["TopicArn"] == "TOPIC"
    assert notify["Next"] == RUN_FAILED
    assert notify["Catch"][0]["Next"] == RUN_FAILED  # a lost alert still fails the run
    message = states[DESCRIBE_FAILURE]["Parameters"]
    assert {"pipeline", "execution.$", "error.$", "cause.$", "run_name.$"} <= set(message)
    assert message["console.$"] == (
        "States.Format('https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1"
        "#/v2/executions/details/{}', $$.Execution.Id)"
    )


def test_console_link_follows_the_partition(default_config: ProjectConfig) -> None:
    gov = AwsContext(account_id="111122223333", region="us-gov-west-1", partition="aws-us-gov")
    states = states_of(default_config, "dev", "churn", aws=gov)
    assert states[DESCRIBE_FAILURE]["Parameters"]["console.$"].startswith(
        "States.Format('https://console.amazonaws-us-gov.com/states/home?region=us-gov-west-1"
    )
    assert states[RUN_FAILED] == {
        "Type": "Fail",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }
