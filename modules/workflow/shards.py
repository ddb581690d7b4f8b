"""A sharded run (``transform.shards``): the run's input files split into transform jobs of
``files_per_job`` files, run by a Distributed Map at most ``max_parallel_jobs`` at a time, each
shard failing alone (modules/workflow/shard_job.py); and what the Map needs in IAM.

The Map lists the run's input prefix (ItemReader ``s3:listObjectsV2``), or, for a run started by
``./ops rerun --failed``, reads the files to run again (ItemReader ``s3:getObject``, a key the
run input may give only under the pipeline's shards folder: ``shard_items_check``). It batches
the files (ItemBatcher), writes its results under the run's shards folder (ResultWriter) and
fails with ``States.ExceedToleratedFailureThreshold`` when the failed shards' files are more than
the tolerated share; the run then fails with ``ShardsFailed``, its cause naming the first failed
shards and their errors (from the records the shards wrote). Otherwise the run goes on, with
``$.shards`` naming its failed shards for the manifest, and ``$.transform`` as an unsharded run's.

The children are STANDARD executions: a shard waits for its transform job (``.sync``), which
may run ``timeout_minutes`` (up to 7 days) on each instance type, while an Express execution
lasts at most 5 minutes and cannot run ``.sync`` integrations at all.

Needs the pipeline's config and the targets (buckets, names, state machine ARN).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from modules.config import PipelineConfig
from modules.iam import Statement, allow, list_prefix, read_objects
from modules.shard_layout import FAILED_FOLDER, RESULTS_FOLDER, shards_prefix
from modules.workflow import state_names as sn
from modules.workflow.asl import (
    TRANSIENT_SDK_RETRY,
    escape_intrinsic,
    integration,
    jsonata_catch_keeping_input,
    jsonata_catch_to,
    jsonata_string,
    under_prefix,
)
from modules.workflow.chain import States, Step
from modules.workflow.shard_job import shard_states, sharding
from modules.workflow.targets import WorkflowTargets
from modules.workflow.transform import transform_job_statements, transform_jobs_arn

SHARDS_FAILED_ERROR = "ShardsFailed"
THRESHOLD_ERROR = "States.ExceedToleratedFailureThreshold"
# How many failed shards a run's page names (each with its error), and its manifest lists.
NAMED_FAILED_SHARDS = 5
LISTED_FAILED_SHARDS = 100
# What a child execution sees of its run: the run's record and its shards folder (and the
# run's model package, which a per-run model's job is tagged with).
BATCH_INPUT = {"run.$": "$.run", "shards.$": "$.shards.folder"}
RUN_PACKAGE = {"model_package.$": "$.model_package"}
LISTED_ITEM = {
    "Key.$": "$$.Map.Item.Value.Key",
    "Size.$": "$$.Map.Item.Value.Size",
    "Index.$": "$$.Map.Item.Index",
}
# A re-run's items carry only their keys (./ops writes them from the failed shards' manifests).
RERUN_ITEM = {"Key.$": "$$.Map.Item.Value.Key", "Index.$": "$$.Map.Item.Index"}


def _shards_prefix(pipeline: PipelineConfig) -> str:
    return shards_prefix(pipeline.run_output_prefix)


def reruns_failed_shards(pipeline: PipelineConfig) -> bool:
    """Whether a run may re-run another run's failed shards only (./ops rerun --failed): not
    with ``delivery``, which promises a run's whole dataset in its one output folder (and counts
    the run's whole input prefix against it)."""
    return pipeline.delivery is None


