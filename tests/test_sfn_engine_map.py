"""The Distributed Map over S3 on the patched engine (tools/sfn-engine: map_patches.py and
memory_s3.py): listing pages, batching, tolerance in items, ResultWriter files, the JSON reader,
the memory S3 for the children's aws-sdk tasks, ByRequest mocks and the children's requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.sfn_engine import Engine

DISTRIBUTED = {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}}
LIST = "arn:aws:states:::s3:listObjectsV2"
SYNC = "arn:aws:states:::sagemaker:createTransformJob.sync"
SELECTOR = {
    "Key.$": "$$.Map.Item.Value.Key",
    "Size.$": "$$.Map.Item.Value.Size",
    "Index.$": "$$.Map.Item.Index",
}
# Each child runs one transform job named after its execution (the child's name ends in -<n>).
JOB_CHILD = {
    "StartAt": "Job",
    "States": {
        "Job": {
            "Type": "Task",
            "Resource": SYNC,
            "Parameters": {
                "TransformJobName.$": "$$.Execution.Name",
                "Items.$": "$.Items",
                "Run.$": "$.BatchInput.run",
            },
            "End": True,
        }
    },
}


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    started = Engine()
    yield started
    started.close()


def machine(map_state: dict[str, Any], after: dict[str, Any] | None = None) -> str:
    states: dict[str, Any] = {"Map": {"Type": "Map", **map_state}}
    states["Map"]["ItemProcessor"] = {**DISTRIBUTED, **states["Map"]["ItemProcessor"]}
    if after:
        states["Map"]["Next"] = next(iter(after))
        states.update(after)
    else:
        states["Map"]["End"] = True
    return json.dumps({"StartAt": "Map", "States": states})


def listing(batch: int, **more: Any) -> dict[str, Any]:
    return {
        "ItemReader": {"Resource": LIST, "Parameters": {"Bucket": "in", "Prefix.$": "$.prefix"}},
        "ItemSelector": SELECTOR,
        "ItemBatcher": {"MaxItemsPerBatch": batch, "BatchInput": {"run.$": "$.run"}},
        "ItemProcessor": JOB_CHILD,
        **more,
    }


def keys(n: int) -> dict[str, dict[str, str]]:
    return {"in": {f"data/{i:04}.csv": "x" * (i % 5) for i in range(n)}, "out": {}}


GIVEN = json.dumps({"prefix": "data/", "run": "r1", "results": "results/r1"})
DONE = {"0": {"Return": {"TransformJobStatus": "Completed"}}}


def test_a_listing_of_1001_keys_gives_1001_items_across_two_pages(engine: Engine) -> None:
    run = engine.run("pages", machine(listing(1000)), "pages", GIVEN, {"Job": DONE}, s3=keys(1001))
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    sizes = [len(r["parameters"]["Items"]) for r in run.task_requests]
    assert sizes == [1000, 1]
    lists = [r["params"] for r in run.s3_requests if r["op"] == "ListObjectsV2"]
    assert len(lists) == 2 and "ContinuationToken" in lists[1]
    assert lists[0] == {"Bucket": "in", "Prefix": "data/"}


def test_batches_of_three_with_their_batch_input(engine: Engine) -> None:
    run = engine.run("batches", machine(listing(3)), "batches", GIVEN, {"Job": DONE}, s3=keys(7))
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert len(run.children) == 3  # ceil(7 / 3)
    first = run.children[0]["input"]
    assert first["BatchInput"] == {"run": "r1"}
    assert first["Items"][1] == {"Key": "data/0001.csv", "Size": 1, "Index": 1}
    assert [len(c["input"]["Items"]) for c in run.children] == [3, 3, 1]
    # The children's task requests, each under its child's name, in order.
    assert [r["execution"] for r in run.task_requests] == [c["name"] for c in run.children]
    assert all(r["resource"] == SYNC and r["parameters"]["Run"] == "r1" for r in run.task_requests)
    assert [c["states"] for c in run.children] == [["Job"]] * 3


def failing_shard(index: int) -> dict[str, Any]:
    """The Job mock: the child whose name ends in -<index> fails, the others complete."""
    failed = {"0": {"Throw": {"Error": "States.TaskFailed", "Cause": "<request:TransformJobName>"}}}
    return {"ByRequest": [{"When": {"TransformJobName": f"*-{index}"}, "Answer": failed}]}


CATCH = {"Catch": [{"ErrorEquals": ["States.ExceedToleratedFailureThreshold"], "Next": "Caught"}]}
CAUGHT = {"Caught": {"Type": "Pass", "End": True}}


def test_tolerance_counts_failed_items_not_children(engine: Engine) -> None:
    """7 items in batches of 3, 40 % tolerated. The batch of one item failing is 1/7 of the items
    (within); the first batch failing is 3/7 = 43 % of the items (beyond), though only 1/3 of the
    children: counted in children it would be tolerated."""
    mocks: dict[str, Any] = {"Job": {**failing_shard(2), "Otherwise": DONE}}
    after = {"Done": {"Type": "Succeed"}, **CAUGHT}
    definition = machine(listing(3, ToleratedFailurePercentage=40, **CATCH), after)
    run = engine.run("tolerance", definition, "within", GIVEN, mocks, s3=keys(7))
    assert run.status == "SUCCEEDED" and run.states == ["Map", "Done"], (run.error, run.cause)
    assert [c["status"] for c in run.children] == ["SUCCEEDED", "SUCCEEDED", "FAILED"]
    assert run.children[2]["error"] == "States.TaskFailed"
    assert run.children[2]["cause"] == run.children[2]["name"]
    mocks = {"Job": {**failing_shard(0), "Otherwise": DONE}}
    run = engine.run("tolerance", definition, "beyond", GIVEN, mocks, s3=keys(7))
    assert (run.status, run.states) == ("SUCCEEDED", ["Map", "Caught"])
    assert run.transitions == [("Map", "Caught", "catch")]
    assert run.output["Error"] == "States.ExceedToleratedFailureThreshold"


def test_result_writer_files_under_the_prefix_from_the_input(engine: Engine) -> None:
    writer = {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": "out", "Prefix.$": "$.results"},
    }
    definition = machine(listing(3, ToleratedFailurePercentage=50, ResultWriter=writer))
    mocks: dict[str, Any] = {"Job": {**failing_shard(1), "Otherwise": DONE}}
    run = engine.run("writer", definition, "writer", GIVEN, mocks, s3=keys(9))
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    manifest_key = run.output["ResultWriterDetails"]["Key"]
    assert run.output["ResultWriterDetails"]["Bucket"] == "out"
    folder = manifest_key.removesuffix("manifest.json")
    assert folder.startswith("results/r1/") and folder.count("/") == 3
    written = run.s3_objects["out"]
    assert sorted(written) == [f"{folder}FAILED_0.json", f"{folder}SUCCEEDED_0.json", manifest_key]
    manifest = json.loads(written[manifest_key])
    assert manifest["DestinationBucket"] == "out"
    assert manifest["MapRunArn"] == run.output["MapRunArn"]
    assert [f["Key"] for f in manifest["ResultFiles"]["FAILED"]] == [f"{folder}FAILED_0.json"]
    succeeded = json.loads(written[f"{folder}SUCCEEDED_0.json"])
    assert [json.loads(e["Output"]) for e in succeeded] == [{"TransformJobStatus": "Completed"}] * 2
    failed = json.loads(written[f"{folder}FAILED_0.json"])
    assert [(e["Status"], e["Error"]) for e in failed] == [("FAILED", "States.TaskFailed")]
    assert json.loads(failed[0]["Input"])["Items"][0]["Key"] == "data/0003.csv"


def test_the_json_reader_reads_an_array_of_items(engine: Engine) -> None:
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": "in", "Key.$": "$.manifest"},
    }
    pass_child = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    definition = machine({"ItemReader": reader, "ItemProcessor": pass_child})
    s3 = {"in": {"shards.json": json.dumps([{"shard": 0}, {"shard": 1}])}}
    given = json.dumps({"manifest": "shards.json"})
    run = engine.run("json-reader", definition, "json-reader", given, {}, s3=s3)
    assert run.output == [{"shard": 0}, {"shard": 1}]
    assert run.s3_requests == [
        {"op": "GetObject", "params": {"Bucket": "in", "Key": "shards.json"}}
    ]


def test_a_child_writes_to_s3_and_the_parent_reads_it(engine: Engine) -> None:
    put = {
        "Type": "Task",
        "QueryLanguage": "JSONata",
        "Resource": "arn:aws:states:::aws-sdk:s3:putObject",
        "Arguments": {
            "Bucket": "out",
            "Key": "{% 'done/' & $string($states.input.shard) %}",
            "Body": "{% $string($states.input) %}",
        },
        "End": True,
    }
    child = {"StartAt": "Put", "States": {"Put": put}}
    sdk = "arn:aws:states:::aws-sdk:s3:"
    after = {
        "List": {
            "Type": "Task",
            "Resource": f"{sdk}listObjectsV2",
            "Parameters": {"Bucket": "out", "Prefix": "done/", "MaxKeys": 1},
            "ResultPath": "$.listed",
            "Next": "Get",
        },
        "Get": {
            "Type": "Task",
            "Resource": f"{sdk}getObject",
            "Parameters": {"Bucket": "out", "Key.$": "$.listed.Contents[0].Key"},
            "ResultSelector": {"Body.$": "$.Body"},
            "ResultPath": "$.got",
            "Next": "Missing",
        },
        "Missing": {
            "Type": "Task",
            "Resource": f"{sdk}getObject",
            "Parameters": {"Bucket": "out", "Key": "absent"},
            "Catch": [
                {
                    "ErrorEquals": ["S3.NoSuchKeyException"],
                    "ResultPath": "$.missing",
                    "Next": "Done",
                }
            ],
            "End": True,
        },
        "Done": {"Type": "Pass", "End": True},
    }
    definition = machine(
        {"ItemsPath": "$.shards", "ResultPath": None, "ItemProcessor": child}, after
    )
    given = json.dumps({"shards": [{"shard": 0}, {"shard": 1}]})
    run = engine.run("child-s3", definition, "child-s3", given, {}, s3={"out": {}})
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    assert run.s3_objects["out"] == {"done/0": '{"shard":0}', "done/1": '{"shard":1}'}
    listed = run.output["listed"]
    assert (listed["KeyCount"], listed["IsTruncated"]) == (1, True)
    assert "NextContinuationToken" in listed and listed["Contents"][0]["Key"] == "done/0"
    assert run.output["got"] == {"Body": '{"shard":0}'}
    assert run.output["missing"]["Error"] == "S3.NoSuchKeyException"
    assert run.output["missing"]["Cause"].startswith(
        "The specified key does not exist. (Service: S3, Status"
    )
    ops = [r["op"] for r in run.s3_requests]
    assert ops == ["PutObject", "PutObject", "ListObjectsV2", "GetObject", "GetObject"]
    assert [r["execution"] for r in run.task_requests][:2] == [c["name"] for c in run.children]
    assert run.task_requests[2]["execution"] == "child-s3"


def test_by_request_answers_count_attempts_per_answer(engine: Engine) -> None:
    """The matching shard fails once then completes (a Retry); the others take Otherwise."""
    retried = {
        "0": {"Throw": {"Error": "SageMaker.AmazonSageMakerException", "Cause": "busy"}},
        "1": {"Return": {"TransformJobName": "<request:TransformJobName>", "Attempt": 2}},
    }
    mock = {
        "ByRequest": [{"When": {"TransformJobName": "*-1", "Run": "r?"}, "Answer": retried}],
        "Otherwise": {"0": {"Return": {"Attempt": 1}}},
    }
    child = json.loads(json.dumps(JOB_CHILD))
    retry = [{"ErrorEquals": ["SageMaker.AmazonSageMakerException"], "MaxAttempts": 1}]
    child["States"]["Job"]["Retry"] = retry
    definition = machine(listing(2, ItemProcessor=child))
    run = engine.run("by-request", definition, "by-request", GIVEN, {"Job": mock}, s3=keys(5))
    assert run.status == "SUCCEEDED", (run.error, run.cause)
    names = [c["name"] for c in run.children]
    assert run.output == [
        {"Attempt": 1},
        {"TransformJobName": names[1], "Attempt": 2},
        {"Attempt": 1},
    ]
    assert [r["execution"] for r in run.task_requests] == [names[0], names[1], names[1], names[2]]
    assert run.retry_waits == [1.0]
