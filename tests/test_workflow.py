"""The state machine definition as data: flow, run identity, transform settings, failures."""

from __future__ import annotations

import fnmatch
import hashlib
import re
from typing import Any

import pytest

from modules.aws_context import AwsContext
from modules.config import PipelineConfig, ProjectConfig
from modules.naming import Names
from modules.workflow import (
    TRANSIENT_SAGEMAKER_ERRORS,
    WorkflowTargets,
    build_definition,
    build_workflow,
)
from modules.workflow.state_names import (
    BUILD_MANIFEST,
    CHECK_APPROVED_MODEL,
    CHECK_INPUT_PRESENT,
    CHECK_OVERLAP,
    CHECK_RUN_INPUT,
    CHECK_SAGEMAKER_ERROR,
    CHECK_SCHEDULED_RUN,
    CHECK_TRIGGER,
    COUNT_ATTEMPT,
    COUNT_EARLIER_RUNS,
    CREATE_RUN_MODEL,
    DELETE_RUN_MODEL,
    DELETE_RUN_MODEL_AFTER_FAILURE,
    DESCRIBE_FAILURE,
    FIND_APPROVED_MODEL,
    FIND_APPROVED_MODEL_NEXT_PAGE,
    INPUT_FROM_MARKER,
    INPUT_FROM_SCHEDULE,
    LIST_INPUT,
    LIST_RUNNING_EXECUTIONS,
    NEXT_ATTEMPT,
    NO_APPROVED_MODEL,
    NO_INPUT,
    NOTIFY_FAILURE,
    NOTIFY_NO_INPUT,
    NOTIFY_SKIPPED,
    NOTIFY_SUCCESS,
    RECORD_COMPLETED_TRANSFORM,
    REJECT_RUN_INPUT,
    RUN_FAILED,
    RUN_SKIPPED,
    RUN_SUCCEEDED,
    RUN_TRANSFORM_JOB,
    USE_DEFAULT_INPUT,
    USE_REQUESTED_INPUT,
    WAIT_BEFORE_RETRY,
    WRITE_MANIFEST,
)
from tests.support.helpers import TEST_AWS

TARGETS = WorkflowTargets(
    aws=TEST_AWS,
    environment="prod",
    names=Names("mlbatch", "prod").of_pipeline("churn"),
    model_name="MODEL",
    execution_role_arn="ROLE",
    input_bucket="IN",
    input_bucket_arn="IN_ARN",
    output_bucket="OUT",
    output_bucket_arn="OUT_ARN",
    state_machine_arn="STATE_MACHINE",
    kms_key_arn="KEY",
    alert_topic_arn="TOPIC",
)


def _pipeline(config: ProjectConfig, env: str, name: str) -> PipelineConfig:
    return next(p for p in config.environments[env].pipelines if p.name == name)


@pytest.fixture(scope="module")
def definition(default_config: ProjectConfig) -> dict[str, Any]:
    """dev's churn: defaults for every switch (no trigger, no notifications)."""
    return build_definition(_pipeline(default_config, "dev", "churn"), TARGETS)


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
    task = definition["States"][RUN_TRANSFORM_JOB]
    assert task["Resource"] == "arn:aws:states:::sagemaker:createTransformJob.sync"
    assert task["Parameters"]["ModelName"] == "MODEL"
    assert task["TimeoutSeconds"] == 180 * 60
    assert definition["TimeoutSeconds"] > task["TimeoutSeconds"]


def test_job_name_is_valid_for_any_execution_name(definition: dict[str, Any]) -> None:
    expression = definition["States"][RUN_TRANSFORM_JOB]["Parameters"]["TransformJobName.$"]
    assert expression == (
        "States.Format('mlbatch-prod-churn-{}', States.Hash(States.Format('{}/{}/{}', "
        "$$.Execution.Name, $$.State.EnteredTime, $$.State.RetryCount), 'MD5'))"
    )
    # What Step Functions computes, for the longest and strangest execution names allowed.
    for execution_name in ("a" * 80, "backfill_2024-01-01!", "9f1c1e1e-uuid-like-name"):
        seed = f"{execution_name}/2026-11-27T02:00:00.123Z/0"
        job = f"mlbatch-prod-churn-{hashlib.md5(seed.encode()).hexdigest()}"
        assert len(job) <= 63
        assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", job)


