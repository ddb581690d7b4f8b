"""The state machine definition as data: flow, run identity, transform settings, failures."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest

from modules.config import MAX_JOB_PREFIX_LENGTH, PipelineConfig, ProjectConfig
from modules.workflow import TRANSIENT_SAGEMAKER_ERRORS, WorkflowTargets, build_definition

TARGETS = WorkflowTargets(
    partition="aws",
    region="eu-west-1",
    environment="prod",
    job_prefix="mlbatch-prod-churn",
    model_name="MODEL",
    input_bucket="IN",
    output_bucket="OUT",
    kms_key_arn="KEY",
    alert_topic_arn="TOPIC",
)


def _pipeline(config: ProjectConfig, env: str, name: str) -> PipelineConfig:
    return next(p for p in config.environments[env].pipelines if p.name == name)


@pytest.fixture(scope="module")
def definition(default_config: ProjectConfig) -> dict[str, Any]:
    return build_definition(_pipeline(default_config, "prod", "churn"), TARGETS)


def _next_states(state: dict[str, Any]) -> set[str]:
    found = {state[k] for k in ("Next", "Default") if k in state}
    found |= {c["Next"] for c in state.get("Choices", [])}
    found |= {c["Next"] for c in state.get("Catch", [])}
    return found


def test_every_transition_exists_and_every_state_is_reachable(definition: dict[str, Any]) -> None:
    states = definition["States"]
    reachable, todo = set(), [definition["StartAt"]]
    while todo:
        name = todo.pop()
        if name in reachable:
            continue
        reachable.add(name)
        assert name in states
        todo.extend(_next_states(states[name]))
    assert reachable == set(states)


def test_runs_the_sync_transform_job(definition: dict[str, Any]) -> None:
    task = definition["States"]["RunTransformJob"]
    assert task["Resource"] == "arn:aws:states:::sagemaker:createTransformJob.sync"
    assert task["Parameters"]["ModelName"] == "MODEL"
    assert task["TimeoutSeconds"] == 180 * 60
    assert definition["TimeoutSeconds"] > task["TimeoutSeconds"]


def test_job_name_is_valid_for_any_execution_name(definition: dict[str, Any]) -> None:
    expression = definition["States"]["UseDefaultInput"]["Parameters"]["job_name.$"]
    assert expression == (
        "States.Format('mlbatch-prod-churn-{}', States.Hash($$.Execution.Name, 'MD5'))"
    )
    # What Step Functions computes, for the longest and strangest execution names allowed.
    for execution_name in ("a" * 80, "backfill_2024-01-01!", "9f1c1e1e-uuid-like-name"):
        job = f"mlbatch-prod-churn-{hashlib.md5(execution_name.encode()).hexdigest()}"
        assert len(job) <= 63
        assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", job)
    assert MAX_JOB_PREFIX_LENGTH + 1 + 32 == 63


def test_each_run_writes_under_its_own_run_id(definition: dict[str, Any]) -> None:
    params = definition["States"]["RunTransformJob"]["Parameters"]
    assert params["TransformOutput"]["S3OutputPath.$"] == (
        "States.Format('s3://OUT/churn/{}/', $.run.run_id)"
    )
    assert definition["States"]["UseDefaultInput"]["Parameters"]["run_id.$"] == "$$.Execution.Name"


def test_input_prefix_from_execution_input_with_config_default(definition: dict[str, Any]) -> None:
    states = definition["States"]
    choice = states["CheckRunInput"]["Choices"][0]["And"]
    assert {"Variable": "$.input_prefix", "StringMatches": "churn/*"} in choice
    assert states["UseRequestedInput"]["Parameters"]["input_prefix.$"] == "$.input_prefix"
    assert states["UseDefaultInput"]["Parameters"]["input_prefix"] == "churn/"
    assert states["RejectRunInput"]["Type"] == "Fail"
    uri = states["RunTransformJob"]["Parameters"]["TransformInput"]["DataSource"]["S3DataSource"]
    assert uri["S3Uri.$"] == "States.Format('s3://IN/{}', $.run.input_prefix)"


def test_retry_only_transient_errors_never_task_failed(definition: dict[str, Any]) -> None:
    [retry] = definition["States"]["RunTransformJob"]["Retry"]
    assert retry["ErrorEquals"] == TRANSIENT_SAGEMAKER_ERRORS
    assert "States.TaskFailed" not in retry["ErrorEquals"]
    assert "States.ALL" not in retry["ErrorEquals"]
    assert retry["BackoffRate"] > 1 and retry["MaxAttempts"] <= 3


def test_failures_notify_then_fail(definition: dict[str, Any]) -> None:
    states = definition["States"]
    [catch] = states["RunTransformJob"]["Catch"]
    assert catch == {
        "ErrorEquals": ["States.ALL"],
        "ResultPath": "$.error",
        "Next": "DescribeFailure",
    }
    notify = states["NotifyFailure"]
    assert notify["Resource"] == "arn:aws:states:::sns:publish"
    assert notify["Parameters"]["TopicArn"] == "TOPIC"
    assert notify["Next"] == "RunFailed"
    assert notify["Catch"][0]["Next"] == "RunFailed"  # a lost alert still fails the run
    message = states["DescribeFailure"]["Parameters"]
    assert {"pipeline", "execution.$", "error.$", "cause.$", "transform_job.$"} <= set(message)
    assert states["RunFailed"] == {
        "Type": "Fail",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }


def test_default_transform_settings(definition: dict[str, Any]) -> None:
    params = definition["States"]["RunTransformJob"]["Parameters"]
    assert params["TransformResources"] == {
        "InstanceType": "ml.m5.xlarge",
        "InstanceCount": 2,
        "VolumeKmsKeyId": "KEY",
    }
    assert params["TransformOutput"]["KmsKeyId"] == "KEY"
    assert "DataProcessing" not in params and "Environment" not in params
    assert "MaxConcurrentTransforms" not in params  # 0 = let SageMaker choose


def test_every_transform_knob_reaches_the_job(full_config: ProjectConfig) -> None:
    params = build_definition(_pipeline(full_config, "stage", "scores"), TARGETS)["States"][
        "RunTransformJob"
    ]["Parameters"]
    assert params["BatchStrategy"] == "SingleRecord"
    assert params["MaxPayloadInMB"] == 20
    assert params["MaxConcurrentTransforms"] == 4
    assert params["Environment"] == {"LOG_LEVEL": "info"}
    assert params["DataProcessing"] == {
        "InputFilter": "$.features",
        "OutputFilter": "$.prediction",
        "JoinSource": "Input",
    }
    assert params["ModelClientConfig"] == {
        "InvocationsTimeoutInSeconds": 1200,
        "InvocationsMaxRetries": 3,
    }
    assert params["TransformInput"]["SplitType"] == "RecordIO"
    assert params["TransformInput"]["CompressionType"] == "Gzip"
    assert params["TransformInput"]["ContentType"] == "application/x-recordio-protobuf"
    assert params["TransformOutput"]["Accept"] == "application/jsonlines"
    assert params["TransformOutput"]["AssembleWith"] == "None"
    assert params["TransformResources"]["InstanceCount"] == 3
    assert params["TransformOutput"]["S3OutputPath.$"].startswith(
        "States.Format('s3://OUT/predictions/scores/{}/'"
    )
