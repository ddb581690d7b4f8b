"""The state machine definition of one pipeline, as plain Python data (Amazon States Language).

Flow (JSONPath):

    CheckRunInput ─┬─ input_prefix given and under the pipeline's prefix ─> UseRequestedInput ─┐
                   ├─ input_prefix given but elsewhere ─> RejectRunInput (Fail)               │
                   └─ no input_prefix ─> UseDefaultInput ──────────────────────────────────────┤
                                                                                               v
    RunTransformJob (createTransformJob.sync, Retry on transient SageMaker errors, timeout)
       ├─ success ─> RunSucceeded
       └─ Catch States.ALL ─> DescribeFailure ─> NotifyFailure (SNS) ─> RunFailed (Fail)

Run identity: the run id is the execution name (unique per state machine); the transform job is
named ``<project>-<env>-<pipeline>-<MD5 of the execution name>``, which is valid for SageMaker (63
characters, [a-zA-Z0-9-]) whatever execution name a caller chose, and outputs land under
``<output prefix><run id>/`` so runs never overwrite each other.

Values that are Terraform references (bucket names, ARNs) are passed in as strings and stay inside
string values of the JSON document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from modules.config import PipelineConfig

# Errors of the CreateTransformJob call itself (throttling, quota, service hiccups). They happen
# before a job runs, so a retry costs nothing. A job that ran and failed surfaces as
# States.TaskFailed and is never retried: a broken model or bad input would just fail again.
TRANSIENT_SAGEMAKER_ERRORS = [
    "SageMaker.AmazonSageMakerException",
    "SageMaker.ResourceLimitExceededException",
    "SageMaker.ThrottlingException",
]

# Time for Step Functions to stop the job and notify after the task's own timeout.
STATE_MACHINE_GRACE_SECONDS = 900


@dataclass(frozen=True)
class WorkflowTargets:
    """Where a run reads, writes and reports; values may be Terraform references."""

    partition: str
    region: str
    environment: str
    job_prefix: str
    model_name: str
    input_bucket: str
    output_bucket: str
    kms_key_arn: str
    alert_topic_arn: str


def _escape_intrinsic(text: str) -> str:
    """Escape a literal for use inside an intrinsic function's quoted string argument."""
    for char in ("\\", "'", "{", "}"):
        text = text.replace(char, "\\" + char)
    return text


def _transform_parameters(pipeline: PipelineConfig, t: WorkflowTargets) -> dict[str, Any]:
    transform = pipeline.transform
    output_prefix = _escape_intrinsic(pipeline.run_output_prefix)
    params: dict[str, Any] = {
        "TransformJobName.$": "$.run.job_name",
        "ModelName": t.model_name,
        "BatchStrategy": transform.batch_strategy,
        "MaxPayloadInMB": transform.max_payload_mb,
        "ModelClientConfig": {
            "InvocationsTimeoutInSeconds": transform.model_client.invocations_timeout_seconds,
            "InvocationsMaxRetries": transform.model_client.invocations_max_retries,
        },
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
        "TransformResources": {
            "InstanceType": transform.instance_type,
            "InstanceCount": transform.instance_count,
            "VolumeKmsKeyId": t.kms_key_arn,
        },
        "Tags": [
            {"Key": "pipeline", "Value": pipeline.name},
            {"Key": "environment", "Value": t.environment},
        ],
    }
    if transform.max_concurrent_transforms:
        params["MaxConcurrentTransforms"] = transform.max_concurrent_transforms
    if transform.environment:
        params["Environment"] = dict(transform.environment)
    processing = transform.data_processing
    data_processing = {
        key: value
        for key, value in (
            ("InputFilter", processing.input_filter),
            ("OutputFilter", processing.output_filter),
            ("JoinSource", processing.join_source if processing.join_source != "None" else None),
        )
        if value is not None
    }
    if data_processing:
        params["DataProcessing"] = data_processing
    return params


def _run_parameters(t: WorkflowTargets, input_prefix: dict[str, str]) -> dict[str, Any]:
    return {
        **input_prefix,
        "run_id.$": "$$.Execution.Name",
        "job_name.$": (
            f"States.Format('{t.job_prefix}-{{}}', States.Hash($$.Execution.Name, 'MD5'))"
        ),
        "started_at.$": "$$.Execution.StartTime",
    }