def test_retries_and_re_entries_get_a_new_job_name(definition: dict[str, Any]) -> None:
    # A deterministic name per execution collides ("already exists") when CreateTransformJob is
    # retried after it succeeded, or the state is entered again: every attempt names a new job.
    expression = definition["States"][RUN_TRANSFORM_JOB]["Parameters"]["TransformJobName.$"]
    # A Retry keeps the state entered and counts RetryCount; the CheckSageMakerError loop enters
    # the state again, at a later EnteredTime.
    for part in ("$$.State.EnteredTime", "$$.State.RetryCount"):
        assert part in expression
    entered = ["2026-11-27T02:00:00.123Z", "2026-11-27T02:01:00.456Z", "2026-11-28T09:00:00.000Z"]
    names = {
        hashlib.md5(f"run-1/{when}/{retry}".encode()).hexdigest()
        for when in entered
        for retry in range(4)
    }
    assert len(names) == 3 * 4
    assert definition["States"][USE_DEFAULT_INPUT]["Parameters"]["attempt"] == 0


def test_each_run_writes_under_its_own_run_id(definition: dict[str, Any]) -> None:
    params = definition["States"][RUN_TRANSFORM_JOB]["Parameters"]
    assert params["TransformOutput"]["S3OutputPath.$"] == (
        "States.Format('s3://OUT/churn/{}/', $.run.run_id)"
    )
    assert definition["States"][USE_DEFAULT_INPUT]["Parameters"]["run_id.$"] == "$$.Execution.Name"


