"""One shard of a sharded run: the states a child execution of the run's Distributed Map runs
(modules/workflow/shards.py) over one batch of the run's input files.

A shard keeps the input files of its batch (leaving out what the delivery count leaves out:
"folder" keys, the run's manifest, the marker), writes their SageMaker manifest file under the
run's shards folder (modules/shard_layout.py), and runs one transform job on it into the run's
one output folder, with the run's own job settings, transient-error retries and fallback
instance types (modules/workflow/transform.py, capacity.py) under the prefix ``Shard``. Its job
name is the run's job prefix, the shard number and a hash, new on every attempt and at most 63
characters. A failed shard writes a record of its error (``FAILED_RECORD_FIELDS``) and fails its
child execution; the Map counts it against the run's tolerance.

Needs the pipeline's config and the targets (buckets, key, names). Its IAM is the Map's
(modules/workflow/shards.py): the states here call S3 and SageMaker as the run's role.
"""

from __future__ import annotations

from typing import Any

from modules.config import PipelineConfig, ShardsConfig
from modules.shard_layout import (
    FAILED_FOLDER,
    FAILED_SUFFIX,
    MANIFEST_SUFFIX,
    MANIFESTS_FOLDER,
    SHARD_DIGITS,
)
from modules.workflow import capacity
from modules.workflow import state_names as sn
from modules.workflow.asl import (
    TRANSIENT_SDK_RETRY,
    integration,
    jsonata_catch_keeping_input,
    jsonata_catch_to,
    jsonata_string,
)
from modules.workflow.chain import States
from modules.workflow.delivery_count import is_input_predicate
from modules.workflow.targets import WorkflowTargets
from modules.workflow.transform import (
    MAX_TRANSIENT_RETRIES,
    job_state,
    transform_parameters,
    transient_retry_states,
)

# SageMaker's job names are at most 63 characters: the stem leaves one for the attempt's retry
# count (the job's Retry tries at most MAX_TRANSIENT_RETRIES more times: one digit).
MAX_JOB_NAME = 63
SHARD_JOB_STEM = MAX_JOB_NAME - len(str(MAX_TRANSIENT_RETRIES))
# The variables a shard's states share.
JOB_HASH, JOB_STEM = "shard_job_hash", "shard_job"


def sharding(pipeline: PipelineConfig) -> ShardsConfig:
    """The shards settings of a pipeline whose run is sharded (the step is built for no other)."""
    shards = pipeline.transform.shards
    if shards is None:
        raise ValueError(f"pipeline {pipeline.name} has no transform.shards")
    return shards


def _start(pipeline: PipelineConfig, t: WorkflowTargets) -> dict[str, Any]:
    files_per_job = sharding(pipeline).files_per_job
    batch = "$states.input"
    number = (
        f"$formatNumber($floor({batch}.Items[0].Index / {files_per_job}), '{'0' * SHARD_DIGITS}')"
    )
    folder = f"{batch}.BatchInput.shards"
    output_uri = jsonata_string(f"s3://{t.output_bucket}/")
    # A per-run model's package: the job's model identity tags read it (model_identity.py).
    package = (
        f"'model_package': {batch}.BatchInput.model_package, "
        if (pipeline.model.resolved_per_run)
        else ""
    )
    body = (
        f"( $n := {number}; $m := {folder} & '{MANIFESTS_FOLDER}' & $n & '{MANIFEST_SUFFIX}'; "
        f"{{'run': {batch}.BatchInput.run, {package}"
        f"'shard': {{'number': $n, 'manifest_key': $m, 'manifest': {output_uri} & $m, "
        f"'failed_key': {folder} & '{FAILED_FOLDER}' & $n & '{FAILED_SUFFIX}'}}, "
        f"'keys': [{batch}.Items[{is_input_predicate(pipeline)}].Key]}} )"
    )
    return {
        "Type": "Pass",
        "QueryLanguage": "JSONata",
        "Comment": "A shard is numbered by its first file's place in the run's listing.",
        "Assign": {JOB_STEM: None},
        "Output": f"{{% {body} %}}",
        "Next": sn.CHECK_SHARD_INPUT,
    }


def _put_json(t: WorkflowTargets, key: str, body: str, nxt: str, catch: Any) -> dict[str, Any]:
    """A JSONata putObject of JSON text under the run's shards folder, encrypted with the key;
    its output is its input."""
    return {
        "Type": "Task",
        "QueryLanguage": "JSONata",
        "Resource": integration(t, "aws-sdk:s3:putObject"),
        "Arguments": {
            "Bucket": t.output_bucket,
            "Key": f"{{% {key} %}}",
            "Body": f"{{% $string({body}) %}}",
            "ContentType": "application/json",
            "ServerSideEncryption": "aws:kms",
            "SSEKMSKeyId": t.kms_key_arn,
        },
        "Output": "{% $states.input %}",
        "Retry": [TRANSIENT_SDK_RETRY],
        "Catch": catch,
        "Next": nxt,
    }