def build_definition(pipeline: PipelineConfig, t: WorkflowTargets) -> dict[str, Any]:
    timeout_seconds = pipeline.transform.timeout_minutes * 60
    default_prefix = pipeline.default_input_prefix
    console = (
        f"https://{t.region}.console.aws.amazon.com/states/home?region={t.region}"
        "#/v2/executions/details/{}"
    )
    return {
        "Comment": f"Scheduled batch inference: {t.job_prefix}",
        "StartAt": "CheckRunInput",
        "TimeoutSeconds": timeout_seconds + STATE_MACHINE_GRACE_SECONDS,
        "States": {
            "CheckRunInput": {
                "Type": "Choice",
                "Comment": "A run may read another prefix, but only under the pipeline's own.",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.input_prefix", "IsPresent": True},
                            {"Variable": "$.input_prefix", "IsString": True},
                            {
                                "Variable": "$.input_prefix",
                                "StringMatches": default_prefix.replace("\\", "\\\\") + "*",
                            },
                        ],
                        "Next": "UseRequestedInput",
                    },
                    {
                        "Variable": "$.input_prefix",
                        "IsPresent": True,
                        "Next": "RejectRunInput",
                    },
                ],
                "Default": "UseDefaultInput",
            },
            "RejectRunInput": {
                "Type": "Fail",
                "Error": "InvalidRunInput",
                "Cause": f"input_prefix must be a string starting with '{default_prefix}'",
            },
            "UseRequestedInput": {
                "Type": "Pass",
                "Parameters": _run_parameters(t, {"input_prefix.$": "$.input_prefix"}),
                "ResultPath": "$.run",
                "Next": "RunTransformJob",
            },
            "UseDefaultInput": {
                "Type": "Pass",
                "Parameters": _run_parameters(t, {"input_prefix": default_prefix}),
                "ResultPath": "$.run",
                "Next": "RunTransformJob",
            },
            "RunTransformJob": {
                "Type": "Task",
                "Resource": f"arn:{t.partition}:states:::sagemaker:createTransformJob.sync",
                "Parameters": _transform_parameters(pipeline, t),
                "ResultSelector": {
                    "job_name.$": "$.TransformJobName",
                    "job_arn.$": "$.TransformJobArn",
                    "status.$": "$.TransformJobStatus",
                    "output_path.$": "$.TransformOutput.S3OutputPath",
                },
                "ResultPath": "$.transform",
                "TimeoutSeconds": timeout_seconds,
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
                        "ErrorEquals": ["States.ALL"],
                        "ResultPath": "$.error",
                        "Next": "DescribeFailure",
                    }
                ],
                "Next": "RunSucceeded",
            },
            "RunSucceeded": {"Type": "Succeed"},
            "DescribeFailure": {
                "Type": "Pass",
                "Parameters": {
                    "pipeline": pipeline.name,
                    "environment": t.environment,
                    "execution.$": "$$.Execution.Id",
                    "run_id.$": "$$.Execution.Name",
                    "transform_job.$": "$.run.job_name",
                    "input_prefix.$": "$.run.input_prefix",
                    "error.$": "$.error.Error",
                    "cause.$": "$.error.Cause",
                    "console.$": f"States.Format('{console}', $$.Execution.Id)",
                },
                "ResultPath": "$.failure",
                "Next": "NotifyFailure",
            },
            "NotifyFailure": {
                "Type": "Task",
                "Resource": f"arn:{t.partition}:states:::sns:publish",
                "Parameters": {
                    "TopicArn": t.alert_topic_arn,
                    "Subject": f"[{t.job_prefix}] batch inference run failed",
                    "Message.$": "States.JsonToString($.failure)",
                },
                "ResultPath": None,
                "Retry": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "IntervalSeconds": 5,
                        "MaxAttempts": 2,
                        "BackoffRate": 2.0,
                    }
                ],
                # A lost notification must not turn a failed run into a succeeded one.
                "Catch": [
                    {
                        "ErrorEquals": ["States.ALL"],
                        "ResultPath": "$.notify_error",
                        "Next": "RunFailed",
                    }
                ],
                "Next": "RunFailed",
            },
            "RunFailed": {
                "Type": "Fail",
                "ErrorPath": "$.error.Error",
                "CausePath": "$.error.Cause",
            },
        },
    }


def definition_json(definition: dict[str, Any]) -> str:
    """Stable, readable JSON text (Terraform shows it decoded in plans)."""
    return json.dumps(definition, indent=2)
