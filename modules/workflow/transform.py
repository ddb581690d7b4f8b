"""The transform step: the transform job (``.sync``) with the pipeline's settings, a job name new
on every attempt, and retries of transient SageMaker errors (the Retry of the call itself, and the
CheckSageMakerError loop for the generic error whose cause is transient), with the fallback
instance types' states when configured (modules/workflow/capacity.py); and what it needs in IAM
(its jobs, passing the execution role to SageMaker only, the managed completion rule).

Needs the pipeline's transform and model config and the targets (buckets, key, model or per-run
model, run-name format); with ``delivery``, the job is tagged with the model's identity
(modules/workflow/model_identity.py).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from modules.config import PipelineConfig
from modules.iam import Statement, allow
from modules.workflow import capacity
from modules.workflow import state_names as sn
from modules.workflow.asl import catch_to, escape_intrinsic, integration, run_tags
from modules.workflow.chain import States, Step
from modules.workflow.model_identity import identity_tags
from modules.workflow.targets import WorkflowTargets

# Errors of the CreateTransformJob call itself that a later attempt can get past (quota held by
# other jobs, throttling). They happen before a job runs, so a retry costs nothing. A job that ran
# and failed surfaces as States.TaskFailed and is never retried: a broken model or bad input would
# just fail again.
TRANSIENT_SAGEMAKER_ERRORS = [
    "SageMaker.ResourceLimitExceededException",
    "SageMaker.ThrottlingException",
]
# SageMaker.AmazonSageMakerException wraps every other SageMaker error, ValidationException (bad
# parameters: never transient) included; only its causes that name a transient error are retried,
# by the CheckSageMakerError loop.
GENERIC_SAGEMAKER_ERROR = "SageMaker.AmazonSageMakerException"
TRANSIENT_SAGEMAKER_CAUSES = [
    "*ThrottlingException*",
    "*Rate exceeded*",
    "*InternalFailure*",
    "*ServiceUnavailable*",
]
MAX_TRANSIENT_RETRIES = 3
TRANSIENT_RETRY_WAIT_SECONDS = 60
# The managed rule through which Step Functions learns that a transform job finished.
SYNC_EVENTS_RULE = "rule/StepFunctionsGetEventsForSageMakerTransformJobsRule"


def _job_input_output(pipeline: PipelineConfig, t: WorkflowTargets) -> dict[str, Any]:
    """Where the job reads (the run's input prefix) and writes (under the run's id), and how."""
    transform = pipeline.transform
    output_prefix = escape_intrinsic(pipeline.run_output_prefix)
    return {
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri.$": f"States.Format('s3://{t.input_bucket}/{{}}', $.run.input_prefix)",
                }
            },
            "ContentType": transform.content_type,
            "SplitType": transform.split_type,
            "CompressionType": transform.compression_type,
        },
        "TransformOutput": {
            "S3OutputPath.$": (
                f"States.Format('s3://{t.output_bucket}/{output_prefix}{{}}/', $.run.run_id)"
            ),
            "Accept": transform.accept,
            "AssembleWith": transform.assemble_with,
            "KmsKeyId": t.kms_key_arn,
        },
    }


def _data_processing(pipeline: PipelineConfig) -> dict[str, str]:
    """The configured input/output filters and join, without the ones left at their default."""
    processing = pipeline.transform.data_processing
    return {
        key: value
        for key, value in (
            ("InputFilter", processing.input_filter),
            ("OutputFilter", processing.output_filter),
            ("JoinSource", processing.join_source if processing.join_source != "None" else None),
        )
        if value is not None
    }


def transform_parameters(pipeline: PipelineConfig, t: WorkflowTargets) -> dict[str, Any]:
    """CreateTransformJob's parameters for a run of this pipeline."""
    transform = pipeline.transform
    model = (
        {"ModelName.$": "$.run.job_name"}
        if pipeline.model.resolved_per_run
        else {"ModelName": t.model_name}
    )
    params: dict[str, Any] = {
        # A new name for every attempt: a Retry after CreateTransformJob succeeded (RetryCount),
        # and every new entry into the state, by the CheckSageMakerError loop (EnteredTime),
        # never reuse one ("already exists").
        "TransformJobName.$": (
            f"States.Format('{t.names.run_name_format}', States.Hash("
            "States.Format('{}/{}/{}', $$.Execution.Name, $$.State.EnteredTime, "
            "$$.State.RetryCount), 'MD5'))"
        ),
        **model,
        "BatchStrategy": transform.batch_strategy,
        "MaxPayloadInMB": transform.max_payload_mb,
        "ModelClientConfig": {
            "InvocationsTimeoutInSeconds": transform.model_client.invocations_timeout_seconds,
            "InvocationsMaxRetries": transform.model_client.invocations_max_retries,
        },
        **_job_input_output(pipeline, t),
        "TransformResources": {
            **capacity.instance_type(pipeline),
            "InstanceCount": transform.instance_count,
        },
        # With delivery, which model made the run's output is on its job too.
        "Tags": run_tags(pipeline, t) + (identity_tags(pipeline) if pipeline.delivery else []),
    }
    if not transform.has_instance_storage:
        # Local NVMe volumes are encrypted by the hardware; SageMaker refuses a key for them.
        params["TransformResources"]["VolumeKmsKeyId"] = t.kms_key_arn
    if transform.max_concurrent_transforms:
        params["MaxConcurrentTransforms"] = transform.max_concurrent_transforms
    if transform.environment:
        params["Environment"] = dict(transform.environment)
    data_processing = _data_processing(pipeline)
    if data_processing:
        params["DataProcessing"] = data_processing
    return params