def _shard_manifest(pipeline: PipelineConfig, t: WorkflowTargets) -> dict[str, Any]:
    prefix = "$states.input.run.input_prefix"
    source = f"{jsonata_string(f's3://{t.input_bucket}/')} & {prefix}"
    # Keys relative to the run's input prefix: SageMaker names each output after it, so the
    # shards' outputs are laid out as one job's over the whole prefix.
    relative = f"$map($states.input.keys, function($k) {{ $substring($k, $length({prefix})) }})"
    return _put_json(
        t,
        "$states.input.shard.manifest_key",
        f"$append([{{'prefix': {source}}}], {relative})",
        capacity.start_state(pipeline, sn.HASH_SHARD_JOB, sn.SHARD_PREFIX),
        jsonata_catch_to(sn.RECORD_SHARD_FAILURE),
    )


def _job_name_states(t: WorkflowTargets) -> States:
    stem = f"{jsonata_string(t.names.run_prefix)} & $states.input.shard.number & '-' & ${JOB_HASH}"
    return {
        sn.HASH_SHARD_JOB: {
            "Type": "Pass",
            "Comment": "Every entry gets a new hash: a new job name for every job started.",
            "Assign": {
                f"{JOB_HASH}.$": "States.Hash(States.Format('{}/{}', $$.Execution.Name, "
                "$$.State.EnteredTime), 'MD5')"
            },
            "Next": sn.NAME_SHARD_JOB,
        },
        sn.NAME_SHARD_JOB: {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Assign": {JOB_STEM: f"{{% $substring({stem}, 0, {SHARD_JOB_STEM}) %}}"},
            "Next": sn.RUN_SHARD_TRANSFORM_JOB,
        },
    }


def shard_job_parameters(pipeline: PipelineConfig, t: WorkflowTargets) -> dict[str, Any]:
    """The run's CreateTransformJob request, on the shard's manifest file, named by the shard."""
    parameters = transform_parameters(pipeline, t)
    parameters["TransformJobName.$"] = (
        f"States.Format('{{}}{{}}', ${JOB_STEM}, $$.State.RetryCount)"
    )
    parameters["TransformInput"]["DataSource"]["S3DataSource"] = {
        "S3DataType": "ManifestFile",
        "S3Uri.$": "$.shard.manifest",
    }
    return parameters


def _failure_record(t: WorkflowTargets) -> dict[str, Any]:
    shard, error = "$states.input.shard", "$states.input.error"
    record = (
        f"{{'shard': {shard}.number, 'job': ${JOB_STEM}, 'error': {error}.Error, "
        f"'cause': {error}.Cause, 'manifest': {shard}.manifest}}"
    )
    # A record that cannot be written must not hide the shard's own error: both fail the shard.
    keep = jsonata_catch_keeping_input(sn.SHARD_FAILED)
    return _put_json(t, f"{shard}.failed_key", record, sn.SHARD_FAILED, keep)


def shard_states(pipeline: PipelineConfig, t: WorkflowTargets) -> States:
    """Every state of one shard, from ``START_SHARD``."""
    return {
        sn.START_SHARD: _start(pipeline, t),
        sn.CHECK_SHARD_INPUT: {
            "Type": "Choice",
            "QueryLanguage": "JSONata",
            "Choices": [
                {
                    "Condition": "{% $count($states.input.keys) = 0 %}",
                    "Next": sn.SHARD_WITHOUT_INPUT,
                }
            ],
            "Default": sn.WRITE_SHARD_MANIFEST,
        },
        sn.SHARD_WITHOUT_INPUT: {
            "Type": "Succeed",
            "Comment": "Only folder keys, the manifest or the marker: nothing to transform.",
        },
        sn.WRITE_SHARD_MANIFEST: _shard_manifest(pipeline, t),
        **capacity.capacity_states(
            pipeline, sn.HASH_SHARD_JOB, sn.RECORD_SHARD_FAILURE, sn.SHARD_PREFIX
        ),
        **_job_name_states(t),
        sn.RUN_SHARD_TRANSFORM_JOB: job_state(
            pipeline,
            t,
            shard_job_parameters(pipeline, t),
            sn.SHARD_SUCCEEDED,
            prefix=sn.SHARD_PREFIX,
            on_failure=sn.RECORD_SHARD_FAILURE,
        ),
        **transient_retry_states(sn.SHARD_PREFIX, sn.HASH_SHARD_JOB, sn.RECORD_SHARD_FAILURE),
        sn.RECORD_SHARD_FAILURE: _failure_record(t),
        sn.SHARD_FAILED: {
            "Type": "Fail",
            "QueryLanguage": "JSONata",
            "Comment": "The shard fails with its error: the Map counts its files against the "
            "run's tolerance.",
            "Error": "{% $states.input.error.Error %}",
            "Cause": "{% $states.input.error.Cause %}",
        },
        sn.SHARD_SUCCEEDED: {
            "Type": "Succeed",
            "Comment": "What the Map's results keep of a shard: its number and job.",
            "OutputPath": "$.shard",
        },
    }
