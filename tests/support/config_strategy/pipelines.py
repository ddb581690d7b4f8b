"""Pipelines: every transform knob within its bounds, every model source (placed in any region),
prefixes, triggers and run options.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from modules.config import (
    DATA_PROCESSING_CONTENT_TYPES,
    MAX_PAYLOAD_MB,
    partition_of,
    sagemaker_shape,
)
from modules.config.athena_types import (
    CHAR_MAX_LENGTH,
    DECIMAL_MAX_PRECISION,
    SIMPLE_TYPES,
    VARCHAR_MAX_LENGTH,
)
from modules.config.aws_facts import DISTRIBUTED_MAP_MAX_CONCURRENCY, has_instance_storage
from modules.config.aws_names import name_rule
from modules.config.shards import MAX_FILES_PER_JOB, TOLERANCE_MAX, TOLERANCE_MIN
from modules.config.table import FORMAT_ACCEPT
from modules.config.transform import (
    DEFAULT_TIMEOUT_MINUTES,
    TransformConfig,
    run_timeout_seconds,
)
from tests.support.config_strategy.facts import (
    INSTANCE_TYPES,
    LOWER_ALNUM,
    PREFIX_FOLDERS,
    TRANSFORM,
)
from tests.support.config_strategy.schedules import schedules


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
    # Fallbacks: other types of the same storage kind (SageMaker's VolumeKmsKeyId rule).
    same_kind = [
        other
        for other in INSTANCE_TYPES
        if other != transform["instance_type"]
        and has_instance_storage(other) == has_instance_storage(transform["instance_type"])
    ]
    transform["fallback_instance_types"] = draw(
        st.lists(st.sampled_from(same_kind), max_size=3, unique=True)
    )
    # Shards, across their whole bounds (the tolerance's from botocore).
    transform["shards"] = {
        "files_per_job": draw(st.integers(1, MAX_FILES_PER_JOB)),
        "max_parallel_jobs": draw(st.integers(1, DISTRIBUTED_MAP_MAX_CONCURRENCY)),
        "tolerated_failed_shards_percent": draw(st.integers(TOLERANCE_MIN, TOLERANCE_MAX)),
    }
    # Keep only a random subset: the rest take their defaults.
    keep = draw(st.sets(st.sampled_from(sorted(transform))))
    if processing:  # data processing needs its content and split types
        keep |= {"content_type", "split_type", "data_processing"}
    if "max_concurrent_transforms" in keep:
        keep.add("max_payload_mb")
    if "fallback_instance_types" in keep:  # of the primary's storage kind
        keep.add("instance_type")
    return {k: v for k, v in transform.items() if k in keep}


def without_tolerated_shards(transform: dict[str, Any]) -> dict[str, Any]:
    """A transform for a pipeline with delivery: every shard must succeed (no tolerance)."""
    if "shards" not in transform:
        return transform
    return {**transform, "shards": {**transform["shards"], "tolerated_failed_shards_percent": 0}}


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
    # A copy: a value shared by two documents' places would be written as a YAML alias.
    return {**model, **json.loads(json.dumps(source["extra"]))}


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
    transform = draw(transforms())
    timeout = transform.get("timeout_minutes", DEFAULT_TIMEOUT_MINUTES)
    attempts = 1 + len(transform.get("fallback_instance_types", []))
    pipeline["schedule"], alarms = draw(schedules(prefix, run_timeout_seconds(timeout, attempts)))
    if alarms:
        pipeline["alarms"] = alarms
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
    if draw(st.booleans()):
        accept = transform.get("accept", TransformConfig.model_fields["accept"].default)
        pipeline["delivery"] = draw(deliveries(accept))
        if "transform" in pipeline:
            pipeline["transform"] = without_tolerated_shards(pipeline["transform"])
    return pipeline, source


@st.composite
def deliveries(draw: st.DrawFn, accept: str) -> dict[str, Any]:
    """A pipeline's delivery: every input accounted for, with or without tolerance, to the
    default bus or a named one (of every length the bus name's botocore rule takes), with a
    predictions table where the transform's ``accept`` is a format a table reads."""
    delivery: dict[str, Any] = {}
    formats = [fmt for fmt, accepted in FORMAT_ACCEPT.items() if accept in accepted]
    if formats and draw(st.booleans()):
        delivery["table"] = draw(tables(formats[0]))
    if draw(st.booleans()):
        # The engine's scenarios list this many inputs and more: kept small for their sake (the
        # Choice compares counts whatever their size; the bound itself is a config test's).
        delivery["allow_missing_outputs"] = draw(st.integers(0, 50))
    if draw(st.booleans()):
        longest = name_rule("events:CreateEventBus.Name").max_length
        delivery["event_bus"] = draw(st.sampled_from(["ml-events", "Team.Bus_1", "b" * longest]))
    return delivery


# Athena types of every form the table accepts (athena_types.py says which), at their bounds.
COLUMN_TYPES = [
    *SIMPLE_TYPES,
    f"decimal({DECIMAL_MAX_PRECISION},{DECIMAL_MAX_PRECISION})",
    "decimal(1)",
    f"char({CHAR_MAX_LENGTH})",
    f"varchar({VARCHAR_MAX_LENGTH})",
]


@st.composite
def tables(draw: st.DrawFn, fmt: str) -> dict[str, Any]:
    """A predictions table: columns of distinct names (none a partition key), each of a type
    Athena takes; its format given or derived; the environment's database or a named one."""
    names = draw(
        st.lists(
            st.sampled_from(["customer_id", "score", "Label", "p_1", "x" * 255, "prediction"]),
            min_size=1,
            max_size=5,
            unique_by=str.lower,
        )
    )
    table: dict[str, Any] = {
        "columns": [{"name": n, "type": draw(st.sampled_from(COLUMN_TYPES))} for n in names]
    }
    if draw(st.booleans()):
        table["format"] = fmt
    if draw(st.booleans()):
        table["database"] = draw(st.sampled_from(["analytics", "ml_predictions_2"]))
    return table