def job_state(
    pipeline: PipelineConfig,
    t: WorkflowTargets,
    parameters: dict[str, Any],
    nxt: str,
    *,
    prefix: str = "",
    on_failure: str = sn.DESCRIBE_FAILURE,
) -> dict[str, Any]:
    """A transform job's state: ``.sync``, its transient errors retried, any other failure to
    the capacity check (with fallback types) or ``on_failure``. ``prefix``: the names of its
    retry and capacity states (a shard's job has its own)."""
    return {
        "Type": "Task",
        "Resource": integration(t, "sagemaker:createTransformJob.sync"),
        "Parameters": parameters,
        "ResultSelector": {
            "job_name.$": "$.TransformJobName",
            "job_arn.$": "$.TransformJobArn",
            "status.$": "$.TransformJobStatus",
            "output_path.$": "$.TransformOutput.S3OutputPath",
        },
        "ResultPath": "$.transform",
        "TimeoutSeconds": pipeline.transform.timeout_minutes * 60,
        "Retry": [
            {
                "ErrorEquals": TRANSIENT_SAGEMAKER_ERRORS,
                "IntervalSeconds": 30,
                "MaxAttempts": 3,
                "BackoffRate": 2.0,
                "MaxDelaySeconds": 300,
                "JitterStrategy": "FULL",
            }
        ],
        "Catch": [
            {
                "ErrorEquals": [GENERIC_SAGEMAKER_ERROR],
                "ResultPath": "$.error",
                "Next": prefix + sn.CHECK_SAGEMAKER_ERROR,
            },
            *catch_to(capacity.failure_target(pipeline, on_failure, prefix)),
        ],
        "Next": nxt,
    }


def transient_retry_states(
    prefix: str = "", reenter: str = sn.RUN_TRANSFORM_JOB, on_failure: str = sn.DESCRIBE_FAILURE
) -> States:
    """The loop that enters the job's state (or ``reenter``, which names a new job) again after
    a generic error with a transient cause; other causes go to ``on_failure``."""
    causes = [
        {"Variable": "$.error.Cause", "StringMatches": pattern}
        for pattern in TRANSIENT_SAGEMAKER_CAUSES
    ]
    attempts_left = {"Variable": "$.run.attempt", "NumericLessThan": MAX_TRANSIENT_RETRIES}
    return {
        prefix + sn.CHECK_SAGEMAKER_ERROR: {
            "Type": "Choice",
            "Comment": "Retry the generic SageMaker error only when its cause is transient.",
            "Choices": [
                {"And": [{"Or": causes}, attempts_left], "Next": prefix + sn.WAIT_BEFORE_RETRY}
            ],
            "Default": on_failure,
        },
        prefix + sn.WAIT_BEFORE_RETRY: {
            "Type": "Wait",
            "Seconds": TRANSIENT_RETRY_WAIT_SECONDS,
            "Next": prefix + sn.COUNT_ATTEMPT,
        },
        prefix + sn.COUNT_ATTEMPT: {
            "Type": "Pass",
            "Parameters": {"attempt.$": "States.MathAdd($.run.attempt, 1)"},
            "ResultPath": "$.retry",
            "Next": prefix + sn.NEXT_ATTEMPT,
        },
        prefix + sn.NEXT_ATTEMPT: {
            "Type": "Pass",
            "InputPath": "$.retry.attempt",
            "ResultPath": "$.run.attempt",
            "Next": reenter,
        },
    }


def _transform_states(pipeline: PipelineConfig, t: WorkflowTargets, nxt: str) -> States:
    return {
        **capacity.capacity_states(pipeline, sn.RUN_TRANSFORM_JOB, sn.DESCRIBE_FAILURE),
        sn.RUN_TRANSFORM_JOB: job_state(pipeline, t, transform_parameters(pipeline, t), nxt),
        **transient_retry_states(),
    }


def transform_jobs_arn(t: WorkflowTargets) -> str:
    """Every transform job of this pipeline's runs (a shard's job name starts the same way)."""
    return t.aws.arn("sagemaker", f"transform-job/{t.names.run_pattern}")


def transform_job_statements(t: WorkflowTargets) -> tuple[Statement, ...]:
    """What starting, watching and stopping this pipeline's transform jobs (``.sync``) needs."""
    return (
        allow(
            "RunThisPipelinesTransformJobs",
            [
                "sagemaker:CreateTransformJob",
                "sagemaker:DescribeTransformJob",
                "sagemaker:StopTransformJob",
            ],
            transform_jobs_arn(t),
        ),
        allow(
            "PassExecutionRoleToSageMakerOnly",
            ["iam:PassRole"],
            t.execution_role_arn,
            Condition={
                "StringEquals": {"iam:PassedToService": t.aws.service_principal("sagemaker")}
            },
        ),
        allow(
            "ManageSyncCompletionRule",
            ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
            t.aws.arn("events", SYNC_EVENTS_RULE),
        ),
    )


def transform(pipeline: PipelineConfig, t: WorkflowTargets) -> Step:
    """The transform job (``.sync``), with retries of transient SageMaker errors."""
    return Step(
        capacity.start_state(pipeline, sn.RUN_TRANSFORM_JOB),
        partial(_transform_states, pipeline, t),
        transform_job_statements(t),
        (transform_jobs_arn(t),),
    )
