"""AWS facts the config is checked against.

What AWS publishes in machine-readable form is read from botocore's data (service models and
endpoint data, kept current by AWS, not by us), lazily and once per process. What AWS states only
in prose is written here once, with where it comes from. No cdktf or provider code: validation
must stay fast.

Reading botocore's models costs more than the rest of validation (the SageMaker model alone is
megabytes of JSON), so the part of them the config reads is kept in ``aws_facts.json``: the
request shapes of the operations whose names ``Names`` checks (with every shape they reach), the
regions of ``SERVICE_ENDPOINTS`` and the partitions, written from botocore by
``python -m tools.aws_facts_cache`` (``make docs``; a test fails when it differs from what the
installed botocore gives). It is used only when written from the installed botocore's version;
anything it does not hold, or a cache from another version, is read from botocore itself.
"""

from __future__ import annotations

import functools
import json
import re
import zoneinfo
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from modules.config.suggest import allowed
from modules.naming import Limit

LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip

# Instance families with local NVMe instance storage (besides the "...d" families like m5d).
INSTANCE_STORE_FAMILIES = frozenset(
    {"g4dn", "g5", "g6", "g6e", "p3dn", "p4d", "p4de", "p5", "p5e", "trn1", "trn1n", "trn2"}
)

# SageMaker CreateTransformJob: MaxPayloadInMB, and MaxConcurrentTransforms x MaxPayloadInMB, at
# most 100 (stated in the API reference's prose, not in its model).
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTransformJob.html
MAX_PAYLOAD_MB = 100
# Content types SageMaker's data processing (filters, join) can read, with split type None or Line.
# https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform-data-processing.html
DATA_PROCESSING_CONTENT_TYPES = ("text/csv", "application/json", "application/jsonlines")

# EventBridge Scheduler: CreateSchedule/UpdateSchedule refuse a StartDate more than 5 minutes in
# the past (recurring schedules), and Terraform sends it again with every later update.
START_DATE_GRACE = timedelta(minutes=5)

# KMS ScheduleKeyDeletion: "If you include a value, it must be between 7 and 30, inclusive"
# (botocore's model says 1 to 365, which KMS refuses).
# https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html
KMS_PENDING_WINDOW_DAYS = (7, 30)

# Partitions whose service principals and console this project knows (modules/aws_context.py
# holds the per-service table). China regions (aws-cn) are refused: most of their principals are
# not "<service>.amazonaws.com.cn", and the ones this project needs are not verified.
SUPPORTED_PARTITIONS = ("aws", "aws-us-gov")


def has_instance_storage(instance_type: str) -> bool:
    """Instance types whose volumes are local NVMe (always hardware-encrypted): SageMaker refuses
    a VolumeKmsKeyId for them."""
    family = instance_type.split(".")[1]
    return family in INSTANCE_STORE_FAMILIES or bool(re.fullmatch(r"[a-z]+\d+[a-z]*d", family))


@functools.cache
def time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())  # walks the tz database: once per process


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
    botocore's models: the names ``Names`` builds, and the user-given ones (``NAME_MEMBERS``)."""
    import modules.config  # noqa: F401 - defines the fields, which fill NAME_MEMBERS
    from modules.naming import Names

    names = Names("project", "env")
    limits = [*names.limits("0" * 12, "us-east-1"), *names.of_pipeline("pipeline").limits()]
    members = {limit.member for limit in limits} | NAME_MEMBERS
    return sorted({member.split(".")[0] for member in members - set(PROSE_NAME_LIMITS)})


