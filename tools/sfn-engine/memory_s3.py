"""An in-memory S3 for the engine: the buckets of a run request (``"s3": {bucket: {key: body}}``).

It stands in for the boto S3 client the engine would create (``boto_client_for``) in the three
places that call S3: the Distributed Map's ItemReader, its ResultWriter, and ``aws-sdk:s3:*`` Task
states. Installed by driver.py whether or not patches.py is applied (it is the S3 the tests give
the engine, not a change of the engine's behaviour). Answers are shaped as the AWS SDK integration
returns them; errors are botocore ClientErrors of the modelled class (``NoSuchKey``...), which the
engine names as Step Functions does (``S3.NoSuchKeyException``).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import threading
import uuid
from typing import Any

from botocore.exceptions import ClientError

# One clock for every object: LastModified is when the run request seeded (or a task wrote) it.
_EPOCH = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
_PAGE = 1000  # S3's page size, and the most MaxKeys may ask for


def _error(code: str, message: str, status: int, operation: str, **extra: str) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message, **extra},
        "ResponseMetadata": {
            "HTTPStatusCode": status,
            "RequestId": uuid.uuid4().hex[:16].upper(),
            "HostId": base64.b64encode(uuid.uuid4().bytes).decode(),
        },
    }
    # botocore raises the modelled exception class (client.exceptions.NoSuchKey), and the engine
    # names the error after the class: S3.NoSuchKeyException.
    cls = type(code, (ClientError,), {}) if code[0].isalpha() else ClientError
    return cls(response, operation)


class _Body:
    """GetObject's streaming body, as the ItemReader reads it."""

    def __init__(self, text: str) -> None:
        self._data = text.encode()

    def read(self) -> bytes:
        return self._data


class MemoryS3:
    def __init__(self, buckets: dict[str, dict[str, str]] | None) -> None:
        self.objects: dict[str, dict[str, str]] = {
            bucket: dict(keys) for bucket, keys in (buckets or {}).items()
        }
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def _record(self, op: str, params: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append({"op": op, "params": params})

    def _bucket(self, bucket: str, operation: str) -> dict[str, str]:
        if bucket not in self.objects:
            raise _error(
                "NoSuchBucket",
                "The specified bucket does not exist",
                404,
                operation,
                BucketName=bucket,
            )
        return self.objects[bucket]

    def _object(self, params: dict[str, Any], operation: str) -> str:
        keys = self._bucket(params["Bucket"], operation)
        if params["Key"] not in keys:
            if operation == "HeadObject":  # a HEAD answer has no body: no error code either
                raise _error("404", "Not Found", 404, operation)
            raise _error(
                "NoSuchKey", "The specified key does not exist.", 404, operation, Key=params["Key"]
            )
        return keys[params["Key"]]

    @staticmethod
    def etag(body: str) -> str:
        return f'"{hashlib.md5(body.encode()).hexdigest()}"'

    @staticmethod
    def last_modified() -> datetime.datetime:
        return _EPOCH

    def get_object(self, **params: Any) -> dict[str, Any]:
        self._record("GetObject", params)
        body = self._object(params, "GetObject")
        return {
            "Body": _Body(body),
            "ContentLength": len(body.encode()),
            "ContentType": "binary/octet-stream",
            "ETag": self.etag(body),
            "LastModified": self.last_modified(),
        }

    def head_object(self, **params: Any) -> dict[str, Any]:
        self._record("HeadObject", params)
        body = self._object(params, "HeadObject")
        return {
            "ContentLength": len(body.encode()),
            "ContentType": "binary/octet-stream",
            "ETag": self.etag(body),
            "LastModified": self.last_modified(),
        }

    def put_object(self, **params: Any) -> dict[str, Any]:
        body = params.get("Body", "")
        body = body.decode() if isinstance(body, bytes) else body
        if not isinstance(body, str):  # the aws-sdk integration sends a JSON body as JSON text
            import json

            body = json.dumps(body, separators=(",", ":"))
        self._record("PutObject", {**params, "Body": body})
        with self._lock:
            self._bucket(params["Bucket"], "PutObject")[params["Key"]] = body
        return {"ETag": self.etag(body)}

    def delete_object(self, **params: Any) -> dict[str, Any]:
        self._record("DeleteObject", params)
        with self._lock:
            self._bucket(params["Bucket"], "DeleteObject").pop(params["Key"], None)
        return {}

    def list_objects_v2(self, **params: Any) -> dict[str, Any]:
        self._record("ListObjectsV2", params)
        keys = self._bucket(params["Bucket"], "ListObjectsV2")
        prefix = params.get("Prefix", "")
        max_keys = min(int(params.get("MaxKeys", _PAGE)), _PAGE)
        after = params.get("StartAfter", "")
        token = params.get("ContinuationToken")
        if token is not None:
            after = max(after, base64.b64decode(token).decode())
        chosen = sorted(k for k in keys if k.startswith(prefix) and k > after)
        page, rest = chosen[:max_keys], chosen[max_keys:]
        answer: dict[str, Any] = {
            "IsTruncated": bool(rest),
            "Name": params["Bucket"],
            "Prefix": prefix,
            "MaxKeys": max_keys,
            "KeyCount": len(page),
            "Contents": [
                {
                    "Key": key,
                    "LastModified": self.last_modified(),
                    "ETag": self.etag(keys[key]),
                    "Size": len(keys[key].encode()),
                    "StorageClass": "STANDARD",
                }
                for key in page
            ],
        }
        if not page:
            del answer["Contents"]  # S3 leaves Contents out of an empty listing
        for member in ("ContinuationToken", "StartAfter"):
            if member in params:
                answer[member] = params[member]
        if rest:
            answer["NextContinuationToken"] = base64.b64encode(page[-1].encode()).decode()
        return answer


class SdkS3:
    """The same S3 as the aws-sdk integration answers: GetObject's Body as text, dates as text."""

    def __init__(self, s3: MemoryS3) -> None:
        self._s3 = s3

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._s3, name)

        def answer(**params: Any) -> Any:
            return _texts(call(**params))

        return answer


def _texts(value: Any) -> Any:
    if isinstance(value, _Body):
        return value.read().decode()
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dict):
        return {k: _texts(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_texts(v) for v in value]
    return value


CURRENT: MemoryS3 = MemoryS3(None)

_MODULES = {
    "item_reader": "localstack.services.stepfunctions.asl.component.state.state_execution."
    "state_map.item_reader.resource_eval.resource_eval_s3",
    "result_writer": "localstack.services.stepfunctions.asl.component.state.state_execution."
    "state_map.result_writer.resource_eval.resource_eval_s3",
    "aws_sdk": "localstack.services.stepfunctions.asl.component.state.state_execution."
    "state_task.service.state_task_service_aws_sdk",
}


def install() -> None:
    """Every S3 client the engine creates is the memory S3 of the current run."""
    import importlib

    for place, name in _MODULES.items():
        module = importlib.import_module(name)
        real = module.boto_client_for  # an AttributeError here: the engine moved its S3 calls

        def client(*args: Any, _real: Any = real, _place: str = place, **kwargs: Any) -> Any:
            if kwargs.get("service") != "s3":
                return _real(*args, **kwargs)
            return SdkS3(CURRENT) if _place == "aws_sdk" else CURRENT

        module.boto_client_for = client


def reset(buckets: dict[str, dict[str, str]] | None) -> MemoryS3:
    global CURRENT
    CURRENT = MemoryS3(buckets)
    return CURRENT
