"""Sharded runs as data: what a shard keeps, the manifest it writes, its job's name and request,
the run's page naming its failed shards, and the IAM the Map needs; the JSONata evaluated by the
JSONata library (the engine runs the paths: tests/execution_checks/shards.py)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from modules.config import PipelineConfig, ProjectConfig
from modules.naming import Names
from modules.shard_layout import failed_key, manifest_key, run_shards, shard_name, shards_prefix
from modules.workflow import build_workflow
from modules.workflow import state_names as sn
from modules.workflow.chain import every_state
from modules.workflow.delivery_count import is_input
from modules.workflow.shard_job import MAX_JOB_NAME
from modules.workflow.shards import (
    SHARDS_FAILED_ERROR,
    THRESHOLD_ERROR,
    prefixed,
    reruns_failed_shards,
)
from modules.workflow.transform import transform_parameters
from tests.support.jsonata import Jsonata
from tests.support.workflow import TARGETS, pipeline_of

RUN_ID = "run-1"


@pytest.fixture(scope="module")
def pipeline(full_config: ProjectConfig) -> PipelineConfig:
    return pipeline_of(full_config, "stage", "sharded")


@pytest.fixture(scope="module")
def definition(pipeline: PipelineConfig) -> dict[str, Any]:
    return build_workflow(pipeline, TARGETS).definition


@pytest.fixture(scope="module")
def states(definition: dict[str, Any]) -> dict[str, Any]:
    return every_state(definition["States"])


def _run(pipeline: PipelineConfig, input_prefix: str) -> dict[str, Any]:
    return {"run_id": RUN_ID, "input_prefix": input_prefix, "job_name": "j", "attempt": 0}


def _batch(pipeline: PipelineConfig, keys: list[str], first: int) -> dict[str, Any]:
    folder = run_shards(pipeline.run_output_prefix, RUN_ID)
    items = [{"Key": k, "Size": 0 if k.endswith("/") else 10, "Index": first + i}
             for i, k in enumerate(keys)]  # fmt: skip
    return {"Items": items, "BatchInput": {"run": _run(pipeline, "in/"), "shards": folder}}


def test_a_shard_is_numbered_by_its_first_file_and_keeps_only_input(
    jsonata: Jsonata, pipeline: PipelineConfig, states: dict[str, Any]
) -> None:
    shards = pipeline.transform.shards
    assert shards is not None and pipeline.trigger is not None
    keys = ["in/a.csv", "in/sub/", "in/" + pipeline.trigger.marker, "in/_manifest.json", "in/b"]
    first = 2 * shards.files_per_job
    shard = jsonata.evaluate(states[sn.START_SHARD]["Output"], _batch(pipeline, keys, first))
    folder = run_shards(pipeline.run_output_prefix, RUN_ID)
    assert shard["shard"]["number"] == shard_name(2)
    assert shard["shard"]["manifest_key"] == manifest_key(folder, shard_name(2))
    assert shard["shard"]["manifest"] == f"s3://{TARGETS.output_bucket}/" + manifest_key(
        folder, shard_name(2)
    )
    assert shard["shard"]["failed_key"] == failed_key(folder, shard_name(2))
    expected = [k for k in keys if is_input(pipeline, k, 0 if k.endswith("/") else 10)]
    assert shard["keys"] == expected == ["in/a.csv", "in/b"]
    assert shard["run"] == _run(pipeline, "in/")


@pytest.mark.parametrize("keys", [["in/one.csv"], ["in/a", "in/x/b.csv", "in/c d'e"]])
def test_a_shards_manifest_lists_its_files_relative_to_the_run_input(
    jsonata: Jsonata, states: dict[str, Any], keys: list[str]
) -> None:
    state = states[sn.WRITE_SHARD_MANIFEST]
    shard = {"run": {"input_prefix": "in/"}, "keys": keys, "shard": {"manifest_key": "m"}}
    body = json.loads(jsonata.evaluate(state["Arguments"]["Body"], shard))
    # SageMaker's manifest file: the prefix, then each file's key relative to it, so that each
    # output is named as an unsharded job over the whole prefix names it.
    assert body == [{"prefix": f"s3://{TARGETS.input_bucket}/in/"}, *[k[3:] for k in keys]]
    assert jsonata.evaluate(state["Arguments"]["Key"], shard) == "m"
    assert state["Arguments"]["ServerSideEncryption"] == "aws:kms"


def test_a_shard_without_input_transforms_nothing(jsonata: Jsonata, states: dict[str, Any]) -> None:
    [empty] = states[sn.CHECK_SHARD_INPUT]["Choices"]
    assert jsonata.evaluate(empty["Condition"], {"keys": []}) is True
    assert jsonata.evaluate(empty["Condition"], {"keys": ["k"]}) is False
    assert states[empty["Next"]]["Type"] == "Succeed"


@pytest.mark.parametrize("prefix_length", [1, 40])
def test_a_shard_jobs_name_has_the_run_prefix_and_shard_and_fits_sagemaker(
    jsonata: Jsonata, pipeline: PipelineConfig, prefix_length: int
) -> None:
    names = Names("p" * prefix_length, "e").of_pipeline(pipeline.name)
    targets = type(TARGETS)(**{**TARGETS.__dict__, "names": names})
    states = every_state(build_workflow(pipeline, targets).definition["States"])
    stem = jsonata.evaluate(
        states[sn.NAME_SHARD_JOB]["Assign"]["shard_job"],
        {"shard": {"number": shard_name(12)}},
        variables={"shard_job_hash": "f" * 32},
    )
    assert stem.startswith(names.run_prefix + shard_name(12) + "-")
    retries = states[sn.RUN_SHARD_TRANSFORM_JOB]["Retry"][0]["MaxAttempts"]
    assert len(stem + str(retries)) <= MAX_JOB_NAME
    name = states[sn.RUN_SHARD_TRANSFORM_JOB]["Parameters"]["TransformJobName.$"]
    assert name == "States.Format('{}{}', $shard_job, $$.State.RetryCount)"
    # A new hash on every entry (the retry loop and the fallback types enter it again).
    assert "$$.State.EnteredTime" in states[sn.HASH_SHARD_JOB]["Assign"]["shard_job_hash.$"]
    reentries = [states[sn.SHARD_PREFIX + sn.NEXT_ATTEMPT]["Next"]]
    reentries += [c["Next"] for c in states[sn.SHARD_PREFIX + sn.CHECK_CAPACITY_ERROR]["Choices"]]
    assert reentries[:2] == [sn.HASH_SHARD_JOB] * 2


def test_a_shard_job_is_the_runs_request_on_its_manifest(
    pipeline: PipelineConfig, states: dict[str, Any]
) -> None:
    shard = copy.deepcopy(states[sn.RUN_SHARD_TRANSFORM_JOB]["Parameters"])
    run = transform_parameters(pipeline, TARGETS)
    source = shard["TransformInput"]["DataSource"]["S3DataSource"]
    assert source == {"S3DataType": "ManifestFile", "S3Uri.$": "$.shard.manifest"}
    for request in (shard, run):
        del request["TransformJobName.$"], request["TransformInput"]["DataSource"]
    assert shard == run  # same model, resources, output folder, tags, settings


def test_the_map_batches_the_listing_within_the_configured_bounds(
    pipeline: PipelineConfig, states: dict[str, Any]
) -> None:
    shards = pipeline.transform.shards
    assert shards is not None
    for name in (sn.RUN_SHARDS, sn.RUN_SHARDS_AGAIN):
        state = states[name]
        assert state["ItemBatcher"]["MaxItemsPerBatch"] == shards.files_per_job
        assert state["MaxConcurrency"] == shards.max_parallel_jobs
        assert state["ToleratedFailurePercentage"] == shards.tolerated_failed_shards_percent
        assert state["ItemProcessor"]["ProcessorConfig"] == {
            "Mode": "DISTRIBUTED",
            "ExecutionType": "STANDARD",
        }
        assert state["Catch"][0]["ErrorEquals"] == [THRESHOLD_ERROR]
    reader = states[sn.RUN_SHARDS]["ItemReader"]
    assert reader["Resource"].endswith(":::s3:listObjectsV2")
    assert reader["Parameters"] == {
        "Bucket": TARGETS.input_bucket,
        "Prefix.$": "$.run.input_prefix",
    }
    again = states[sn.RUN_SHARDS_AGAIN]
    assert again["ItemReader"]["Resource"].endswith(":::s3:getObject")
    assert again["ItemProcessor"]["States"] == prefixed(
        states[sn.RUN_SHARDS]["ItemProcessor"]["States"], sn.RERUN_PREFIX
    )


def test_a_tolerance_of_every_file_has_no_failure_path(full_config: ProjectConfig) -> None:
    pipeline = pipeline_of(full_config, "stage", "sharded")
    shards = pipeline.transform.shards
    assert shards is not None
    lenient = pipeline.model_copy(
        update={"transform": pipeline.transform.model_copy(
            update={"shards": shards.model_copy(update={"tolerated_failed_shards_percent": 100})}
        )}
    )  # fmt: skip
    states = build_workflow(lenient, TARGETS).definition["States"]
    assert [c["ErrorEquals"] for c in states[sn.RUN_SHARDS]["Catch"]] == [["States.ALL"]]
    assert sn.NAME_FAILED_SHARDS not in states


def _record(shard: int, reason: str | None, job: str | None = "job-x") -> dict[str, Any]:
    cause = json.dumps({"TransformJobName": "j", "FailureReason": reason}) if reason else "boom"
    return {"shard": shard_name(shard), "job": job, "error": "States.TaskFailed", "cause": cause}


def test_a_run_beyond_the_tolerance_fails_with_one_page_naming_its_failed_shards(
    jsonata: Jsonata, pipeline: PipelineConfig, states: dict[str, Any]
) -> None:
    folder = run_shards(pipeline.run_output_prefix, RUN_ID)
    records = [_record(3, "ClientError: bad row 7"), _record(9, None, job=None)]
    failed = jsonata.evaluate(
        states[sn.NAME_FAILED_SHARDS]["Output"],
        {
            "shards": {"folder": folder},
            "failed_shards": records,
            "error": {"Error": THRESHOLD_ERROR},
        },
    )
    error = failed["error"]
    assert error["Error"] == SHARDS_FAILED_ERROR
    shards = pipeline.transform.shards
    assert shards is not None
    assert f"({shards.tolerated_failed_shards_percent:g}% of the input files)" in error["Cause"]
    assert (
        f"shard {shard_name(3)} (job job-x): States.TaskFailed ClientError: bad row 7"
        in (error["Cause"])
    )
    assert f"shard {shard_name(9)}: States.TaskFailed;" not in error["Cause"]
    assert re.search(rf"shard {shard_name(9)}: States\.TaskFailed\.", error["Cause"])
    assert error["Cause"].endswith(f"s3://{TARGETS.output_bucket}/{folder}failed/")
    none = jsonata.evaluate(
        states[sn.NAME_FAILED_SHARDS]["Output"], {"shards": {"folder": folder}, "failed_shards": []}
    )
    assert "First failed" not in none["error"]["Cause"]


def test_a_run_within_the_tolerance_names_its_failed_shards_and_output_folder(
    jsonata: Jsonata, pipeline: PipelineConfig, states: dict[str, Any]
) -> None:
    folder = run_shards(pipeline.run_output_prefix, RUN_ID)
    listing = {"KeyCount": 1, "Contents": [{"Key": failed_key(folder, shard_name(4))}],
               "IsTruncated": False}  # fmt: skip
    state = states[sn.LIST_FAILED_SHARDS]
    done = jsonata.evaluate(
        state["Output"],
        {"run": _run(pipeline, "in/"), "shards": {"folder": folder}},
        result=listing,
    )
    assert done["shards"]["failed"] == {
        "count": 1,
        "records": [failed_key(folder, shard_name(4))],
        "more": False,
    }
    assert done["shards"]["folder"] == f"s3://{TARGETS.output_bucket}/{folder}"
    # Where an unsharded run's job writes (its S3OutputPath): the one output folder.
    assert done["transform"]["output_path"] == (
        f"s3://{TARGETS.output_bucket}/{pipeline.run_output_prefix}{RUN_ID}/"
    )
    assert jsonata.evaluate(state["Arguments"]["Prefix"], {"shards": {"folder": folder}}) == (
        folder + "failed/"
    )


def test_a_rerun_list_is_taken_only_under_the_pipelines_shards_folder(
    pipeline: PipelineConfig, states: dict[str, Any]
) -> None:
    accept, reject = states[sn.CHECK_SHARD_ITEMS]["Choices"]
    [*_, match] = accept["And"]
    assert match["StringMatches"] == shards_prefix(pipeline.run_output_prefix) + "*"
    assert states[reject["Next"]]["Error"] == "InvalidRunInput"


def test_the_map_may_do_exactly_what_it_needs(pipeline: PipelineConfig) -> None:
    statements = {s["Sid"]: s for s in build_workflow(pipeline, TARGETS).statements}
    prefix = shards_prefix(pipeline.run_output_prefix)
    assert statements["StartThisRunsShards"]["Resource"] == TARGETS.state_machine_arn
    watch = statements["WatchThisRunsShards"]
    assert watch["Resource"] == TARGETS.aws.arn(
        "states", f"execution:{TARGETS.names.state_machine}/*:*"
    )
    assert set(watch["Action"]) == {"states:DescribeExecution", "states:StopExecution"}
    assert statements["WriteShards"]["Resource"] == f"{TARGETS.output_bucket_arn}/{prefix}*"
    assert statements["ReadShards"]["Resource"] == f"{TARGETS.output_bucket_arn}/{prefix}*"
    listed = statements["ListInputForShards"]["Condition"]["StringLike"]["s3:prefix"]
    assert listed == [pipeline.default_input_prefix + "*"]


def test_with_delivery_a_run_of_failed_shards_alone_is_refused(
    full_config: ProjectConfig,
) -> None:
    """Delivery promises a run's whole dataset in its one folder: no re-run Map, and a run input
    naming a list of files is refused before anything runs."""
    pipeline = pipeline_of(full_config, "stage", "sharded")
    shards = pipeline.transform.shards
    assert shards is not None
    delivering = pipeline.model_copy(
        update={
            "delivery": pipeline_of(full_config, "stage", "registry").delivery,
            "transform": pipeline.transform.model_copy(
                update={"shards": shards.model_copy(update={"tolerated_failed_shards_percent": 0})}
            ),
        }
    )
    assert not reruns_failed_shards(delivering) and reruns_failed_shards(pipeline)
    states = every_state(build_workflow(delivering, TARGETS).definition["States"])
    assert sn.RUN_SHARDS_AGAIN not in states and sn.CHECK_SHARD_SOURCE not in states
    assert states[sn.START_SHARDS]["Next"] == sn.RUN_SHARDS
    [refuse] = states[sn.CHECK_SHARD_ITEMS]["Choices"]
    assert refuse == {"Variable": "$.shard_items", "IsPresent": True, "Next": sn.REJECT_SHARD_ITEMS}
    assert states[sn.REJECT_SHARD_ITEMS]["Error"] == "InvalidRunInput"