def facts_from_botocore() -> dict[str, Any]:
    """What aws_facts.json holds, read from the installed botocore: the input shapes of
    ``checked_operations`` and of ``SAGEMAKER_REQUESTS`` with every shape they reach, the regions
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


# Name limits AWS states only in its API references' prose: these members carry no "max" in
# botocore's models (a test fails once one does, so that botocore's value replaces the copy).
PROSE_NAME_LIMITS = {
    # "A queue name can have up to 80 characters."
    "sqs:CreateQueue.QueueName": (
        80,
        "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html",
    ),
    # "Topic names ... must be between 1 and 256 characters long."
    "sns:CreateTopic.Name": (
        256,
        "https://docs.aws.amazon.com/sns/latest/api/API_CreateTopic.html",
    ),
    # "The maximum length is 255"
    "cloudwatch:PutDashboard.DashboardName": (
        255,
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutDashboard.html",
    ),
    # "Bucket names must be between 3 (min) and 63 (max) characters long."
    "s3:CreateBucket.Bucket": (
        63,
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html",
    ),
}


@dataclass(frozen=True)
class NameRule:
    """The longest name (and, where botocore has one, the pattern) a request member accepts."""

    max_length: int
    pattern: str | None
    source: str


@functools.cache
def name_rule(member: str) -> NameRule:
    """A name member's limits: botocore's, or for the few members its models give no maximum,
    ``PROSE_NAME_LIMITS`` (whose service models are then not loaded at all)."""
    if member in PROSE_NAME_LIMITS:
        max_length, page = PROSE_NAME_LIMITS[member]
        return NameRule(max_length, None, page)
    shape = request_member(member)
    service, _, request = member.partition(":")
    return NameRule(shape["max"], shape.get("pattern"), f"botocore's {service} model ({request})")


def check_name(limit: Limit) -> None:
    """Raise ValueError (one line, naming the limit's source) when AWS would refuse the name."""
    rule = name_rule(limit.member)
    if len(limit.name) > rule.max_length:
        raise ValueError(
            f"{limit.what} name {limit.name!r} is {len(limit.name)} characters; "
            f"{rule.source} allows at most {rule.max_length}"
        )
    if rule.pattern is not None and not java_pattern(rule.pattern).fullmatch(limit.name):
        raise ValueError(
            f"{limit.what} name {limit.name!r} does not match {rule.pattern} ({rule.source})"
        )


def transform_instance_types() -> tuple[str, ...]:
    """Instance types SageMaker Batch Transform accepts (botocore's TransformInstanceType)."""
    return tuple(_shape("sagemaker", "TransformInstanceType")["enum"])


def sagemaker_shape(path: str) -> dict[str, Any]:
    """The shape of a request member, e.g. ``CreateTransformJobRequest.Environment``."""
    root, *members = path.split(".")
    shape = _shape("sagemaker", root)
    for member in members:
        target = shape["member"] if member == "[]" else shape["members"][member]
        shape = _shape("sagemaker", target["shape"])
    return shape


# Bodies of character classes for the Java regex property classes botocore's patterns use. L, N, Z
# are wider than Java's (\w also has digits and "_"); M, P and S are their ASCII / basic-accent
# parts only, narrower than Java's: a value with other marks, punctuation or symbols could be
# refused where AWS would accept it (Python's re has no Unicode property classes).
_JAVA_CLASSES = {
    "L": r"\w",
    "N": r"\d",
    "Z": r"\s",
    "M": "\u0300-\u036f",
    "Digit": "0-9",
    "XDigit": "0-9a-fA-F",
    "Alpha": "a-zA-Z",
    "Alnum": "a-zA-Z0-9",
    "Space": r"\s",
    "Punct": r"!-/:-@\[-`{-~",
    "P": r"!-/:-@\[-`{-~",
    "S": r"$+<=>^`|~",
    "Zs": " \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000",
    "ASCII": "\x00-\x7f",
}


@functools.cache
def java_pattern(pattern: str) -> re.Pattern[str]:
    r"""A botocore pattern (a Java regular expression) as a Python one: property classes
    (``\p{L}``, ...) rewritten inside or outside ``[...]``, UTF-16 surrogate pairs as code points,
    a ``-`` after a class escape inside ``[...]`` as the literal Java reads, a quantifier on ``$``
    dropped (Java allows it; it changes nothing). ``.`` also matches a newline (wider than Java's).
    The one converter of the project: the config checks and tests/aws_shapes.py."""
    out: list[str] = []
    in_class, i = False, 0
    while i < len(pattern):
        rest = pattern[i:]
        escape = None
        if match := re.match(r"\\p\{(\w+)\}", rest):
            body = _JAVA_CLASSES[match[1]]
            escape = body if in_class else f"[{body}]"
        elif match := re.match(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", rest, re.I):
            high, low = int(match[1], 16), int(match[2], 16)
            escape = f"\\U{0x10000 + (high - 0xD800) * 0x400 + (low - 0xDC00):08X}"
        elif match := re.match(r"\\.", rest):
            escape = match[0]
        elif not in_class and (match := re.match(r"\$\{\d+(,\d*)?\}", rest)):
            escape = "$"
        if match:
            out.append(escape or "")
            i += match.end()
            if in_class and match[0][1] in "pwdsWDS" and pattern[i : i + 1] == "-":
                out.append("\\-")  # "[\w-_]": after a class, Java reads "-" as itself
                i += 1
            continue
        char = pattern[i]
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return re.compile("".join(out), re.DOTALL)


def check_shape(value: Any, shape: dict[str, Any], what: str) -> None:
    """Raise ValueError when AWS's API model would refuse this value for this shape."""
    kind = shape["type"]
    if kind == "string":
        if "enum" in shape and value not in shape["enum"]:
            hint = allowed(value, shape["enum"], f"{what}s")
            raise ValueError(f"{value!r} is not a {what}{hint}")
        if not shape.get("min", 0) <= len(value) <= shape.get("max", len(value)):
            raise ValueError(
                f"{what} must be {shape.get('min', 0)} to {shape['max']} characters "
                f"(SageMaker's limit), got {len(value)}"
            )
        if "pattern" in shape and not java_pattern(shape["pattern"]).fullmatch(value):
            raise ValueError(f"{what} {value!r} does not match SageMaker's {shape['pattern']!r}")
    elif kind in ("integer", "long"):
        low, high = shape.get("min"), shape.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = (
                f"from {low} to {high}"
                if low is not None and high is not None
                else f"at least {low}"
                if low is not None
                else f"at most {high}"
            )
            raise ValueError(f"{what} must be {bounds} (SageMaker's limit), got {value}")
    elif kind == "map":
        if len(value) > shape.get("max", len(value)):
            raise ValueError(
                f"{what} may hold at most {shape['max']} entries (SageMaker's limit), "
                f"got {len(value)}"
            )
        for key, item in value.items():
            check_shape(key, _shape("sagemaker", shape["key"]["shape"]), f"{what} key")
            check_shape(item, _shape("sagemaker", shape["value"]["shape"]), f"{what} value")
    elif kind == "list":
        if not shape.get("min", 0) <= len(value) <= shape.get("max", len(value)):
            raise ValueError(
                f"{what} must hold {shape.get('min', 0)} to {shape['max']} items "
                f"(SageMaker's limit), got {len(value)}"
            )
        for item in value:
            check_shape(item, _shape("sagemaker", shape["member"]["shape"]), f"{what} item")


def describe_shape(path: str) -> str:
    """A request member's limits in a few words, for the config reference."""
    shape = sagemaker_shape(path)
    parts = []
    if "enum" in shape:
        parts.append(f"{len(shape['enum'])} values")
    unit = {"string": "length ", "map": "entries ", "list": "items "}.get(shape["type"], "")
    if "min" in shape and shape["min"] > 0:
        parts.append(f"{unit}≥ {shape['min']}")
    if "max" in shape:
        parts.append(f"{unit}≤ {shape['max']}")
    return ", ".join(parts)
