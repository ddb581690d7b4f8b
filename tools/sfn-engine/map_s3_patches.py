"""The Distributed Map's S3 side (patches 12, 13, 14 and 17 of patches.py's docstring): its
ItemReader pages through a listing and fails as Step Functions names it, its ResultWriter writes
the result files AWS documents, its Parameters read from the state's input. Applied by
``map_patches.apply()``.
"""

from __future__ import annotations

import json
from typing import Any

from map_patches import _MAP, CHILDREN, _map_run_failed
from patches import _ASL, _attribute, _module


def patch_list_objects_pages() -> None:
    patch = "list-objects-pages"
    reader = _module(patch, f"{_MAP}.item_reader.resource_eval.resource_eval_s3").ResourceEvalS3
    _attribute(patch, reader, "_handle_list_objects_v2", 'contents = response["Contents"]')

    def list_all(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        client = reader._get_s3_client(
            resource_runtime_part=resource_runtime_part, state_credentials=state_credentials
        )
        parameters = dict(env.stack.pop())
        items: list[dict[str, Any]] = []
        while True:
            page = client.list_objects_v2(**parameters)
            for found in page.get("Contents", []):
                items.append(
                    {
                        "Etag": found["ETag"],
                        "Key": found["Key"],
                        "LastModified": int(found["LastModified"].timestamp()),
                        "Size": found["Size"],
                        "StorageClass": found.get("StorageClass", "STANDARD"),
                    }
                )
            if not page.get("IsTruncated"):
                break
            parameters["ContinuationToken"] = page["NextContinuationToken"]
        env.stack.append(items)

    reader._handle_list_objects_v2 = staticmethod(list_all)


def patch_result_writer() -> None:
    patch = "result-writer"
    writer = _module(patch, f"{_MAP}.result_writer.resource_eval.resource_eval_s3").ResourceEvalS3
    _attribute(patch, writer, "_handle_put_object", '"ResultFiles": {"FAILED": [], "PENDING": []')

    def entry(child: dict[str, Any], machine_arn: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ExecutionArn": child["arn"],
            "Input": json.dumps(child["input"], separators=(",", ":")),
            "InputDetails": {"Included": True},
            "Name": child["name"],
            "RedriveCount": 0,
            "RedriveStatus": "NOT_REDRIVABLE",
            "RedriveStatusReason": f"Execution is {child['status']} and cannot be redriven",
            "StartDate": child["start"],
            "StateMachineArn": machine_arn,
            "Status": child["status"],
            "StopDate": child["stop"],
        }
        if child["status"] == "SUCCEEDED":
            out["Output"] = json.dumps(child["output"], separators=(",", ":"))
            out["OutputDetails"] = {"Included": True}
        else:
            out.update(Error=child["error"], Cause=child["cause"])
        return out

    def write_results(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        parameters = env.stack.pop()
        env.stack.pop()  # the children's outputs: written from CHILDREN, with their status
        client = writer._get_s3_client(
            resource_runtime_part=resource_runtime_part, state_credentials=state_credentials
        )
        record = env.map_run_record_pool_manager.get_all()[-1]
        prefix = parameters.get("Prefix", "")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        folder = f"{prefix}{record.map_run_arn.split(':')[-1]}/"
        bucket = parameters["Bucket"]
        children = [c for c in CHILDREN if c["map_run_arn"] == record.map_run_arn]
        files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
        for status in ("SUCCEEDED", "FAILED"):
            chosen = [
                c for c in children if (c["status"] == "SUCCEEDED") == (status == "SUCCEEDED")
            ]
            if not chosen:
                continue
            key = f"{folder}{status}_0.json"
            body = json.dumps([entry(c, record.map_state_machine_arn) for c in chosen])
            client.put_object(Bucket=bucket, Key=key, Body=body)
            files[status].append({"Key": key, "Size": len(body.encode())})
        manifest = {
            "DestinationBucket": bucket,
            "MapRunArn": record.map_run_arn,
            "ResultFiles": files,
        }
        key = f"{folder}manifest.json"
        client.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest))
        env.stack.append(
            {"MapRunArn": record.map_run_arn, "ResultWriterDetails": {"Bucket": bucket, "Key": key}}
        )

    writer._handle_put_object = staticmethod(write_results)


def patch_result_writer_input() -> None:
    patch = "result-writer-input"
    cls = _module(patch, f"{_MAP}.result_writer.result_writer_decl").ResultWriter
    _attribute(patch, cls, "_eval_body", "self.parargs.eval(env=env)")

    def eval_body(self: Any, env: Any) -> None:
        outputs = env.stack.pop()  # the children's outputs, on the Map state's input
        state_input = env.stack[-1] if env.stack else env.states.get_input()
        env.stack.append(state_input)
        self.parargs.eval(env=env)
        parameters = env.stack.pop()
        env.stack.pop()
        env.stack.append(outputs)
        env.stack.append(parameters)
        self.resource_eval.eval_resource(env=env)

    cls._eval_body = eval_body


def patch_item_reader_failed() -> None:
    patch = "item-reader-failed"
    reader = _module(patch, f"{_MAP}.item_reader.item_reader_decl").ItemReader
    original = _attribute(patch, reader, "_eval_body", "self.resource_eval.eval_resource(env=env)")
    failure = _module(patch, f"{_ASL}.common.error_name.failure_event")

    def eval_body(self: Any, env: Any) -> None:
        try:
            original(self, env)
        except failure.FailureEventException:
            raise
        except Exception as error:  # the reader's own S3 call: what Step Functions reports
            raise _map_run_failed(patch, env, "StatesItemReaderFailed", str(error)) from error

    reader._eval_body = eval_body
