"""Checks an API request against the operation's input shape in botocore's service model: AWS's own
contract (required and unknown members, types, enums, lengths, patterns, ranges)."""

from __future__ import annotations

from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape

from modules.config.aws_names import java_pattern

# Step Functions' names for services whose botocore name differs.
_SERVICES = {"sfn": "stepfunctions", "states": "stepfunctions"}


@cache
def _session() -> Any:
    return botocore.session.get_session()


def operation(resource_type: str, resource: str) -> OperationModel:
    """The operation a TaskScheduled event names: ("aws-sdk:s3", "listObjectsV2"),
    ("sns", "publish"), ("sagemaker", "createTransformJob.sync")."""
    service = resource_type.removeprefix("aws-sdk:")
    service = _SERVICES.get(service, service)
    action = resource.split(".")[0]
    model = _session().get_service_model(service)
    names = {name.lower(): name for name in model.operation_names}
    if action.lower() not in names:
        raise AssertionError(f"{service} has no operation {action!r}")
    return model.operation_model(names[action.lower()])


# What a ``.sync`` task returns: the describe call's result for the finished job.
_SYNC_RESULTS = {"createTransformJob": "describeTransformJob"}


def validate_result(resource_type: str, resource: str, result: dict[str, Any]) -> list[str]:
    """Every way a (mocked) task result breaks the shape of what AWS returns."""
    action, _, pattern = resource.partition(".")
    if pattern == "sync":
        action = _SYNC_RESULTS[action]
    op = operation(resource_type, action)
    problems: list[str] = []
    if op.output_shape is None:
        return [] if result == {} else [f"{op.name} returns nothing, mocked {result!r}"]
    _check(op.output_shape, result, op.name, problems, resource_type.startswith("aws-sdk:"))
    return problems


def validate(resource_type: str, resource: str, params: dict[str, Any]) -> list[str]:
    """Every way the request breaks the operation's input shape (empty: it conforms)."""
    op = operation(resource_type, resource)
    problems: list[str] = []
    assert op.input_shape is not None
    # The SDK integrations take every member name with a capital first letter (StateMachineArn
    # for the API's stateMachineArn); the optimised integrations take the API's own names.
    sdk = resource_type.startswith("aws-sdk:")
    _check(op.input_shape, params, op.name, problems, sdk)
    return problems


def _check(shape: Shape, value: Any, where: str, problems: list[str], sdk: bool) -> None:
    meta = shape.metadata
    kind = shape.type_name
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            problems.append(f"{where}: expected an object, got {value!r}")
            return
        members = {(_capital(m) if sdk else m): shape for m, shape in shape.members.items()}
        for name in shape.required_members:
            if (_capital(name) if sdk else name) not in value:
                problems.append(f"{where}: missing required member {name}")
        for name, member in value.items():
            if name not in members:
                problems.append(f"{where}: unknown member {name!r}")
            else:
                _check(members[name], member, f"{where}.{name}", problems, sdk)
        return
    if isinstance(shape, ListShape):
        if not isinstance(value, list):
            problems.append(f"{where}: expected a list, got {value!r}")
            return
        _length(meta, len(value), where, problems)
        for index, item in enumerate(value):
            _check(shape.member, item, f"{where}[{index}]", problems, sdk)
        return
    if isinstance(shape, MapShape):
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a map, got {value!r}")
            return
        _length(meta, len(value), where, problems)
        for key, item in value.items():
            _check(shape.key, key, f"{where} key {key!r}", problems, sdk)
            _check(shape.value, item, f"{where}[{key!r}]", problems, sdk)
        return
    if kind == "string":
        if not isinstance(value, str):
            problems.append(f"{where}: expected a string, got {value!r}")
            return
        if shape.enum and value not in shape.enum:
            problems.append(f"{where}: {value!r} is not one of {shape.enum}")
        _length(meta, len(value), where, problems)
        if "pattern" in meta and not java_pattern(meta["pattern"]).fullmatch(value):
            problems.append(f"{where}: {value!r} does not match {meta['pattern']!r}")
        return
    if kind in ("integer", "long", "float", "double"):
        numeric = (int,) if kind in ("integer", "long") else (int, float)
        if isinstance(value, bool) or not isinstance(value, numeric):
            problems.append(f"{where}: expected {kind}, got {value!r}")
            return
        if "min" in meta and value < meta["min"]:
            problems.append(f"{where}: {value} is below the minimum {meta['min']}")
        if "max" in meta and value > meta["max"]:
            problems.append(f"{where}: {value} is above the maximum {meta['max']}")
        return
    if kind == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{where}: expected a boolean, got {value!r}")
        return
    if kind == "blob":
        if not isinstance(value, str | bytes):
            problems.append(f"{where}: expected a blob (string), got {value!r}")
        return
    if kind == "timestamp":
        if not isinstance(value, str | int | float):
            problems.append(f"{where}: expected a timestamp, got {value!r}")
        return
    problems.append(f"{where}: shape type {kind} is not checked here")


def _length(meta: dict[str, Any], length: int, where: str, problems: list[str]) -> None:
    if "min" in meta and length < meta["min"]:
        problems.append(f"{where}: length {length} is below the minimum {meta['min']}")
    if "max" in meta and length > meta["max"]:
        problems.append(f"{where}: length {length} is above the maximum {meta['max']}")


def _capital(name: str) -> str:
    return name[:1].upper() + name[1:]
