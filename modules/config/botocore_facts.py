"""What the config reads of botocore's data: service models and endpoint data, kept current by AWS,
not by us, read lazily and once per process.

Holds the request shapes (``request_member``, ``sagemaker_shape``, ``service_shape``, the Batch
Transform instance types), the regions with ``SERVICE_ENDPOINTS`` and the partitions, and
``aws_facts.json``, the cache of them. Reading botocore's models costs more than the rest of
validation (the SageMaker model alone is megabytes of JSON), so the part of them the config reads
is kept in ``aws_facts.json``: the request shapes of the operations whose names ``Names`` checks
(with every shape they reach), the regions of ``SERVICE_ENDPOINTS`` and the partitions, written
from botocore by ``python -m tools.aws_facts_cache`` (``make docs``; a test fails when it differs
from what the installed botocore gives). It is used only when written from the installed botocore's
version; anything it does not hold, or a cache from another version, is read from botocore itself.

Needs botocore (imported only when the cache cannot answer) and ``modules.config.aws_facts``
(the name limits botocore does not publish, whose models are then not read). No cdktf or provider
code: validation must stay fast.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from modules.config.aws_facts import PROSE_NAME_LIMITS

# --------------------------------------------------------------------------------------------
# What the config reads of botocore, kept in aws_facts.json

CACHE_PATH = Path(__file__).with_name("aws_facts.json")
# The endpoint prefixes a region must have (SageMaker's API and EventBridge Scheduler).
SERVICE_ENDPOINTS = ("api.sagemaker", "scheduler")
# Filled as the config's fields are defined (fields.AwsName, fields.SageMakerField): the request
# members that user-given names are checked against, and the SageMaker request shapes that values
# are checked against.
NAME_MEMBERS: set[str] = set()
SAGEMAKER_REQUESTS: set[str] = set()
# Other services' request shapes that config values are checked against, as (service, shape)
# (fields.ServiceField: Glue's Column for delivery.table's columns); cached like the SageMaker ones.
REQUEST_SHAPES: set[tuple[str, str]] = set()
# Request members whose bounds the workflow's own requests read (modules/workflow): kept in the
# cache too, so that building a workflow loads no botocore model.
WORKFLOW_MEMBERS = (
    "sagemaker:ListModelPackages.MaxResults",
    "stepfunctions:ListExecutions.maxResults",
    # transform.shards' tolerance (modules/config/shards.py)
    "stepfunctions:UpdateMapRun.toleratedFailurePercentage",
)


@functools.cache
def _cached() -> dict[str, Any]:
    """aws_facts.json if it was written from the installed botocore, else nothing."""
    from importlib.metadata import version

    try:
        cache: dict[str, Any] = json.loads(CACHE_PATH.read_text())
    except (OSError, ValueError):
        return {}
    return cache if cache.get("botocore") == version("botocore") else {}


def _shape(service: str, name: str) -> dict[str, Any]:
    shape: dict[str, Any] | None = _cached().get("shapes", {}).get(service, {}).get(name)
    return shape if shape is not None else _service_model(service)["shapes"][name]


def _input_shape(operation: str) -> str:
    """The input shape's name of ``service:Operation``."""
    name: str | None = _cached().get("operations", {}).get(operation)
    if name is None:
        service, _, action = operation.partition(":")
        name = _service_model(service)["operations"][action]["input"]["shape"]
    return name


def _reached(shapes: dict[str, Any], root: str) -> dict[str, Any]:
    """A shape and every shape it reaches (members, list items, map keys and values)."""
    found: dict[str, Any] = {}
    pending = [root]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        shape = found[name] = shapes[name]
        targets = [*shape.get("members", {}).values()]
        targets += [shape[part] for part in ("member", "key", "value") if part in shape]
        pending += [target["shape"] for target in targets]
    return found


def checked_operations() -> list[str]:
    """Every ``service:Operation`` with a request member the config checks a name against in
    botocore's models (the names ``Names`` builds, and the user-given ones: ``NAME_MEMBERS``),
    or whose bounds the workflow reads (``WORKFLOW_MEMBERS``)."""
    import modules.config  # noqa: F401 - defines the fields, which fill NAME_MEMBERS
    from modules.naming import Names

    names = Names("project", "env")
    limits = [*names.limits("0" * 12, "us-east-1"), *names.of_pipeline("pipeline").limits()]
    members = {limit.member for limit in limits} | NAME_MEMBERS | set(WORKFLOW_MEMBERS)
    return sorted({member.split(".")[0] for member in members - set(PROSE_NAME_LIMITS)})


