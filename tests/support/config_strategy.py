"""Hypothesis strategies for *valid* config documents, across what the schema accepts.

``valid_configs()`` draws a whole config file (as the parsed YAML document): a project name of any
allowed length, 1-6 pipelines with every model source (image + artifact, package ARN, registry
group; in a VPC or not), cron, rate and at() schedules in time zones with and without daylight
saving, flexible windows, start and end dates, dated input folders (daily, hourly, nested), event
triggers, every transform field within its bounds, data processing, alarms, and 1-3 environments
in each supported partition, both layouts, local and S3 state with both lock kinds, subscriptions
of every protocol and every ``receives``, per-environment overrides and ``enabled`` flags.

Every bound is read from where the product reads it (the schema's own constants, botocore's
shapes through ``modules.config``, the schedule arithmetic of ``modules.schedule_window``), never
copied, so that a strategy and the validation cannot drift apart without a test noticing. The
rules that tie fields together (a model in its environment's region, prefixes that do not overlap,
the 30-character name budget) are kept by construction, not by filtering, so that drawing stays
cheap.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from modules.config import (
    DATA_PROCESSING_CONTENT_TYPES,
    LOG_RETENTION_DAYS,
    MAX_PAYLOAD_MB,
    RESERVED_ENVIRONMENT_NAME,
    RESERVED_PIPELINE_NAME,
    partition_of,
    sagemaker_shape,
    transform_instance_types,
)
from modules.config.aws_facts import KMS_PENDING_WINDOW_DAYS, SUPPORTED_PARTITIONS
from modules.config.botocore_facts import service_regions
from modules.config.schedule import EVENT_AGE, FLEXIBLE_WINDOW, RETRY_ATTEMPTS
from modules.schedule_window import MAX_FRESHNESS_HOURS, interval_hours, shortest_window_hours

# <project>-<env>-<pipeline> fits in this many characters (docs/config-reference.md: transform
# job names are it, "-" and a 32-character hash, within SageMaker's 63).
NAME_BUDGET = 30
REGIONS = sorted(r for r in service_regions() if partition_of(r) in SUPPORTED_PARTITIONS)
REGIONS_BY_PARTITION = {
    p: [r for r in REGIONS if partition_of(r) == p] for p in SUPPORTED_PARTITIONS
}
INSTANCE_TYPES = sorted(transform_instance_types())
TRANSFORM = "CreateTransformJobRequest"
TIME_ZONES = [
    "UTC",
    "Etc/GMT+5",
    "Asia/Tokyo",
    "Asia/Kolkata",  # no daylight saving, half-hour offset
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",  # daylight saving in the southern summer
    "America/St_Johns",  # daylight saving, half-hour offset
]
# Prefix folders that can never equal a pipeline name (pipeline names have no capitals, "_",
# "." or "'"): a custom prefix <folder>/<name>/ cannot start another pipeline's prefix.
PREFIX_FOLDERS = ["Data", "raw_in", "v1.2", "fraud's-events", "In(put)!"]
LOWER_ALNUM = string.ascii_lowercase + string.digits
# Dated folder pictures: daily, hourly and nested, Hive-style and plain.
DATE_PARTS = {
    "year": ["[Y0001]", "[Y]"],
    "month": ["[M01]", "[M]"],
    "day": ["[D01]", "[D]"],
    "hour": ["[H01]", "[H]"],
}


def _name(first: str, rest: str, size: int) -> st.SearchStrategy[str]:
    return st.builds(
        lambda a, b: a + b,
        st.sampled_from(first),
        st.text(alphabet=rest, min_size=size - 1, max_size=size - 1),
    )


@st.composite
def pipeline_names(draw: st.DrawFn, count: int, longest: int) -> list[str]:
    """``count`` distinct pipeline names of at most ``longest`` characters, none the other plus
    ``-...`` (their IAM patterns would overlap) and none reserved."""
    names: list[str] = []
    while len(names) < count:
        size = draw(st.integers(1, longest))
        words = draw(st.integers(1, max(1, min(3, (size + 1) // 2))))
        name = draw(_name(string.ascii_lowercase, LOWER_ALNUM, size))
        if words > 1 and size >= 3:
            cut = draw(st.integers(1, size - 2))
            name = name[:cut] + "-" + name[cut + 1 :]
        clash = any(
            n == name or n.startswith(f"{name}-") or name.startswith(f"{n}-") for n in names
        )
        if not clash and name != RESERVED_PIPELINE_NAME:
            names.append(name)
    return names


@st.composite
def cron_expressions(draw: st.DrawFn) -> str:
    minute, hour = draw(st.integers(0, 59)), draw(st.integers(0, 23))
    every = draw(st.sampled_from([2, 3, 4, 6, 8, 12]))
    return draw(
        st.sampled_from(
            [
                f"cron({minute} {hour} * * ? *)",  # daily
                f"cron({minute} * * * ? *)",  # hourly
                f"cron({minute} */{every} * * ? *)",
                "cron(0/15 * * * ? *)",
                f"cron({minute} {hour} ? * MON-FRI *)",
                f"cron({minute} {hour} ? * SUN *)",  # weekly
                f"cron({minute} {hour} 1 * ? *)",  # monthly: no derived freshness window
                f"cron({minute} {hour} L * ? *)",
            ]
        )
    )


def _future(draw: st.DrawFn, days: tuple[int, int]) -> datetime:
    now = datetime.now(UTC).replace(microsecond=0)
    return now + timedelta(days=draw(st.integers(*days)), seconds=draw(st.integers(0, 86399)))


@st.composite
def schedule_expressions(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["cron", "rate", "at"]))
    if kind == "cron":
        return draw(cron_expressions())
    if kind == "at":
        return f"at({_future(draw, (1, 3000)):%Y-%m-%dT%H:%M:%S})"
    unit = draw(st.sampled_from(["minute", "hour", "day"]))
    count = draw(st.integers(1, {"minute": 120, "hour": 48, "day": 10}[unit]))
    return f"rate({count} {unit}{'s' if count > 1 else ''})"


@st.composite
def folder_pictures(draw: st.DrawFn) -> str:
    year, month, day, hour = (draw(st.sampled_from(DATE_PARTS[p])) for p in DATE_PARTS)
    return draw(
        st.sampled_from(
            [
                f"{year}-{month}-{day}",
                f"{year}-{month}-{day}-{hour}",
                f"dt={year}-{month}-{day}/hour={hour}",
                f"{year}/{month}/{day}/{hour}",
                f"year={year}/month={month}/day={day}",
                f"v1_{year}{month}{day}.d",
                f"{year}-{month}",
            ]
        )
    )


@st.composite
def schedules(draw: st.DrawFn, prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A schedule (with the pipeline's prefix for a payload's input_prefix), and the alarms
    settings that fit it."""
    expression = draw(schedule_expressions())
    schedule: dict[str, Any] = {"expression": expression}
    alarms: dict[str, Any] = {}
    if draw(st.booleans()):
        schedule["timezone"] = draw(st.sampled_from(TIME_ZONES))
    if draw(st.booleans()):
        schedule["flexible_window_minutes"] = draw(st.integers(0, FLEXIBLE_WINDOW["max"]))
    dated = draw(st.sampled_from(["none", "start", "end", "both"]))
    if dated in ("start", "both"):
        schedule["start_date"] = _future(draw, (1, 400)).isoformat().replace("+00:00", "Z")
    if dated in ("end", "both"):
        schedule["end_date"] = _future(draw, (401, 4000)).isoformat().replace("+00:00", "Z")
    if draw(st.integers(0, 4)) == 4:
        schedule["enabled"] = False
    if draw(st.booleans()):
        schedule["retry"] = {
            "max_attempts": draw(st.integers(RETRY_ATTEMPTS["min"], RETRY_ATTEMPTS["max"])),
            "max_event_age_seconds": draw(st.integers(EVENT_AGE["min"], EVENT_AGE["max"])),
        }
    payload = draw(st.sampled_from(["none", "prefix", "extra"]))
    if payload == "prefix":
        schedule["payload"] = {"input_prefix": f"{prefix}sub'1/"}
    elif payload == "extra":
        schedule["payload"] = {"note": draw(st.text(LOWER_ALNUM + " '\"{}", max_size=12))}
    if payload != "prefix" and draw(st.booleans()):  # the two would disagree: refused
        schedule["input_folder"] = draw(folder_pictures())
    interval = interval_hours(expression)
    choice = draw(st.sampled_from(["default", "off", "explicit"]))
    if choice == "off":
        alarms["freshness"] = False
    elif choice == "explicit" and interval is not None and dated == "none":
        needed = shortest_window_hours(interval)
        if needed <= MAX_FRESHNESS_HOURS:
            alarms["freshness_window_hours"] = draw(st.integers(needed, MAX_FRESHNESS_HOURS))
    if draw(st.booleans()):
        alarms["period_seconds"] = draw(st.sampled_from([60, 300, 900, 3600]))
        alarms["dlq_messages_threshold"] = draw(st.integers(1, 100))
    return schedule, alarms