def test_input_prefix_from_execution_input_with_config_default(definition: dict[str, Any]) -> None:
    states = definition["States"]
    choice = states[CHECK_RUN_INPUT]["Choices"][0]["And"]
    assert {"Variable": "$.input_prefix", "StringMatches": "churn/*"} in choice
    assert states[USE_REQUESTED_INPUT]["Parameters"]["input_prefix.$"] == "$.input_prefix"
    assert states[USE_DEFAULT_INPUT]["Parameters"]["input_prefix"] == "churn/"
    assert states[REJECT_RUN_INPUT]["Type"] == "Fail"
    uri = states[RUN_TRANSFORM_JOB]["Parameters"]["TransformInput"]["DataSource"]["S3DataSource"]
    assert uri["S3Uri.$"] == "States.Format('s3://IN/{}', $.run.input_prefix)"


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
    states = _states(default_config, "dev", "churn", aws=gov)
    assert states[DESCRIBE_FAILURE]["Parameters"]["console.$"].startswith(
        "States.Format('https://console.amazonaws-us-gov.com/states/home?region=us-gov-west-1"
    )
    assert states[RUN_FAILED] == {
        "Type": "Fail",
        "ErrorPath": "$.error.Error",
        "CausePath": "$.error.Cause",
    }


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
    params = build_definition(_pipeline(full_config, "stage", "scores"), TARGETS)["States"][
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


# --------------------------------------------------------------------------------------------
# Switchable features


def _all_pipelines(*configs: ProjectConfig) -> list[PipelineConfig]:
    return [p for c in configs for env in c.environments.values() for p in env.pipelines]


def test_every_variant_is_fully_connected(
    default_config: ProjectConfig, full_config: ProjectConfig
) -> None:
    for pipeline in _all_pipelines(default_config, full_config):
        test_every_transition_exists_and_every_state_is_reachable(
            build_definition(pipeline, TARGETS)
        )


def _states(config: ProjectConfig, env: str, name: str, **target: Any) -> dict[str, Any]:
    targets = TARGETS if not target else WorkflowTargets(**{**TARGETS.__dict__, **target})
    return build_definition(_pipeline(config, env, name), targets)["States"]


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
    assert LIST_RUNNING_EXECUTIONS not in _states(full_config, "stage", "scores")


def test_empty_input_ends_cleanly(definition: dict[str, Any], full_config: ProjectConfig) -> None:
    states = definition["States"]
    listing = states[LIST_INPUT]
    assert listing["Resource"] == "arn:aws:states:::aws-sdk:s3:listObjectsV2"
    assert listing["Parameters"] == {"Bucket": "IN", "Prefix.$": "$.run.input_prefix", "MaxKeys": 1}
    [rule] = states[CHECK_INPUT_PRESENT]["Choices"]
    assert rule["Variable"] == "$.input_check.objects" and rule["NumericEquals"] == 0
    assert rule["Next"] == NO_INPUT and states[NO_INPUT]["Result"]["status"] == "no-input"
    notified = _states(full_config, "stage", "scores")
    assert notified[CHECK_INPUT_PRESENT]["Choices"][0]["Next"] == NOTIFY_NO_INPUT
    assert notified[NOTIFY_NO_INPUT]["Next"] == NO_INPUT
    assert LIST_INPUT not in _states(full_config, "stage", "latest")


def test_event_trigger_reads_the_markers_folder(full_config: ProjectConfig) -> None:
    states = _states(full_config, "stage", "scores")
    assert states[CHECK_TRIGGER]["Choices"][0]["Next"] == INPUT_FROM_MARKER
    derive = states[INPUT_FROM_MARKER]
    assert derive["QueryLanguage"] == "JSONata"
    assert (
        "$substring($states.input.marker_key, 0, $length($states.input.marker_key) - 6)"
        in (derive["Output"])
    )  # len("_READY")
    assert derive["Next"] == CHECK_RUN_INPUT  # and then the usual prefix check


def test_latest_approved_model_is_resolved_created_used_and_deleted(
    full_config: ProjectConfig,
) -> None:
    states = _states(full_config, "stage", "latest", model_name=None)
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
    # cleaned up on success and on failure
    assert states[RUN_TRANSFORM_JOB]["Next"] == DELETE_RUN_MODEL
    assert states[DESCRIBE_FAILURE]["Next"] == DELETE_RUN_MODEL_AFTER_FAILURE
    assert states[DELETE_RUN_MODEL_AFTER_FAILURE]["Next"] == NOTIFY_FAILURE
    for name in (DELETE_RUN_MODEL, DELETE_RUN_MODEL_AFTER_FAILURE):
        assert states[name]["Resource"] == "arn:aws:states:::aws-sdk:sagemaker:deleteModel"
        assert states[name]["Catch"][0]["Next"] == states[name]["Next"]


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
    assert namespace == "BatchInference/mlbatch-prod-churn"
    # Its own failure does not change the run's result (the alarm then shows missing data).
    assert record["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.metric_error", "Next": BUILD_MANIFEST}
    ]
    pipeline = _pipeline(default_config, "dev", "churn")
    [statement] = [
        s
        for s in build_workflow(pipeline, TARGETS).statements
        if "cloudwatch:PutMetricData" in s["Action"]
    ]
    assert statement["Resource"] == "*"
    assert statement["Condition"] == {"StringEquals": {"cloudwatch:namespace": namespace}}


def test_registry_manifest_records_the_package_that_ran(default_config: ProjectConfig) -> None:
    states = _states(default_config, "prod", "ltv", model_name=None)
    assert "'model': $states.input.model_package.arn" in states[BUILD_MANIFEST]["Output"]


def test_success_notification_is_optional(
    definition: dict[str, Any], default_config: ProjectConfig
) -> None:
    assert NOTIFY_SUCCESS not in definition["States"]
    states = build_definition(_pipeline(default_config, "prod", "churn"), TARGETS)["States"]
    assert states[WRITE_MANIFEST]["Next"] == NOTIFY_SUCCESS
    assert "States.JsonToString($.manifest)" in states[NOTIFY_SUCCESS]["Parameters"]["Message.$"]
    assert states[NOTIFY_SUCCESS]["Next"] == RUN_SUCCEEDED


def test_instance_storage_types_get_no_volume_key(make_config: Any) -> None:
    def gpu(raw: dict[str, Any]) -> None:
        raw["pipelines"][0]["transform"]["instance_type"] = "ml.g5.xlarge"

    config = make_config(gpu)
    resources = build_definition(_pipeline(config, "prod", "churn"), TARGETS)["States"][
        RUN_TRANSFORM_JOB
    ]["Parameters"]["TransformResources"]
    assert resources == {"InstanceType": "ml.g5.xlarge", "InstanceCount": 2}


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
