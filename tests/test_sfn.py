"""Step Functions layer: state machine, role and logs, synthesized on their own."""

from __future__ import annotations

import json
from typing import Any

import pytest

from imports.core import Testing
from modules.config import ProjectConfig
from modules.naming import Names
from modules.sagemaker import SagemakerOutputs
from modules.sfn import StateMachineLayer
from modules.workflow.state_names import CHECK_TRIGGER, NOTIFY_FAILURE, RUN_TRANSFORM_JOB
from tests.support.helpers import (
    TEST_AWS,
    actions,
    fake_storage_outputs,
    layer_stack,
    policy_of,
    resources,
    role_policy,
    statement,
)
from tests.support.iam_evaluation import ALLOW, Request, decision

EXECUTION_ROLE = "arn:aws:iam::111122223333:role/mlbatch-prod-churn-sagemaker"
TOPIC = "arn:aws:sns:eu-west-1:111122223333:mlbatch-prod-alerts"
ALERT_KEY = "arn:aws:kms:eu-west-1:111122223333:key/alert-key"


def _synth(
    config: ProjectConfig, env_name: str, pipeline: str, model: str | None = "mlbatch-prod-churn"
) -> str:
    stack = layer_stack()
    env = config.environments[env_name]
    StateMachineLayer(
        stack,
        "sfn",
        environment=env.name,
        log_retention_days=env.log_retention_days,
        pipeline=next(p for p in env.pipelines if p.name == pipeline),
        names=Names(config.project, env_name),
        aws=TEST_AWS,
        storage=fake_storage_outputs(),
        sagemaker=SagemakerOutputs(model_name=model, execution_role_arn=EXECUTION_ROLE),
        alert_topic_arn=TOPIC,
        alert_key_arn=ALERT_KEY,
    )
    return Testing.synth(stack)


@pytest.fixture(scope="module")
def synthesized(default_config: ProjectConfig) -> str:
    return _synth(default_config, "prod", "churn")


@pytest.fixture(scope="module")
def policy(synthesized: str) -> dict[str, Any]:
    return role_policy(synthesized)


def test_standard_state_machine_with_logging_and_tracing(synthesized: str) -> None:
    assert Testing.to_have_resource_with_properties(
        synthesized,
        "aws_sfn_state_machine",
        {
            "name": "mlbatch-prod-churn",
            "type": "STANDARD",
            "tracing_configuration": {"enabled": True},
            "logging_configuration": {"include_execution_data": True, "level": "ALL"},
        },
    )
    [machine] = resources(synthesized, "aws_sfn_state_machine").values()
    assert machine["logging_configuration"]["log_destination"].endswith(".arn}:*")


def test_encrypted_vended_log_group_with_retention(synthesized: str) -> None:
    assert Testing.to_have_resource_with_properties(
        synthesized,
        "aws_cloudwatch_log_group",
        {
            "name": "/aws/vendedlogs/states/mlbatch-prod-churn",
            "retention_in_days": 365,
            "kms_key_id": "arn:aws:kms:eu-west-1:111122223333:key/test-key",
        },
    )


def test_definition_is_json_text_with_references_only_in_strings(synthesized: str) -> None:
    [machine] = resources(synthesized, "aws_sfn_state_machine").values()
    definition = json.loads(machine["definition"])  # plain JSON document, not an HCL expression
    assert definition["StartAt"] == CHECK_TRIGGER  # prod churn also starts from marker objects
    assert not machine["definition"].startswith("${")
    params = definition["States"][RUN_TRANSFORM_JOB]["Parameters"]
    assert params["ModelName"] == "mlbatch-prod-churn"
    assert definition["States"][NOTIFY_FAILURE]["Parameters"]["TopicArn"] == TOPIC


def test_trust_is_step_functions_for_this_state_machine(synthesized: str) -> None:
    [role] = resources(synthesized, "aws_iam_role").values()
    [stmt] = policy_of(role, "assume_role_policy")["Statement"]
    assert stmt["Principal"] == {"Service": "states.amazonaws.com"}
    assert stmt["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "111122223333"},
        "ArnLike": {
            "aws:SourceArn": "arn:aws:states:eu-west-1:111122223333:stateMachine:mlbatch-prod-churn"
        },
    }


