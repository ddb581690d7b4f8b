"""The state machine definition as data, where a run reads and whether it starts: the input
prefix from the execution's input or the config's default, a scheduled run's dated folder, an
event trigger's markers folder, an empty input that ends cleanly, and the overlap guard that skips
a run while another is running."""

from __future__ import annotations

from typing import Any

import pytest

from modules.config import ProjectConfig
from modules.workflow import build_definition
from modules.workflow.state_names import (
    CHECK_INPUT_PRESENT,
    CHECK_OVERLAP,
    CHECK_RUN_INPUT,
    CHECK_SCHEDULED_RUN,
    CHECK_TRIGGER,
    COUNT_EARLIER_RUNS,
    INPUT_FROM_MARKER,
    INPUT_FROM_SCHEDULE,
    LIST_INPUT,
    LIST_RUNNING_EXECUTIONS,
    NO_INPUT,
    NOTIFY_NO_INPUT,
    NOTIFY_SKIPPED,
    REJECT_RUN_INPUT,
    RUN_SKIPPED,
    RUN_TRANSFORM_JOB,
    USE_DEFAULT_INPUT,
    USE_REQUESTED_INPUT,
)
from tests.support.workflow import TARGETS, pipeline_of, states_of


@pytest.fixture(scope="module")
def definition(default_config: ProjectConfig) -> dict[str, Any]:
    """dev's churn: defaults for every switch (no trigger, no notifications)."""
    return build_definition(pipeline_of(default_config, "dev", "churn"), TARGETS)


def test_input_prefix_from_execution_input_with_config_default(definition: dict[str, Any]) -> None:
    states = definition["States"]
    choice = states[CHECK_RUN_INPUT]["Choices"][0]["And"]
    assert {"Variable": "$.input_prefix", "StringMatches": "churn/*"} in choice
    assert states[USE_REQUESTED_INPUT]["Parameters"]["input_prefix.$"] == "$.input_prefix"
    assert states[USE_DEFAULT_INPUT]["Parameters"]["input_prefix"] == "churn/"
    assert states[REJECT_RUN_INPUT]["Type"] == "Fail"
    uri = states[RUN_TRANSFORM_JOB]["Parameters"]["TransformInput"]["DataSource"]["S3DataSource"]
    assert uri["S3Uri.$"] == "States.Format('s3://IN/{}', $.run.input_prefix)"


def test_scheduled_runs_read_the_folder_of_their_date(definition: dict[str, Any]) -> None:
    states = definition["States"]
    assert definition["StartAt"] == CHECK_SCHEDULED_RUN
    rule = states[CHECK_SCHEDULED_RUN]["Choices"][0]
    assert {"Not": {"Variable": "$.input_prefix", "IsPresent": True}} in rule["And"]
    assert rule["Next"] == INPUT_FROM_SCHEDULE
    derive = states[INPUT_FROM_SCHEDULE]
    assert derive["QueryLanguage"] == "JSONata" and derive["Next"] == CHECK_RUN_INPUT
    assert (
        '"churn/" & $fromMillis($toMillis($states.input.scheduled_time), "[Y0001]-[M01]-[D01]")'
        in derive["Output"]
    )


def test_event_trigger_reads_the_markers_folder(full_config: ProjectConfig) -> None:
    states = states_of(full_config, "stage", "scores")
    assert states[CHECK_TRIGGER]["Choices"][0]["Next"] == INPUT_FROM_MARKER
    derive = states[INPUT_FROM_MARKER]
    assert derive["QueryLanguage"] == "JSONata"
    assert (
        "$substring($states.input.marker_key, 0, $length($states.input.marker_key) - 6)"
        in (derive["Output"])
    )  # len("_READY")
    assert derive["Next"] == CHECK_RUN_INPUT  # and then the usual prefix check


def test_empty_input_ends_cleanly(definition: dict[str, Any], full_config: ProjectConfig) -> None:
    states = definition["States"]
    listing = states[LIST_INPUT]
    assert listing["Resource"] == "arn:aws:states:::aws-sdk:s3:listObjectsV2"
    assert listing["Parameters"] == {"Bucket": "IN", "Prefix.$": "$.run.input_prefix", "MaxKeys": 1}
    [rule] = states[CHECK_INPUT_PRESENT]["Choices"]
    assert rule["Variable"] == "$.input_check.objects" and rule["NumericEquals"] == 0
    assert rule["Next"] == NO_INPUT and states[NO_INPUT]["Result"]["status"] == "no-input"
    notified = states_of(full_config, "stage", "scores")
    assert notified[CHECK_INPUT_PRESENT]["Choices"][0]["Next"] == NOTIFY_NO_INPUT
    assert notified[NOTIFY_NO_INPUT]["Next"] == NO_INPUT
    assert LIST_INPUT not in states_of(full_config, "stage", "latest")


def test_overlap_guard_skips_and_notifies(definition: dict[str, Any]) -> None:
    states = definition["States"]
    assert states[USE_DEFAULT_INPUT]["Next"] == LIST_RUNNING_EXECUTIONS
    listing = states[LIST_RUNNING_EXECUTIONS]
    assert listing["Resource"] == "arn:aws:states:::aws-sdk:sfn:listExecutions"
    assert listing["Parameters"] == {
        "StateMachineArn.$": "$$.StateMachine.Id",
        "StatusFilter": "RUNNING",
        "MaxResults": 1000,
    }
    assert listing["Next"] == COUNT_EARLIER_RUNS
    assert states[COUNT_EARLIER_RUNS]["QueryLanguage"] == "JSONata"
    [rule] = states[CHECK_OVERLAP]["Choices"]
    assert rule == {
        "Variable": "$.overlap.earlier_runs",
        "NumericGreaterThan": 0,
        "Next": NOTIFY_SKIPPED,
    }
    assert states[NOTIFY_SKIPPED]["Next"] == RUN_SKIPPED
    assert states[RUN_SKIPPED]["Result"]["status"] == "skipped" and states[RUN_SKIPPED]["End"]


def test_overlap_allowed_has_no_guard(full_config: ProjectConfig) -> None:
    assert LIST_RUNNING_EXECUTIONS not in states_of(full_config, "stage", "scores")
