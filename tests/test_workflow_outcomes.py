"""The state machine definition as data, what a successful run leaves: the completion manifest
next to the outputs (naming the model package that ran, for a registry model), the completed
transform recorded as a metric in the pipeline's namespace, and the optional success
notification."""

from __future__ import annotations

from typing import Any

import pytest

from modules.config import ProjectConfig
from modules.workflow import (
    build_definition,
    build_workflow,
)
from modules.workflow.state_names import (
    BUILD_MANIFEST,
    DESCRIBE_FAILURE,
    NOTIFY_SUCCESS,
    RECORD_COMPLETED_TRANSFORM,
    RUN_SUCCEEDED,
    RUN_TRANSFORM_JOB,
    WRITE_MANIFEST,
)
from tests.support.workflow import TARGETS, pipeline_of, states_of


@pytest.fixture(scope="module")
def definition(default_config: ProjectConfig) -> dict[str, Any]:
    """dev's churn: defaults for every switch (no trigger, no notifications)."""
    return build_definition(pipeline_of(default_config, "dev", "churn"), TARGETS)


def test_completion_manifest_next_to_outputs(definition: dict[str, Any]) -> None:
    states = definition["States"]
    assert states[RUN_TRANSFORM_JOB]["Next"] == RECORD_COMPLETED_TRANSFORM
    assert states[RECORD_COMPLETED_TRANSFORM]["Next"] == BUILD_MANIFEST
    manifest = states[BUILD_MANIFEST]["Output"]
    for field in (
        "'run_id'", "'trigger'", "'model': \"MODEL\"", "'input'", "'output'", "'transform_job'",
        "'started_at'", "'finished_at'", "'duration_seconds'",
    ):  # fmt: skip
        assert field in manifest
    write = states[WRITE_MANIFEST]
    assert write["Resource"] == "arn:aws:states:::aws-sdk:s3:putObject"
    assert write["Parameters"]["Bucket"] == "OUT"
    assert write["Parameters"]["Key.$"] == "States.Format('churn/{}/_manifest.json', $.run.run_id)"
    assert write["Parameters"]["SSEKMSKeyId"] == "KEY"
    assert write["Catch"][0]["Next"] == DESCRIBE_FAILURE


def test_a_completed_transform_is_recorded_in_the_pipelines_namespace(
    definition: dict[str, Any], default_config: ProjectConfig
) -> None:
    record = definition["States"][RECORD_COMPLETED_TRANSFORM]
    assert record["Resource"] == "arn:aws:states:::aws-sdk:cloudwatch:putMetricData"
    namespace = record["Parameters"]["Namespace"]
    assert namespace == f"BatchInference/{TARGETS.names.state_machine}"
    # Its own failure does not change the run's result (the alarm then shows missing data).
    assert record["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.metric_error", "Next": BUILD_MANIFEST}
    ]
    pipeline = pipeline_of(default_config, "dev", "churn")
    [statement] = [
        s
        for s in build_workflow(pipeline, TARGETS).statements
        if "cloudwatch:PutMetricData" in s["Action"]
    ]
    assert statement["Resource"] == "*"
    assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": namespace}}


def test_registry_manifest_records_the_package_that_ran(default_config: ProjectConfig) -> None:
    states = states_of(default_config, "prod", "ltv", model_name=None)
    assert "'model': $states.input.model_package.arn" in states[BUILD_MANIFEST]["Output"]


def test_success_notification_is_optional(
    definition: dict[str, Any], default_config: ProjectConfig
) -> None:
    assert NOTIFY_SUCCESS not in definition["States"]
    states = build_definition(pipeline_of(default_config, "prod", "churn"), TARGETS)["States"]
    assert states[WRITE_MANIFEST]["Next"] == NOTIFY_SUCCESS
    assert "States.JsonToString($.manifest)" in states[NOTIFY_SUCCESS]["Parameters"]["Message.$"]
    assert states[NOTIFY_SUCCESS]["Next"] == RUN_SUCCEEDED
