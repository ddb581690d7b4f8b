"""SageMaker layer: execution role and model, synthesized on their own."""

from __future__ import annotations

import pytest

from imports.core import Testing
from modules.config import ProjectConfig
from modules.naming import Names
from modules.sagemaker import SagemakerModelLayer
from modules.shard_layout import MANIFESTS_FOLDER, shards_prefix
from tests.support.helpers import (
    TEST_AWS,
    actions,
    all_actions,
    fake_storage_outputs,
    layer_stack,
    policy_of,
    resources,
    role_policy,
    statement,
)


def _synth(config: ProjectConfig, env: str, pipeline: str) -> str:
    stack = layer_stack()
    environment = config.environments[env]
    SagemakerModelLayer(
        stack,
        "sagemaker",
        pipeline=next(p for p in environment.pipelines if p.name == pipeline),
        names=Names(config.project, env),
        aws=TEST_AWS,
        storage=fake_storage_outputs(),
    )
    return Testing.synth(stack)


@pytest.fixture(scope="module")
def churn(default_config: ProjectConfig) -> str:
    return _synth(default_config, "prod", "churn")


@pytest.fixture(scope="module")
def vpc(full_config: ProjectConfig) -> str:
    return _synth(full_config, "stage", "scores")


@pytest.fixture(scope="module")
def registry(full_config: ProjectConfig) -> str:
    return _synth(full_config, "stage", "registry")


def test_model_from_image_and_artifact(churn: str) -> None:
    assert Testing.to_have_resource_with_properties(
        churn,
        "aws_sagemaker_model",
        {
            "name": "mlbatch-prod-churn",
            "enable_network_isolation": True,
            "primary_container": {
                "image": "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                "model_data_url": "s3://test-models/churn/model.tar.gz",
            },
        },
    )


def test_model_from_registry_package(registry: str) -> None:
    assert Testing.to_have_resource_with_properties(
        registry,
        "aws_sagemaker_model",
        {
            "primary_container": {
                "model_package_name": (
                    "arn:aws:sagemaker:us-east-1:444455556666:model-package/fraud-models/7"
                )
            }
        },
    )
    # The package's image is pulled with the execution role: from the listed repository only,
    # and the package's artifacts are read under <models bucket>/<pipeline>/.
    policy = role_policy(registry)
    pull = next(s for s in policy["Statement"] if s["Sid"] == "PullInferenceImage")
    assert pull["Resource"] == "arn:aws:ecr:us-east-1:444455556666:repository/team/fraud"
    read = next(s for s in policy["Statement"] if s["Sid"] == "ReadModelArtifact")
    assert read["Resource"].endswith("/registry/*")


def test_vpc_and_container_environment(vpc: str) -> None:
    assert Testing.to_have_resource_with_properties(
        vpc,
        "aws_sagemaker_model",
        {
            "enable_network_isolation": True,
            "vpc_config": {
                "subnets": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
                "security_group_ids": ["sg-0123456789abcdef0"],
            },
            "primary_container": {"environment": {"SAGEMAKER_PROGRAM": "inference.py"}},
        },
    )
    assert "ec2:CreateNetworkInterface" in all_actions(role_policy(vpc))


def test_trust_is_sagemaker_for_this_account_only(churn: str) -> None:
    [role] = resources(churn, "aws_iam_role").values()
    trust = policy_of(role, "assume_role_policy")
    [stmt] = trust["Statement"]
    assert stmt["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    assert stmt["Condition"] == {"StringEquals": {"aws:SourceAccount": "111122223333"}}


def test_execution_role_is_scoped_to_the_pipelines_data(churn: str) -> None:
    policy = role_policy(churn)
    assert statement(policy, "ReadModelArtifact")["Resource"] == (
        "arn:aws:s3:::test-models/churn/model.tar.gz"
    )
    assert statement(policy, "ReadInput")["Resource"] == "arn:aws:s3:::test-input/churn/*"
    assert statement(policy, "ListInputPrefix")["Condition"] == {
        "StringLike": {"s3:prefix": ["churn/*"]}
    }
    write = statement(policy, "WriteOutput")
    assert write["Resource"] == "arn:aws:s3:::test-output/churn/*"
    assert actions(write) == {"s3:PutObject", "s3:AbortMultipartUpload"}
    assert "kms:Decrypt" in actions(statement(policy, "UseEnvironmentKey"))
    assert statement(policy, "PullInferenceImage")["Resource"] == (
        "arn:aws:ecr:eu-west-1:141502667606:repository/sagemaker-xgboost"
    )


def test_a_sharded_pipelines_jobs_may_read_their_shards_manifests_only(
    full_config: ProjectConfig, churn: str
) -> None:
    pipeline = next(p for p in full_config.environments["stage"].pipelines if p.transform.shards)
    policy = role_policy(_synth(full_config, "stage", pipeline.name))
    read = statement(policy, "ReadShardManifests")
    folder = shards_prefix(pipeline.run_output_prefix)
    # A job reads its manifest file; the input files it lists are under the input prefix.
    assert read["Resource"] == f"arn:aws:s3:::test-output/{folder}*/{MANIFESTS_FOLDER}*"
    assert actions(read) == {"s3:GetObject"}
    assert "ReadShardManifests" not in {s.get("Sid") for s in role_policy(churn)["Statement"]}