def _items_check_states(pipeline: PipelineConfig, nxt: str) -> States:
    prefix = _shards_prefix(pipeline)
    if reruns_failed_shards(pipeline):
        comment = "A re-run reads its files from a list under the pipeline's shards folder only."
        choices = under_prefix("$.shard_items", prefix, nxt, sn.REJECT_SHARD_ITEMS)
        cause = f"shard_items must be a string starting with '{prefix}'"
    else:
        comment = "No re-run of failed shards alone where a run delivers its whole dataset."
        choices = [{"Variable": "$.shard_items", "IsPresent": True, "Next": sn.REJECT_SHARD_ITEMS}]
        cause = (
            "shard_items: with delivery, a run delivers its whole dataset; re-run the whole run "
            "instead"
        )
    return {
        sn.CHECK_SHARD_ITEMS: {
            "Type": "Choice",
            "Comment": comment,
            "Choices": choices,
            "Default": nxt,
        },
        sn.REJECT_SHARD_ITEMS: {"Type": "Fail", "Error": "InvalidRunInput", "Cause": cause},
    }


def shard_items_check(pipeline: PipelineConfig) -> Step:
    """Refuse a run input's ``shard_items`` outside the pipeline's shards folder, before the run
    does anything."""
    return Step(sn.CHECK_SHARD_ITEMS, partial(_items_check_states, pipeline))