def test_role_has_exactly_what_sync_transform_needs(policy: dict[str, Any]) -> None:
    jobs = "arn:aws:sagemaker:eu-west-1:111122223333:transform-job/mlbatch-prod-churn-*"
    run = statement(policy, "RunThisPipelinesTransformJobs")
    assert actions(run) == {
        "sagemaker:CreateTransformJob",
        "sagemaker:DescribeTransformJob",
        "sagemaker:StopTransformJob",
    }
    assert run["Resource"] == jobs
    tags = statement(policy, "TagWhatThisPipelineCreates")
    assert actions(tags) == {"sagemaker:AddTags", "sagemaker:ListTags"} and tags["Resource"] == jobs
    pass_role = statement(policy, "PassExecutionRoleToSageMakerOnly")
    assert pass_role["Resource"] == EXECUTION_ROLE
    assert pass_role["Condition"] == {
        "StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}
    }
    events = statement(policy, "ManageSyncCompletionRule")
    assert actions(events) == {"events:PutTargets", "events:PutRule", "events:DescribeRule"}
    assert events["Resource"] == (
        "arn:aws:events:eu-west-1:111122223333:rule/StepFunctionsGetEventsForSageMakerTransformJobsRule"
    )
    assert statement(policy, "PublishAlerts")["Resource"] == TOPIC
    assert actions(statement(policy, "UseEnvironmentKey")) >= {"kms:Decrypt", "kms:GenerateDataKey"}
    # The topic is encrypted with the alert key: publishing needs it.
    alert_key = statement(policy, "PublishToTheEncryptedAlertTopic")
    assert (alert_key["Resource"], actions(alert_key)) == (
        ALERT_KEY,
        {"kms:Decrypt", "kms:GenerateDataKey"},
    )


def _role_policy(
    config: ProjectConfig, env_name: str, pipeline: str, model: str | None
) -> dict[str, Any]:
    return role_policy(_synth(config, env_name, pipeline, model))


def test_feature_permissions_are_scoped(policy: dict[str, Any]) -> None:
    overlap = statement(policy, "SeeRunningExecutionsOfThisStateMachine")
    assert actions(overlap) == {"states:ListExecutions"}
    assert overlap["Resource"] == (
        "arn:aws:states:eu-west-1:111122223333:stateMachine:mlbatch-prod-churn"
    )
    listing = statement(policy, "CheckForInput")
    assert listing["Resource"] == "arn:aws:s3:::test-input"
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["churn/*"]}}
    manifest = statement(policy, "WriteRunManifest")
    assert actions(manifest) == {"s3:PutObject"}
    assert manifest["Resource"] == "arn:aws:s3:::test-output/churn/*/_manifest.json"


def test_registry_permissions_cover_per_run_models_only(full_config: ProjectConfig) -> None:
    policy = _role_policy(full_config, "stage", "latest", None)
    models = "arn:aws:sagemaker:eu-west-1:111122223333:model/full-stage-latest-*"
    per_run = statement(policy, "CreateAndDeletePerRunModels")
    assert actions(per_run) == {
        "sagemaker:CreateModel",
        "sagemaker:DeleteModel",
        "sagemaker:DescribeModel",
    }
    assert per_run["Resource"] == models
    assert statement(policy, "ReadPackagesOfThisGroup")["Resource"] == (
        "arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud-models/*"
    )
    assert statement(policy, "FindApprovedPackages")["Resource"] == "*"
    assert models in statement(policy, "TagWhatThisPipelineCreates")["Resource"]
    # features switched off in this pipeline grant nothing
    sids = {s["Sid"] for s in policy["Statement"]}
    assert not {"CheckForInput", "WriteRunManifest"} & sids


def test_the_role_may_start_the_job_on_every_instance_type(full_config: ProjectConfig) -> None:
    # A fallback type the role could not start a job on would fail the run with AccessDenied
    # exactly when SageMaker has no capacity for the first: every type is evaluated, with the
    # condition key SageMaker authorizes CreateTransformJob with.
    policy = _role_policy(full_config, "stage", "scores", "model")
    names = Names(full_config.project, "stage").of_pipeline("scores")
    job = TEST_AWS.arn("sagemaker", f"transform-job/{names.run_prefix}{'0' * 32}")
    types = next(
        p for p in full_config.environments["stage"].pipelines if p.name == "scores"
    ).transform.instance_types
    assert len(types) > 1
    for instance_type in types:
        request = Request(
            "sagemaker:CreateTransformJob", job, {"sagemaker:InstanceTypes": instance_type}
        )
        assert decision(policy, request) == ALLOW, instance_type


def test_overlap_allowed_grants_no_listing(full_config: ProjectConfig) -> None:
    policy = _role_policy(full_config, "stage", "scores", "model")
    assert "SeeRunningExecutionsOfThisStateMachine" not in {s["Sid"] for s in policy["Statement"]}
