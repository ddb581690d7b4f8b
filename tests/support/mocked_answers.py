"""AWS's answers to the state machines' calls, mocked in Step Functions Local's mock-config format
and shaped like AWS's (PascalCase members, as Step Functions returns them): a run that goes the way
it should (``happy_mocks``), a failed transform job, the Model Registry's pages.

Needs the deployed machine (tests/support/machines.py) for its names and ARNs.
"""

from __future__ import annotations

import json
from typing import Any

from modules.workflow.state_names import (
    COUNT_INPUT_PAGE,
    COUNT_OUTPUT_PAGE,
    CREATE_RUN_MODEL,
    DELETE_RUN_MODEL,
    DELETE_RUN_MODEL_AFTER_FAILURE,
    FIND_APPROVED_MODEL,
    FIND_APPROVED_MODEL_NEXT_PAGE,
    LIST_FAILED_SHARDS,
    LIST_FAILED_SHARDS_AFTER_FAILURE,
    LIST_INPUT,
    LIST_RUNNING_EXECUTIONS,
    PUT_READY_EVENT,
    RECORD_COMPLETED_TRANSFORM,
    REGISTER_PARTITION,
    RERUN_PREFIX,
    RUN_SHARD_TRANSFORM_JOB,
    RUN_TRANSFORM_JOB,
    WRITE_MANIFEST,
)
from tests.support.listings import input_pages, inputs, output_pages, outputs
from tests.support.machines import Machine

# In a mocked answer: the TransformJobName the task sent, filled in by the engine patch
# ``mock-request`` (tools/sfn-engine/patches.py). A ``.sync`` job answers with the name of the
# attempt that was created, which the definition derives from values known only during the run.
SENT_JOB_NAME = "<request:TransformJobName>"
# A shard's job answers with the manifest file it was sent.
SENT_MANIFEST = "<request:TransformInput.DataSource.S3DataSource.S3Uri>"


def ok(payload: dict[str, Any]) -> dict[str, Any]:
    return {"0": {"Return": payload}}


def throw(error: str, cause: str, times: str = "0-9") -> dict[str, Any]:
    return {times: {"Throw": {"Error": error, "Cause": cause}}}


def package_arn(machine: Machine, version: int) -> str:
    group = machine.pipeline.model.model_package_group
    return machine.arn("sagemaker", f"model-package/{group}/{version}")


def approved_page(machine: Machine) -> dict[str, Any]:
    """A ListModelPackages page holding the group's newest Approved package (version 7)."""
    return {
        "ModelPackageSummaryList": [
            {
                "ModelPackageGroupName": machine.pipeline.model.model_package_group,
                "ModelPackageVersion": 7,
                "ModelPackageArn": package_arn(machine, 7),
                "CreationTime": "2026-11-20T10:00:00Z",
                "ModelPackageStatus": "Completed",
                "ModelApprovalStatus": "Approved",
            }
        ]
    }


# A ListModelPackages page token (opaque to callers).
NEXT_PAGE_TOKEN = "eyJwYWdlIjogMn0="