def facts_from_botocore() -> dict[str, Any]:
    """What aws_facts.json holds, read from the installed botocore: the input shapes of
    ``checked_operations``, of ``SAGEMAKER_REQUESTS`` and of ``REQUEST_SHAPES`` with every shape
    they reach, the regions
    of ``SERVICE_ENDPOINTS``, the partitions."""
    from importlib.metadata import version

    operations: dict[str, str] = {}
    shapes: dict[str, dict[str, Any]] = {}
    for operation in checked_operations():
        service, _, action = operation.partition(":")
        model = _service_model(service)
        operations[operation] = model["operations"][action]["input"]["shape"]
        shapes.setdefault(service, {}).update(_reached(model["shapes"], operations[operation]))
    for request in SAGEMAKER_REQUESTS:
        shapes["sagemaker"].update(_reached(_service_model("sagemaker")["shapes"], request))
    for service, root in sorted(REQUEST_SHAPES):
        shapes.setdefault(service, {}).update(_reached(_service_model(service)["shapes"], root))
    return {
        "botocore": version("botocore"),
        "operations": operations,
        "shapes": shapes,
        "regions": {prefix: sorted(_regions_from_botocore(prefix)) for prefix in SERVICE_ENDPOINTS},
        "partitions": [
            [name, regex, sorted(regions)] for name, regex, regions in _read_partitions()
        ],
    }


# --------------------------------------------------------------------------------------------
# Regions and partitions, from botocore's endpoint data


@functools.cache
def _loader() -> Any:
    # One loader per process: it caches what it read (the endpoint data, the list of services it
    # checks each model's name against), so the endpoints and that list are read once.
    from botocore.loaders import Loader

    return Loader()


def _endpoints() -> dict[str, Any]:
    endpoints: dict[str, Any] = _loader().load_data("endpoints")
    return endpoints


def _regions_from_botocore(endpoint_prefix: str) -> frozenset[str]:
    # The endpoint resolver alone is ~10x faster than a full botocore session.
    from botocore.regions import EndpointResolver

    resolver = EndpointResolver(_endpoints())
    regions: set[str] = set()
    for partition in resolver.get_available_partitions():
        regions.update(resolver.get_available_endpoints(endpoint_prefix, partition))
    return frozenset(regions)


@functools.cache
def regions_with(endpoint_prefix: str) -> frozenset[str]:
    cached = _cached().get("regions", {}).get(endpoint_prefix)
    return frozenset(cached) if cached is not None else _regions_from_botocore(endpoint_prefix)


def service_regions() -> frozenset[str]:
    """The regions with every one of ``SERVICE_ENDPOINTS``."""
    return frozenset.intersection(*(regions_with(prefix) for prefix in SERVICE_ENDPOINTS))


def _read_partitions() -> tuple[tuple[str, str, frozenset[str]], ...]:
    return tuple(
        (p["partition"], p["regionRegex"], frozenset(p["regions"]))
        for p in _endpoints()["partitions"]
    )


@functools.cache
def _partitions() -> tuple[tuple[str, str, frozenset[str]], ...]:
    cached = _cached().get("partitions")
    if cached is None:
        return _read_partitions()
    return tuple((name, regex, frozenset(regions)) for name, regex, regions in cached)


def partition_of(region: str) -> str:
    """The AWS partition of a region, as botocore's endpoint data defines it."""
    for name, _, regions in _partitions():
        if region in regions:
            return name
    for name, regex, _ in _partitions():
        if re.match(regex, region):
            return name
    return "aws"


# --------------------------------------------------------------------------------------------
# Request shapes, from botocore's service models


@functools.cache
def _service_model(service: str) -> dict[str, Any]:
    model: dict[str, Any] = _loader().load_service_model(service, "service-2")
    return model


def request_member(member: str) -> dict[str, Any]:
    """The shape of a request member, named ``service:Operation.Member`` (botocore's names, e.g.
    ``iam:CreateRole.RoleName``); nested members are dotted on
    (``scheduler:CreateSchedule.Target.RetryPolicy.MaximumRetryAttempts``)."""
    operation, *names = member.split(".")
    service = operation.partition(":")[0]
    shape = _shape(service, _input_shape(operation))
    for name in names:
        shape = _shape(service, shape["members"][name]["shape"])
    return shape


def transform_instance_types() -> tuple[str, ...]:
    """Instance types SageMaker Batch Transform accepts (botocore's TransformInstanceType)."""
    return tuple(_shape("sagemaker", "TransformInstanceType")["enum"])


def service_shape(service: str, path: str) -> dict[str, Any]:
    """The shape at a path from one of a service's shapes, e.g. ``Column.Name`` of ``glue``
    (``[]`` for a list's items)."""
    root, *members = path.split(".")
    shape = _shape(service, root)
    for member in members:
        target = shape["member"] if member == "[]" else shape["members"][member]
        shape = _shape(service, target["shape"])
    return shape


def sagemaker_shape(path: str) -> dict[str, Any]:
    """The shape of a request member, e.g. ``CreateTransformJobRequest.Environment``."""
    return service_shape("sagemaker", path)