def prefixed(states: States, prefix: str) -> States:
    """The same states under names starting with ``prefix`` (a second Map's children: state
    names are unique in a whole definition)."""
    names = set(states)

    def rename(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: prefix + v if k in ("Next", "Default", "StartAt") and v in names else rename(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [rename(v) for v in value]
        return value

    return {prefix + name: rename(state) for name, state in states.items()}


def _map_state(
    pipeline: PipelineConfig, t: WorkflowTargets, reader: dict[str, Any], item: dict[str, Any],
    children: States, start: str,
) -> dict[str, Any]:  # fmt: skip
    shards = sharding(pipeline)
    state: dict[str, Any] = {
        "Type": "Map",
        "ItemReader": reader,
        "ItemSelector": item,
        "ItemBatcher": {
            "MaxItemsPerBatch": shards.files_per_job,
            "BatchInput": {
                **BATCH_INPUT,
                **(RUN_PACKAGE if pipeline.model.resolved_per_run else {}),
            },
        },
        "MaxConcurrency": shards.max_parallel_jobs,
    }
    if shards.tolerated_failed_shards_percent:
        # Step Functions counts the tolerance in items (files), not in child executions.
        state["ToleratedFailurePercentage"] = shards.tolerated_failed_shards_percent
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": sn.DESCRIBE_FAILURE}]
    if shards.can_exceed_tolerance:
        catch.insert(
            0,
            {
                "ErrorEquals": [THRESHOLD_ERROR],
                "ResultPath": "$.error",
                "Next": sn.LIST_FAILED_SHARDS_AFTER_FAILURE,
            },
        )
    return state | {
        "ItemProcessor": {
            "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
            "StartAt": start,
            "States": children,
        },
        "ResultWriter": {
            "Resource": integration(t, "s3:putObject"),
            "Parameters": {"Bucket": t.output_bucket, "Prefix.$": "$.shards.results"},
        },
        "ResultPath": "$.map_run",
        "Catch": catch,
        "Next": sn.LIST_FAILED_SHARDS,
    }


def _list_failed(
    t: WorkflowTargets, max_keys: int, output: str, catch: Any, nxt: str
) -> dict[str, Any]:
    folder = f"$states.input.shards.folder & '{FAILED_FOLDER}'"
    return {
        "Type": "Task",
        "QueryLanguage": "JSONata",
        "Resource": integration(t, "aws-sdk:s3:listObjectsV2"),
        "Arguments": {
            "Bucket": t.output_bucket,
            "Prefix": f"{{% {folder} %}}",
            "MaxKeys": max_keys,
        },
        "Output": f"{{% {output} %}}",
        "Retry": [TRANSIENT_SDK_RETRY],
        "Catch": catch,
        "Next": nxt,
    }


def _succeeded(pipeline: PipelineConfig, t: WorkflowTargets) -> str:
    """The state's input with what the manifest says of the shards, and the run's output folder
    where an unsharded run has its job's."""
    out = jsonata_string(f"s3://{t.output_bucket}/")
    output_path = f"{jsonata_string(f's3://{t.output_bucket}/{pipeline.run_output_prefix}')}"
    result = "$states.result"
    return (
        "$merge([$states.input, {'shards': {'folder': "
        f"{out} & $states.input.shards.folder, 'failed': {{'count': {result}.KeyCount, "
        f"'records': [{result}.Contents.Key], 'more': {result}.IsTruncated}}}}, "
        f"'transform': {{'output_path': {output_path} & $states.input.run.run_id & '/', "
        "'job_name': null}}])"
    )


# A failed job's reason, from its description (the .sync failure's cause); matched as text: a
# cause that is not JSON must not fail the state (a Pass state cannot catch). (Up to the first
# quote in it: JSONata's regex scanner reads "\\]" as an escaped bracket, so no [^"\\] here.)
FAILURE_REASON = r'/"FailureReason"\s*:\s*"([^"]*)"/'


def _failed_cause(pipeline: PipelineConfig, t: WorkflowTargets) -> str:
    shards = sharding(pipeline)
    one = (
        "'shard ' & $r.shard & ($r.job ? ' (job ' & $r.job & ')' : '') & ': ' & $r.error & "
        f"( $x := $match($r.cause, {FAILURE_REASON}, 1).groups[0]; $x ? ' ' & $x : '' )"
    )
    named = f"$join($map($states.input.failed_shards, function($r) {{ {one} }}), '; ')"
    where = jsonata_string(f"s3://{t.output_bucket}/")
    return (
        f"'More shards failed than tolerated ({shards.tolerated_failed_shards_percent:g}% of the "
        f"input files). ' & ($count($states.input.failed_shards) > 0 ? 'First failed: ' & "
        f"{named} & '. ' : '') & 'Every failed shard: ' & {where} & "
        f"$states.input.shards.folder & '{FAILED_FOLDER}'"
    )


def _after_failure_states(pipeline: PipelineConfig, t: WorkflowTargets) -> States:
    keep = jsonata_catch_keeping_input(sn.DESCRIBE_FAILURE)
    return {
        sn.LIST_FAILED_SHARDS_AFTER_FAILURE: _list_failed(
            t,
            NAMED_FAILED_SHARDS,
            "$merge([$states.input, {'failed_records': [$states.result.Contents.Key]}])",
            keep,
            sn.READ_FAILED_SHARDS,
        ),
        sn.READ_FAILED_SHARDS: {
            "Type": "Map",
            "QueryLanguage": "JSONata",
            "Items": "{% $states.input.failed_records %}",
            "MaxConcurrency": 1,
            "ItemProcessor": {
                "ProcessorConfig": {"Mode": "INLINE"},
                "StartAt": sn.READ_FAILED_SHARD,
                "States": {
                    sn.READ_FAILED_SHARD: {
                        "Type": "Task",
                        "QueryLanguage": "JSONata",
                        "Resource": integration(t, "aws-sdk:s3:getObject"),
                        "Arguments": {"Bucket": t.output_bucket, "Key": "{% $states.input %}"},
                        "Output": "{% $parse($states.result.Body) %}",
                        "Retry": [TRANSIENT_SDK_RETRY],
                        "End": True,
                    }
                },
            },
            "Output": "{% $merge([$states.input, {'failed_shards': $states.result}]) %}",
            "Catch": keep,
            "Next": sn.NAME_FAILED_SHARDS,
        },
        sn.NAME_FAILED_SHARDS: {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Comment": "The run fails with one page naming its first failed shards.",
            "Output": (
                "{% $merge([$states.input, {'error': {'Error': "
                f"{jsonata_string(SHARDS_FAILED_ERROR)}, "
                f"'Cause': {_failed_cause(pipeline, t)}}}}}]) %}}"
            ),
            "Next": sn.DESCRIBE_FAILURE,
        },
    }


def _shards_states(pipeline: PipelineConfig, t: WorkflowTargets, nxt: str) -> States:
    folder = escape_intrinsic(_shards_prefix(pipeline)) + "{}/"
    children = shard_states(pipeline, t)
    list_input = {
        "Resource": integration(t, "s3:listObjectsV2"),
        "Parameters": {"Bucket": t.input_bucket, "Prefix.$": "$.run.input_prefix"},
    }
    read_items = {
        "Resource": integration(t, "s3:getObject"),
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": t.output_bucket, "Key.$": "$.shard_items"},
    }
    states: States = {
        sn.START_SHARDS: {
            "Type": "Pass",
            "Comment": "The run's shards folder, beside its output folder.",
            "Parameters": {
                "folder.$": f"States.Format('{folder}', $.run.run_id)",
                "results.$": f"States.Format('{folder}{RESULTS_FOLDER.rstrip('/')}', $.run.run_id)",
            },
            "ResultPath": "$.shards",
            "Next": sn.CHECK_SHARD_SOURCE if reruns_failed_shards(pipeline) else sn.RUN_SHARDS,
        },
        sn.RUN_SHARDS: _map_state(pipeline, t, list_input, LISTED_ITEM, children, sn.START_SHARD),
        sn.LIST_FAILED_SHARDS: _list_failed(
            t,
            LISTED_FAILED_SHARDS,
            _succeeded(pipeline, t),
            jsonata_catch_to(sn.DESCRIBE_FAILURE),
            nxt,
        ),
    }
    if reruns_failed_shards(pipeline):
        states[sn.CHECK_SHARD_SOURCE] = {
            "Type": "Choice",
            "Comment": "A re-run (./ops rerun --failed) reads the files to run again from a list.",
            "Choices": [
                {"Variable": "$.shard_items", "IsPresent": True, "Next": sn.RUN_SHARDS_AGAIN}
            ],
            "Default": sn.RUN_SHARDS,
        }
        states[sn.RUN_SHARDS_AGAIN] = _map_state(
            pipeline, t, read_items, RERUN_ITEM, prefixed(children, sn.RERUN_PREFIX),
            sn.RERUN_PREFIX + sn.START_SHARD,
        )  # fmt: skip
    if sharding(pipeline).can_exceed_tolerance:
        states |= _after_failure_states(pipeline, t)
    return states


def _statements(pipeline: PipelineConfig, t: WorkflowTargets) -> tuple[Statement, ...]:
    prefix = _shards_prefix(pipeline)
    return (
        # The Map starts its children as executions of this state machine, and watches and
        # stops them (a failed or stopped run stops its running shards).
        allow("StartThisRunsShards", ["states:StartExecution"], t.state_machine_arn),
        allow(
            "WatchThisRunsShards",
            ["states:DescribeExecution", "states:StopExecution"],
            t.aws.arn("states", f"execution:{t.names.state_machine}/*:*"),
        ),
        # The ItemReader lists the run's input prefix (under the pipeline's own).
        list_prefix("ListInputForShards", t.input_bucket_arn, pipeline.default_input_prefix),
        # Shards write their manifests and failure records, the ResultWriter its results (in
        # parts); the run reads the failure records back, and a re-run its list of files.
        allow(
            "WriteShards",
            ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
            f"{t.output_bucket_arn}/{prefix}*",
        ),
        read_objects("ReadShards", t.output_bucket_arn, f"{prefix}*"),
        list_prefix("ListShards", t.output_bucket_arn, prefix),
        *transform_job_statements(t),
    )


def shards(pipeline: PipelineConfig, t: WorkflowTargets) -> Step:
    """The run's transform jobs, one per shard, run by a Distributed Map."""
    return Step(
        sn.START_SHARDS,
        partial(_shards_states, pipeline, t),
        _statements(pipeline, t),
        (transform_jobs_arn(t),),
    )