def happy_mocks(machine: Machine, execution: str) -> dict[str, dict[str, Any]]:
    """A response for every Task state of the definition: the run goes the way it should."""
    job = machine.job_name(execution)
    responses: dict[str, dict[str, Any]] = {
        LIST_RUNNING_EXECUTIONS: ok(
            {
                "Executions": [
                    {
                        "ExecutionArn": machine.arn(
                            "states", f"execution:{machine.name}:{execution}"
                        ),
                        "StateMachineArn": machine.arn("states", f"stateMachine:{machine.name}"),
                        "Name": execution,
                        "Status": "RUNNING",
                        "StartDate": "2026-11-26T01:00:05Z",
                    }
                ]
            }
        ),
        LIST_INPUT: ok({"IsTruncated": False, "KeyCount": 1, "MaxKeys": 1}),
        FIND_APPROVED_MODEL: ok(approved_page(machine)),
        # Reached only after a page without a package: see the registry-empty-first-page scenario.
        FIND_APPROVED_MODEL_NEXT_PAGE: ok(approved_page(machine)),
        CREATE_RUN_MODEL: ok({"ModelArn": machine.arn("sagemaker", f"model/{job}")}),
        RUN_TRANSFORM_JOB: ok(job_description(machine, execution, "S3Prefix", job)),
        # Two input objects, and the .out Batch Transform writes for each.
        COUNT_INPUT_PAGE: input_pages(machine, inputs(machine, 2)),
        COUNT_OUTPUT_PAGE: output_pages(
            machine, execution, outputs(machine, execution, inputs(machine, 2))
        ),
        REGISTER_PARTITION: ok({"Errors": []}),
        PUT_READY_EVENT: ok(
            {
                "FailedEntryCount": 0,
                "Entries": [{"EventId": "11710aed-b79e-4468-a20b-bb3c0c3b4860"}],
            }
        ),
        DELETE_RUN_MODEL: ok({}),
        DELETE_RUN_MODEL_AFTER_FAILURE: ok({}),
        WRITE_MANIFEST: ok({"ETag": '"5d41402abc4b2a76b9719d911017c592"'}),
        RECORD_COMPLETED_TRANSFORM: ok({}),  # PutMetricData returns nothing
    }
    publish = ok({"MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e"})
    mocks = {}
    if machine.sharded:
        shard_job = ok(job_description(machine, execution, "ManifestFile", job))
        for state in (RUN_SHARD_TRANSFORM_JOB, RERUN_PREFIX + RUN_SHARD_TRANSFORM_JOB):
            if state in machine.all_states:  # (no re-run of shards with delivery)
                mocks[state] = shard_job
    for name, state in machine.states.items():
        if state["Type"] != "Task":
            continue
        if name in (LIST_FAILED_SHARDS, LIST_FAILED_SHARDS_AFTER_FAILURE):
            continue  # the shards' folder: served by the engine's memory S3 (Scenario.s3)
        if state["Resource"].endswith(":::sns:publish"):
            mocks[name] = publish
        else:
            assert name in responses, f"no mocked response for Task state {name}"
            mocks[name] = responses[name]
    return mocks


def job_description(machine: Machine, execution: str, data_type: str, job: str) -> dict[str, Any]:
    """A completed ``.sync`` transform job (its DescribeTransformJob) of the attempt that was sent:
    over the run's input prefix (``S3Prefix``), or over the manifest file a shard sent."""
    uri = SENT_MANIFEST
    if data_type == "S3Prefix":
        uri = f"s3://{machine.input_bucket}/{machine.pipeline.default_input_prefix}"
    return {
        "TransformJobName": SENT_JOB_NAME,
        "TransformJobArn": machine.arn("sagemaker", f"transform-job/{SENT_JOB_NAME}"),
        "TransformJobStatus": "Completed",
        "ModelName": machine.model_name or job,
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": data_type, "S3Uri": uri}}},
        "TransformOutput": {"S3OutputPath": machine.output_path(execution)},
        "TransformResources": {
            "InstanceType": machine.pipeline.transform.instance_type,
            "InstanceCount": machine.pipeline.transform.instance_count,
        },
        "CreationTime": "2026-11-26T01:00:10Z",
        "TransformEndTime": "2026-11-26T01:20:00Z",
    }


# SageMaker's reason for a job it could not give instances to (the job fails before it runs).
CAPACITY_ERROR = (
    "CapacityError: Unable to provision requested ML compute capacity. "
    "Please retry using a different ML instance type."
)


def job_failure(reason: str, times: str = "0-9") -> dict[str, Any]:
    """A ``.sync`` transform job that ran and failed: States.TaskFailed, whose cause is the failed
    job's description (DescribeTransformJob) for the attempt that was sent."""
    return throw(
        "States.TaskFailed",
        json.dumps(
            {
                "TransformJobName": SENT_JOB_NAME,
                "TransformJobStatus": "Failed",
                "FailureReason": reason,
                # The type the attempt asked for (the rest of the description is left out).
                "TransformResources": {"InstanceType": "<request:TransformResources.InstanceType>"},
            }
        ),
        times,
    )


def transform_failure(mocks: dict[str, Any]) -> dict[str, Any]:
    return {**mocks, RUN_TRANSFORM_JOB: job_failure("ClientError: bad input")}