def _environment_map(max_entries: int) -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(
        st.from_regex(r"[A-Z_][A-Z0-9_]{0,15}", fullmatch=True),
        st.text(LOWER_ALNUM + "-_./: ", max_size=20),
        max_size=min(max_entries, 4),
    )


@st.composite
def transforms(draw: st.DrawFn) -> dict[str, Any]:
    """Every transform knob within SageMaker's bounds (read from botocore through the config)."""
    transform: dict[str, Any] = {"instance_type": draw(st.sampled_from(INSTANCE_TYPES))}
    count = sagemaker_shape(f"{TRANSFORM}.TransformResources.InstanceCount")
    transform["instance_count"] = draw(st.integers(count["min"], count["min"] + 9))
    transform["batch_strategy"] = draw(st.sampled_from(["MultiRecord", "SingleRecord"]))
    processing = draw(st.booleans())
    if processing:
        transform["content_type"] = draw(st.sampled_from(DATA_PROCESSING_CONTENT_TYPES))
        transform["split_type"] = draw(st.sampled_from(["None", "Line"]))
        transform["data_processing"] = {
            "input_filter": draw(st.sampled_from(["$[1:]", "$.features", "$['features']"])),
            "output_filter": draw(st.sampled_from(["$[0,-1]", "$.prediction", "$"])),
            "join_source": draw(st.sampled_from(["None", "Input"])),
        }
    else:
        transform["content_type"] = draw(
            st.sampled_from(
                ["text/csv", "application/x-image", "application/x-recordio-protobuf", "image/jpeg"]
            )
        )
        transform["split_type"] = draw(st.sampled_from(["None", "Line", "RecordIO", "TFRecord"]))
    transform["compression_type"] = draw(st.sampled_from(["None", "Gzip"]))
    transform["accept"] = draw(
        st.sampled_from(["text/csv", "application/json", "application/jsonlines"])
    )
    transform["assemble_with"] = draw(st.sampled_from(["None", "Line"]))
    payload = draw(st.integers(0, MAX_PAYLOAD_MB))
    transform["max_payload_mb"] = payload
    transform["max_concurrent_transforms"] = draw(
        st.integers(0, MAX_PAYLOAD_MB // payload if payload else 100)
    )
    environment = sagemaker_shape(f"{TRANSFORM}.Environment")
    transform["environment"] = draw(_environment_map(environment["max"]))
    timeout = sagemaker_shape(f"{TRANSFORM}.ModelClientConfig.InvocationsTimeoutInSeconds")
    retries = sagemaker_shape(f"{TRANSFORM}.ModelClientConfig.InvocationsMaxRetries")
    transform["model_client"] = {
        "invocations_timeout_seconds": draw(st.integers(timeout["min"], timeout["max"])),
        "invocations_max_retries": draw(st.integers(retries["min"], retries["max"])),
    }
    transform["timeout_minutes"] = draw(st.integers(5, 10080))
    # Keep only a random subset: the rest take their defaults.
    keep = draw(st.sets(st.sampled_from(sorted(transform))))
    if processing:  # data processing needs its content and split types
        keep |= {"content_type", "split_type", "data_processing"}
    if "max_concurrent_transforms" in keep:
        keep.add("max_payload_mb")
    return {k: v for k, v in transform.items() if k in keep}


@st.composite
def model_sources(draw: st.DrawFn) -> dict[str, Any]:
    """What a model is made of, before it is placed in a region (``model_in``)."""
    source: dict[str, Any] = {
        "kind": draw(st.sampled_from(["image", "package", "group"])),
        "account": draw(st.from_regex(r"[0-9]{12}", fullmatch=True)),
        "repository": draw(st.sampled_from(["scorer", "team/model", "a.b-c_d/e"])),
        "tag": draw(
            st.one_of(
                st.from_regex(r":[A-Za-z0-9_.-]{1,20}", fullmatch=True),
                st.from_regex(r"@sha256:[a-f0-9]{64}", fullmatch=True),
            )
        ),
        "package": draw(st.sampled_from(["fraud-models", "m", "A1-b2"])),
        "version": draw(st.integers(1, 10**6)),
    }
    extra: dict[str, Any] = {}
    if draw(st.booleans()):
        extra["environment"] = draw(_environment_map(100))
    if draw(st.booleans()):
        extra["network_isolation"] = draw(st.booleans())
    if draw(st.booleans()):
        extra["vpc"] = {
            "subnet_ids": draw(
                st.lists(
                    st.from_regex(r"subnet-[0-9a-f]{8,17}", fullmatch=True), min_size=1, max_size=3
                )
            ),
            "security_group_ids": draw(
                st.lists(
                    st.from_regex(r"sg-[0-9a-f]{8,17}", fullmatch=True), min_size=1, max_size=2
                )
            ),
        }
    source["extra"] = extra
    return source


def model_in(source: dict[str, Any], region: str, name: str) -> dict[str, Any]:
    """The model of ``source`` in ``region`` (SageMaker needs it there)."""
    partition, account = partition_of(region), source["account"]
    repository_arn = f"arn:{partition}:ecr:{region}:{account}:repository/{source['repository']}"
    if source["kind"] == "image":
        host = f"{account}.dkr.ecr.{region}.amazonaws.com"
        model = {
            "image": f"{host}/{source['repository']}{source['tag']}",
            "artifact_key": f"{name}/model.tar.gz",
        }
    elif source["kind"] == "package":
        model = {
            "model_package_arn": f"arn:{partition}:sagemaker:{region}:{account}:model-package/"
            f"{source['package']}/{source['version']}",
            "ecr_repository_arns": [repository_arn],
        }
    else:
        model = {"model_package_group": source["package"], "ecr_repository_arns": [repository_arn]}
    return {**model, **source["extra"]}


@st.composite
def pipelines(draw: st.DrawFn, name: str, region: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A pipeline defined in ``region``, and its model's source (to place it elsewhere)."""
    source = draw(model_sources())
    pipeline: dict[str, Any] = {"name": name, "model": model_in(source, region, name)}
    if draw(st.booleans()):
        pipeline["description"] = draw(st.text(LOWER_ALNUM + " .,'\"-", max_size=80))
    prefix = f"{name}/"
    if draw(st.booleans()):
        prefix = f"{draw(st.sampled_from(PREFIX_FOLDERS))}/{name}/"
        pipeline["input_prefix"] = prefix
    if draw(st.booleans()):
        pipeline["output_prefix"] = f"{draw(st.sampled_from(PREFIX_FOLDERS))}/{name}/"
    pipeline["schedule"], alarms = draw(schedules(prefix))
    if alarms:
        pipeline["alarms"] = alarms
    transform = draw(transforms())
    if transform:
        pipeline["transform"] = transform
    if draw(st.booleans()):
        pipeline["trigger"] = draw(
            st.sampled_from([{}, {"marker": "_READY"}, {"marker": "done.(1)'!"}])
        )
    for flag in (
        "skip_empty_input",
        "notify_on_empty_input",
        "write_manifest",
        "notify_on_success",
    ):
        if draw(st.booleans()):
            pipeline[flag] = draw(st.booleans())
    if draw(st.booleans()):
        pipeline["overlap"] = draw(st.sampled_from(["skip", "allow"]))
    return pipeline, source


@st.composite
def subscriptions(draw: st.DrawFn, region: str, account: str | None) -> list[dict[str, Any]]:
    partition = partition_of(region)
    lambda_account = account or "210987654321"
    endpoints = {
        "email": "oncall@example.com",
        "email-json": "alerts+json@example.org",
        "https": "https://hooks.example.com/alerts?x=1",
        "lambda": f"arn:{partition}:lambda:{region}:{lambda_account}:function:page-oncall",
        "sms": "+15555550123",
    }
    chosen = draw(st.lists(st.sampled_from(sorted(endpoints)), unique=True, max_size=4))
    return [
        {
            "protocol": protocol,
            "endpoint": endpoints[protocol],
            **(
                {"receives": draw(st.sampled_from(["page", "notices", "all"]))}
                if draw(st.booleans())
                else {}
            ),
        }
        for protocol in chosen
    ]


@st.composite
def states(draw: st.DrawFn, project: str, env: str, region: str, layout: str) -> dict[str, Any]:
    if draw(st.booleans()):
        state: dict[str, Any] = {"backend": "local"}
        if draw(st.booleans()):
            state["path"] = "state/{stack}.tfstate"
        elif layout == "single" and draw(st.booleans()):
            state["path"] = f"{env}.tfstate"
        return state
    state = {"backend": "s3", "bucket": f"{project}-tfstate-{env}"}
    if draw(st.booleans()):
        state["region"] = draw(st.sampled_from(REGIONS_BY_PARTITION[partition_of(region)]))
    if draw(st.booleans()):
        state["key_prefix"] = draw(st.sampled_from(["ml/batch", "a", "x.y_z-1"]))
    if draw(st.booleans()):
        state["lock"] = "dynamodb"
        state["dynamodb_table"] = f"{project}-locks"
    elif draw(st.booleans()):
        state["lock"] = "lockfile"
    return state


@st.composite
def environments(
    draw: st.DrawFn, project: str, name: str, region: str, account: str | None
) -> dict[str, Any]:
    """One environment's own settings (its pipelines' overrides are added by ``valid_configs``)."""
    layout = draw(st.sampled_from(["per-pipeline", "single"]))
    env: dict[str, Any] = {"region": region, "state": draw(states(project, name, region, layout))}
    if layout == "single" or draw(st.booleans()):
        env["layout"] = layout
    if account is not None:
        env["account_id"] = account
    if draw(st.booleans()):
        env["allow_destroy"] = draw(st.booleans())
    if draw(st.booleans()):
        env["log_retention_days"] = draw(st.sampled_from(LOG_RETENTION_DAYS))
    if draw(st.booleans()):
        env["kms_deletion_window_days"] = draw(st.integers(*KMS_PENDING_WINDOW_DAYS))
    if draw(st.booleans()):
        env["tags"] = {
            "team": draw(st.text(LOWER_ALNUM, min_size=1, max_size=10)),
            "cost-center": "ml/42",
        }
    if draw(st.booleans()):
        env["storage"] = {
            key: draw(st.integers(1, 3650))
            for key in draw(
                st.sets(
                    st.sampled_from(
                        [
                            "output_expiration_days",
                            "noncurrent_version_expiration_days",
                            "abort_incomplete_multipart_days",
                            "access_log_expiration_days",
                        ]
                    )
                )
            )
        }
    found = draw(subscriptions(region, account))
    if found:
        env["alerting"] = {"subscriptions": found}
    return env


@st.composite
def valid_configs(
    draw: st.DrawFn, max_pipelines: int = 6, max_environments: int = 3
) -> dict[str, Any]:
    """A config document the schema accepts (see the module docstring for what it covers)."""
    project = draw(_name(string.ascii_lowercase, LOWER_ALNUM, draw(st.integers(2, 12))))
    env_count = draw(st.integers(1, max_environments))
    env_names: list[str] = []
    while len(env_names) < env_count:
        size = draw(st.integers(2, min(8, NAME_BUDGET - 2 - len(project) - 1)))
        name = draw(_name(string.ascii_lowercase, LOWER_ALNUM, size))
        if name not in env_names and name != RESERVED_ENVIRONMENT_NAME:
            env_names.append(name)
    longest = NAME_BUDGET - 2 - len(project) - max(map(len, env_names))
    names = draw(pipeline_names(draw(st.integers(1, max_pipelines)), longest))
    partitions = draw(
        st.lists(st.sampled_from(SUPPORTED_PARTITIONS), min_size=env_count, max_size=env_count)
    )
    regions = [draw(st.sampled_from(REGIONS_BY_PARTITION[p])) for p in partitions]
    accounts = [
        draw(
            st.one_of(st.none(), st.sampled_from(["111111111111", "222222222222", "333333333333"]))
        )
        for _ in env_names
    ]
    # An account lives in one partition: the same id is never reused across partitions.
    accounts = [
        a if a is None else f"{a[:-1]}{SUPPORTED_PARTITIONS.index(p)}"
        for a, p in zip(accounts, partitions, strict=True)
    ]
    home = regions[0]
    drawn = [draw(pipelines(name, home)) for name in names]
    config: dict[str, Any] = {
        "project": project,
        "pipelines": [pipeline for pipeline, _ in drawn],
        "environments": {},
    }
    if draw(st.booleans()):
        config["defaults"] = {"region": home, "tags": {"owner": "ml-platform"}}
    for env_name, region, account in zip(env_names, regions, accounts, strict=True):
        env = draw(environments(project, env_name, region, account))
        overrides: dict[str, Any] = {}
        for pipeline, source in drawn:
            override: dict[str, Any] = {}
            if region != home:
                override["model"] = model_in(source, region, pipeline["name"])
            if draw(st.integers(0, 5)) == 5:
                override["enabled"] = False
            if draw(st.integers(0, 3)) == 3:
                override["transform"] = {"instance_type": draw(st.sampled_from(INSTANCE_TYPES))}
            if override:
                overrides[pipeline["name"]] = override
        if overrides:
            env["pipelines"] = overrides
        config["environments"][env_name] = env
    return config


def drawn(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """``count`` examples of ``strategy``, the same on every run and every worker (for tests that
    run each one through costly fixtures, such as the Step Functions engine)."""
    found: list[Any] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(example: Any) -> None:
        found.append(example)

    collect()
    return found[:count]
