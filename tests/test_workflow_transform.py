"""The state machine definition as data, the transform job it starts: the default settings, every
transform knob of the config reaching the job, no volume key on instance-storage types, and the
latest approved model of a registry resolved, created for the run, used and deleted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modules.config import ProjectConfig
from modules.workflow import build_definition
from modules.workflow.state_names import (
    BUILD_MANIFEST,
    CHECK_APPROVED_MODEL,
    CHECK_OUTPUTS_COMPLETE,
    CREATE_RUN_MODEL,
    DELETE_RUN_MODEL,
    DELETE_RUN_MODEL_AFTER_FAILURE,
    DESCRIBE_FAILURE,
    FIND_APPROVED_MODEL,
    FIND_APPROVED_MODEL_NEXT_PAGE,
    NO_APPROVED_MODEL,
    NOTIFY_FAILURE,
    RUN_TRANSFORM_JOB,
    START_COUNTING,
)
from tests.support.workflow import TARGETS, pipeline_of, states_of


@pytest.fixture(scope="module")
def definition(default_config: ProjectConfig) -> dict[str, Any]:
    """dev's churn: defaults for every switch (no trigger, no notifications)."""
    return build_definition(pipeline_of(default_config, "dev", "churn"), TARGETS)


def test_default_transform_settings(definition: dict[str, Any]) -> None:
    params = definition["States"][RUN_TRANSFORM_JOB]["Parameters"]
    assert params["TransformResources"] == {
        "InstanceType": "ml.m5.large",
        "InstanceCount": 1,
        "VolumeKmsKeyId": "KEY",
    }
    assert params["TransformOutput"]["KmsKeyId"] == "KEY"
    assert "DataProcessing" not in params and "Environment" not in params
    assert "MaxConcurrentTransforms" not in params  # 0 = let SageMaker choose


def test_every_transform_knob_reaches_the_job(full_config: ProjectConfig) -> None:
    params = build_definition(pipeline_of(full_config, "stage", "scores"), TARGETS)["States"][
        RUN_TRANSFORM_JOB
    ]["Parameters"]
    assert params["BatchStrategy"] == "SingleRecord"
    assert params["MaxPayloadInMB"] == 20
    assert params["MaxConcurrentTransforms"] == 5
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
    assert params["TransformInput"]["SplitType"] == "Line"
    assert params["TransformInput"]["CompressionType"] == "Gzip"
    assert params["TransformInput"]["ContentType"] == "application/jsonlines"
    assert params["TransformOutput"]["Accept"] == "application/jsonlines"
    assert params["TransformOutput"]["AssembleWith"] == "None"
    assert params["TransformResources"]["InstanceCount"] == 3
    assert params["TransformOutput"]["S3OutputPath.$"].startswith(
        "States.Format('s3://OUT/predictions/scores/{}/'"
    )


def test_instance_storage_types_get_no_volume_key(make_config: Any) -> None:
    def gpu(raw: dict[str, Any]) -> None:
        raw["pipelines"][0]["transform"]["instance_type"] = "ml.g5.xlarge"

    config = make_config(gpu)
    resources = build_definition(pipeline_of(config, "prod", "churn"), TARGETS)["States"][
        RUN_TRANSFORM_JOB
    ]["Parameters"]["TransformResources"]
    assert resources == {"InstanceType": "ml.g5.xlarge", "InstanceCount": 2}


def test_latest_approved_model_is_resolved_created_used_and_deleted(
    full_config: ProjectConfig,
) -> None:
    states = states_of(full_config, "stage", "latest", model_name=None)
    pipeline = pipeline_of(full_config, "stage", "latest")
    find = states[FIND_APPROVED_MODEL]
    assert find["Resource"] == "arn:aws:states:::aws-sdk:sagemaker:listModelPackages"
    assert find["Parameters"] == {
        "ModelPackageGroupName": "fraud-models",
        "ModelApprovalStatus": "Approved",
        "SortBy": "CreationTime",
        "SortOrder": "Descending",
        "MaxResults": 100,  # botocore's maximum for ListModelPackages
    }
    assert states[FIND_APPROVED_MODEL_NEXT_PAGE]["Parameters"] == {
        **find["Parameters"],
        "NextToken.$": "$.model_package.next_token",
    }
    assert states[CHECK_APPROVED_MODEL]["Default"] == NO_APPROVED_MODEL
    assert states[NO_APPROVED_MODEL]["Next"] == DESCRIBE_FAILURE
    create = states[CREATE_RUN_MODEL]
    assert create["Parameters"]["ModelName.$"] == "$.run.job_name"
    assert create["Parameters"]["ExecutionRoleArn"] == "ROLE"
    assert create["Parameters"]["PrimaryContainer"] == {"ModelPackageName.$": "$.model_package.arn"}
    assert create["Parameters"]["VpcConfig"]["Subnets"] == ["subnet-0123456789abcdef0"]
    assert create["Next"] == RUN_TRANSFORM_JOB
    assert states[RUN_TRANSFORM_JOB]["Parameters"]["ModelName.$"] == "$.run.job_name"
    # cleaned up on success (after the delivery count, when on) and on failure
    assert states[RUN_TRANSFORM_JOB]["Next"] == (
        START_COUNTING if pipeline.delivery is not None else DELETE_RUN_MODEL
    )
    assert states[CHECK_OUTPUTS_COMPLETE]["Default"] == DELETE_RUN_MODEL
    assert states[DESCRIBE_FAILURE]["Next"] == DELETE_RUN_MODEL_AFTER_FAILURE
    assert states[DELETE_RUN_MODEL_AFTER_FAILURE]["Next"] == NOTIFY_FAILURE
    for name in (DELETE_RUN_MODEL, DELETE_RUN_MODEL_AFTER_FAILURE):
        assert states[name]["Resource"] == "arn:aws:states:::aws-sdk:sagemaker:deleteModel"
        assert states[name]["Catch"][0]["Next"] == states[name]["Next"]


def test_an_identity_value_sagemaker_refuses_as_a_tag_is_left_out_of_the_tags(
    make_config: Any,
) -> None:
    """An artifact key with characters a tag value may not hold (the config takes it): the job's
    tags leave it out (SageMaker would refuse the job, every run), the manifest still has it."""
    key = "churn/model(v2)!.tar.gz"

    def deliver(raw: dict[str, Any]) -> None:
        raw["pipelines"][0]["delivery"] = {}
        raw["pipelines"][0]["model"]["artifact_key"] = key

    states = states_of(make_config(deliver), "prod", "churn")
    tags = states[RUN_TRANSFORM_JOB]["Parameters"]["Tags"]
    assert [tag["Key"] for tag in tags] == ["pipeline", "environment", "model_image"]
    assert json.dumps(key) in states[BUILD_MANIFEST]["Output"]
