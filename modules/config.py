"""Typed, validated configuration: the only way settings reach the stacks.

A config file (YAML) describes the project, its pipelines and its environments. Each environment
gets the project ``defaults`` deep-merged under its own settings, and each pipeline gets the
environment's ``pipelines.<name>`` overrides deep-merged over its shared definition. The merged
result is validated by pydantic models that forbid unknown keys and know AWS's naming rules, so a
mistake is reported before the (slow) AWS provider bindings are loaded and before anything is
written.

This module imports no cdktf or provider code on purpose: validation must stay fast.
"""

from __future__ import annotations

import copy
import functools
import os
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "config" / "pipelines.yaml"
CONFIG_PATH_ENV_VAR = "PIPELINE_CONFIG"

# SageMaker's transform job names: at most 63 characters of ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}.
# A job name is "<pipeline prefix>-<32 hex characters of MD5(execution name)>", so the prefix may
# use at most 63 - 1 - 32 characters.
RUN_HASH_LENGTH = 32
MAX_JOB_PREFIX_LENGTH = 63 - 1 - RUN_HASH_LENGTH

LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip

_PROJECT_RE = r"^[a-z][a-z0-9]{1,11}$"
_ENVIRONMENT_RE = r"^[a-z][a-z0-9]{1,7}$"
# Stack names are <project>-<env>-<pipeline>; this one is the dashboard's stack.
RESERVED_PIPELINE_NAME = "dashboard"
_PIPELINE_RE = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$"
_ACCOUNT_RE = r"^\d{12}$"
# No "*": prefixes end up in StringMatches and IAM s3:prefix conditions, where it is a wildcard.
_S3_KEY_PREFIX_RE = r"^([A-Za-z0-9!_.'()-]+/)+$"
_BUCKET_RE = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"
_ECR_IMAGE_RE = (
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
    r"(?P<repository>[a-z0-9]+(?:[._/-][a-z0-9]+)*)(:[A-Za-z0-9_.-]{1,128}|@sha256:[a-f0-9]{64})$"
)
_MODEL_PACKAGE_ARN_RE = (
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    r"/\d+$"
)
_MODEL_PACKAGE_GROUP_RE = r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
_ECR_REPOSITORY_ARN_RE = (
    r"^arn:aws[a-z-]*:ecr:[a-z0-9-]+:\d{12}:repository/[a-z0-9]+(?:[._/-][a-z0-9]+)*$"
)
_MARKER_RE = r"^[A-Za-z0-9!_.'()-]{1,128}$"
_RATE_RE = r"^rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)$"
_AT_RE = r"^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$"
_EMAIL_RE = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
_SUBNET_RE = r"^subnet-[0-9a-f]{8,17}$"
_SECURITY_GROUP_RE = r"^sg-[0-9a-f]{8,17}$"


# Instance families with local NVMe instance storage (besides the "...d" families like m5d).
_INSTANCE_STORE_FAMILIES = frozenset(
    {"g4dn", "g5", "g6", "g6e", "p3dn", "p4d", "p4de", "p5", "p5e", "trn1", "trn1n", "trn2"}
)

# CloudWatch: an alarm of 1-hour periods may evaluate at most 7 days.
MAX_FRESHNESS_HOURS = 168

# SageMaker CreateTransformJob: MaxPayloadInMB, and MaxConcurrentTransforms x MaxPayloadInMB, at
# most 100 (stated in the API reference's prose, not in its model).
MAX_PAYLOAD_MB = 100
# Content types SageMaker's data processing (filters, join) can read.
DATA_PROCESSING_CONTENT_TYPES = ("text/csv", "application/json", "application/jsonlines")

# EventBridge Scheduler: CreateSchedule/UpdateSchedule refuse a StartDate more than 5 minutes in
# the past (recurring schedules), and Terraform sends it again with every later update.
START_DATE_GRACE = timedelta(minutes=5)


def freshness_margin_hours(interval_hours: int) -> int:
    """Slack a freshness window needs over the schedule's interval: time for a run to finish,
    a late start (flexible window), and a daylight-saving shift."""
    return max(2, interval_hours // 4)


def schedule_interval_hours(expression: str) -> int | None:
    """About how many hours lie between two runs of a schedule; None when it cannot be told
    (one-time ``at()``, monthly or irregular cron)."""
    rate = re.match(r"^rate\((\d+) (minute|hour|day)s?\)$", expression)
    if rate:
        value, unit = int(rate[1]), rate[2]
        return max(1, -(-value * {"minute": 1, "hour": 60, "day": 1440}[unit] // 60))
    if not expression.startswith("cron("):
        return None
    fields = expression[5:-1].split()
    if len(fields) != 6:
        return None
    _, hour, day_of_month, month, day_of_week, _ = fields
    if month != "*" or day_of_month not in ("*", "?"):
        return None  # monthly or rarer
    if day_of_week not in ("*", "?"):
        # One weekday: weekly. Lists and ranges (MON-FRI) leave irregular gaps: no default.
        return 24 * 7 if re.fullmatch(r"[A-Za-z0-9]+", day_of_week) else None
    if hour == "*" or "/" in hour or "," in hour or "-" in hour:
        return 1
    return 24


class ConfigError(Exception):
    """A config problem, already phrased for the user: file, field and what is allowed."""


class StrictModel(BaseModel):
    """Base for every config object: unknown keys are errors and loaded objects are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------
# Facts from botocore's service models (kept current by AWS, not by us). Loaded lazily, cached.


@functools.cache
def _sagemaker_enum(shape: str) -> tuple[str, ...]:
    from botocore.loaders import Loader

    model = Loader().load_service_model("sagemaker", "service-2")
    return tuple(model["shapes"][shape]["enum"])


@functools.cache
def _regions_with(endpoint_prefix: str) -> frozenset[str]:
    # The endpoint resolver alone is ~10x faster than a full botocore session.
    from botocore.loaders import Loader
    from botocore.regions import EndpointResolver

    resolver = EndpointResolver(Loader().load_data("endpoints"))
    regions: set[str] = set()
    for partition in resolver.get_available_partitions():
        regions.update(resolver.get_available_endpoints(endpoint_prefix, partition))
    return frozenset(regions)


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())  # walks the tz database: once per process


def transform_instance_types() -> tuple[str, ...]:
    """Instance types SageMaker Batch Transform accepts (botocore's TransformInstanceType)."""
    return _sagemaker_enum("TransformInstanceType")


# Partitions whose service principals and console this project knows (modules/context.py holds
# the per-service table). China regions (aws-cn) are refused: most of their principals are not
# "<service>.amazonaws.com.cn", and the ones this project needs are not verified.
SUPPORTED_PARTITIONS = ("aws", "aws-us-gov")


@functools.cache
def _partitions() -> tuple[tuple[str, str, frozenset[str]], ...]:
    from botocore.loaders import Loader

    return tuple(
        (p["partition"], p["regionRegex"], frozenset(p["regions"]))
        for p in Loader().load_data("endpoints")["partitions"]
    )


def partition_of(region: str) -> str:
    """The AWS partition of a region, as botocore's endpoint data defines it."""
    for name, _, regions in _partitions():
        if region in regions:
            return name
    for name, regex, _ in _partitions():
        if re.match(regex, region):
            return name
    return "aws"


def _no_terraform_template(value: str) -> str:
    # Strings end up inside Terraform JSON, where "${" and "%{" start template expressions.
    if "${" in value or "%{" in value:
        raise ValueError("must not contain '${' or '%{' (Terraform template syntax)")
    return value


# The one string type of the config: every string that can reach the Terraform JSON is a TfStr
# (tests/test_config.py walks the schema to keep it so).
NO_TERRAFORM_TEMPLATE = AfterValidator(_no_terraform_template)
TfStr = Annotated[str, NO_TERRAFORM_TEMPLATE]


# --------------------------------------------------------------------------------------------
# SageMaker's own request rules, read from botocore's service model: a config field whose value
# is sent in a CreateTransformJob or CreateModel request carries a SageMakerField marker naming
# the request member, and is checked against that member's shape (length, range, pattern, map
# size, enum). tests/test_sagemaker_limits.py walks the requests the project builds and fails for
# any member fed from config without a marker.


@functools.cache
def _sagemaker_model() -> dict[str, Any]:
    from botocore.loaders import Loader

    model: dict[str, Any] = Loader().load_service_model("sagemaker", "service-2")
    return model


def sagemaker_shape(path: str) -> dict[str, Any]:
    """The shape of a request member, e.g. ``CreateTransformJobRequest.Environment``."""
    shapes = _sagemaker_model()["shapes"]
    root, *members = path.split(".")
    shape: dict[str, Any] = shapes[root]
    for member in members:
        target = shape["member"] if member == "[]" else shape["members"][member]
        shape = shapes[target["shape"]]
    return shape


def _python_pattern(pattern: str) -> str:
    # botocore patterns are Java regular expressions; the Unicode classes they use map onto
    # Python's (letters and digits -> \w, separators -> \s: slightly wider, never narrower).
    return pattern.replace(r"\p{L}", r"\w").replace(r"\p{N}", r"\d").replace(r"\p{Z}", r"\s")


def check_shape(value: Any, shape: dict[str, Any], what: str) -> None:
    """Raise ValueError when AWS's API model would refuse this value for this shape."""
    shapes = _sagemaker_model()["shapes"]
    kind = shape["type"]
    if kind == "string":
        if "enum" in shape and value not in shape["enum"]:
            shown = ", ".join(shape["enum"][:6])
            raise ValueError(f"{value!r} is not a {what} (SageMaker allows {shown}, ...)")
        if not shape.get("min", 0) <= len(value) <= shape.get("max", len(value)):
            raise ValueError(
                f"{what} must be {shape.get('min', 0)} to {shape['max']} characters "
                f"(SageMaker's limit), got {len(value)}"
            )
        if "pattern" in shape and not re.fullmatch(_python_pattern(shape["pattern"]), value):
            raise ValueError(f"{what} {value!r} does not match SageMaker's {shape['pattern']!r}")
    elif kind in ("integer", "long"):
        low, high = shape.get("min"), shape.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(
                f"{what} must be {low if low is not None else '...'} to "
                f"{high if high is not None else '...'} (SageMaker's limit), got {value}"
            )
    elif kind == "map":
        if len(value) > shape.get("max", len(value)):
            raise ValueError(
                f"{what} may hold at most {shape['max']} entries (SageMaker's limit), "
                f"got {len(value)}"
            )
        for key, item in value.items():
            check_shape(key, shapes[shape["key"]["shape"]], f"{what} key")
            check_shape(item, shapes[shape["value"]["shape"]], f"{what} value")
    elif kind == "list":
        if not shape.get("min", 0) <= len(value) <= shape.get("max", len(value)):
            raise ValueError(
                f"{what} must hold {shape.get('min', 0)} to {shape['max']} items "
                f"(SageMaker's limit), got {len(value)}"
            )
        for item in value:
            check_shape(item, shapes[shape["member"]["shape"]], f"{what} item")


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


@dataclass(frozen=True)
class SageMakerField:
    """Marks a config field as the source of a SageMaker request member (``request``: shape path
    from the request's input shape). ``template`` places the value the way the project sends it,
    with the longest values of the parts that are not from config (bucket names: 63 characters,
    run ids: 80)."""

    request: str
    what: str
    template: str = "{}"

    def __call__(self, value: Any) -> Any:
        if value is not None:
            placed = self.template.format(value) if self.template != "{}" else value
            check_shape(placed, sagemaker_shape(self.request), self.what)
        return value


def sagemaker(request: str, what: str, template: str = "{}") -> AfterValidator:
    return AfterValidator(SageMakerField(request, what, template))


_LONGEST_BUCKET = "b" * 63
_LONGEST_RUN_ID = "r" * 80
TRANSFORM = "CreateTransformJobRequest"
MODEL = "CreateModelInput"
# Pipeline and environment names are tag values of the transform jobs and per-run models.
TAG_VALUE = (
    sagemaker(f"{TRANSFORM}.Tags.[].Value", "tag value"),
    sagemaker(f"{MODEL}.Tags.[].Value", "tag value"),
)


# --------------------------------------------------------------------------------------------
# Pipeline settings


class VpcConfig(StrictModel):
    """Run the transform containers inside your VPC."""

    subnet_ids: Annotated[
        list[Annotated[TfStr, Field(pattern=_SUBNET_RE)]],
        sagemaker(f"{MODEL}.VpcConfig.Subnets", "subnet list"),
    ] = Field(description="Private subnets for the transform containers.")
    security_group_ids: Annotated[
        list[Annotated[TfStr, Field(pattern=_SECURITY_GROUP_RE)]],
        sagemaker(f"{MODEL}.VpcConfig.SecurityGroupIds", "security group list"),
    ] = Field(description="Security groups for the transform containers.")


class ModelConfig(StrictModel):
    """The model a pipeline runs: an image plus an artifact, or a Model Registry package."""

    image: Annotated[
        TfStr | None, sagemaker(f"{MODEL}.PrimaryContainer.Image", "container image")
    ] = Field(
        default=None,
        pattern=_ECR_IMAGE_RE,
        description="ECR image URI of the inference container (with a tag or digest).",
    )
    artifact_key: Annotated[
        TfStr | None,
        sagemaker(
            f"{MODEL}.PrimaryContainer.ModelDataUrl",
            "model data URL",
            f"s3://{_LONGEST_BUCKET}/{{}}",
        ),
    ] = Field(
        default=None,
        pattern=r"^[A-Za-z0-9!_.*'()/-]+\.tar\.gz$",
        description="Key of model.tar.gz in the environment's model bucket.",
    )
    model_package_arn: Annotated[
        TfStr | None, sagemaker(f"{MODEL}.PrimaryContainer.ModelPackageName", "model package")
    ] = Field(
        default=None,
        pattern=_MODEL_PACKAGE_ARN_RE,
        description="A versioned Model Registry package to deploy instead of image + artifact.",
    )
    model_package_group: TfStr | None = Field(
        default=None,
        pattern=_MODEL_PACKAGE_GROUP_RE,
        description="Model Registry group: each run uses its newest Approved package.",
    )
    ecr_repository_arns: list[Annotated[TfStr, Field(pattern=_ECR_REPOSITORY_ARN_RE)]] = Field(
        default_factory=list,
        max_length=10,
        description="ECR repositories the registry packages' images come from (pull permission); "
        "their artifacts must be under <models bucket>/<pipeline>/.",
    )
    environment: Annotated[
        dict[TfStr, TfStr],
        sagemaker(f"{MODEL}.PrimaryContainer.Environment", "container environment"),
    ] = Field(default_factory=dict, description="Environment variables of the inference container.")
    network_isolation: Annotated[
        bool, sagemaker(f"{MODEL}.EnableNetworkIsolation", "network isolation")
    ] = Field(default=True, description="Deny the container all network access (secure default).")
    vpc: VpcConfig | None = Field(default=None, description="Optional VPC placement.")

    @model_validator(mode="after")
    def _one_source(self) -> ModelConfig:
        from_image = self.image is not None or self.artifact_key is not None
        sources = [
            from_image,
            self.model_package_arn is not None,
            self.model_package_group is not None,
        ]
        if sum(sources) > 1:
            raise ValueError(
                "give one of image + artifact_key, model_package_arn or model_package_group"
            )
        if not any(sources[1:]) and (self.image is None or self.artifact_key is None):
            raise ValueError(
                "needs both image and artifact_key (or a model_package_arn / model_package_group)"
            )
        if (sources[1] or sources[2]) and not self.ecr_repository_arns:
            # The package's image is pulled with the execution role: it needs the repository.
            raise ValueError(
                "a model_package_arn / model_package_group needs ecr_repository_arns: the "
                "repositories of the packages' images, which the execution role may pull from"
            )
        if self.ecr_repository_arns and self.image is not None:
            raise ValueError(
                "ecr_repository_arns is for registry packages; an image grants its own repository"
            )
        return self

    @property
    def resolved_per_run(self) -> bool:
        """The model is created per run from the newest approved package of a group."""
        return self.model_package_group is not None

    @property
    def ecr_repository(self) -> tuple[str, str, str] | None:
        """(account, region, repository) of the image, for a pull permission scoped to it."""
        if self.image is None:
            return None
        match = re.match(_ECR_IMAGE_RE, self.image)
        assert match is not None  # guaranteed by the field pattern
        return match["account"], match["region"], match["repository"]


class RetryPolicy(StrictModel):
    """How hard EventBridge Scheduler tries to start a run (not to re-run a failed one)."""

    max_attempts: int = Field(default=3, ge=0, le=185, description="Retries to start a run.")
    max_event_age_seconds: int = Field(
        default=3600, ge=60, le=86400, description="Give up starting a run after this long."
    )


class ScheduleConfig(StrictModel):
    """When a pipeline runs."""

    expression: TfStr = Field(
        description="EventBridge Scheduler expression: cron(...), rate(...) or at(...)."
    )
    timezone: TfStr = Field(default="UTC", description="IANA time zone the expression is read in.")
    flexible_window_minutes: int = Field(
        default=0, ge=0, le=1440, description="Let Scheduler start up to this late (0 = exact)."
    )
    start_date: datetime | None = Field(default=None, description="No runs before this time.")
    end_date: datetime | None = Field(default=None, description="No runs after this time.")
    enabled: bool = Field(default=True, description="Whether the schedule fires.")
    retry: RetryPolicy = Field(
        default_factory=RetryPolicy, description="Retries to start a run: see Retry policy."
    )
    payload: dict[TfStr, Any] = Field(
        default_factory=dict,
        description="Extra keys for the run input (e.g. input_prefix to read another prefix).",
    )
    input_folder: TfStr | None = Field(
        default=None,
        pattern=r"^([A-Za-z0-9_.=-]|\[[YMDHmsfdFWw0-9#,]+\])+$",
        description="Scheduled runs read <input prefix><folder>/, the folder named from the "
        "scheduled time (UTC) with this JSONata date picture, e.g. [Y0001]-[M01]-[D01]. "
        "Without it they read the whole input prefix.",
    )

    @field_validator("expression")
    @classmethod
    def _valid_expression(cls, value: str) -> str:
        if value.startswith("cron(") and value.endswith(")"):
            from aws_cron_expression_validator.validator import AWSCronExpressionValidator

            try:
                AWSCronExpressionValidator.validate(value[5:-1])
            except ValueError as error:
                raise ValueError(f"invalid cron expression {value!r}: {error}") from None
            return value
        if re.match(_RATE_RE, value) or re.match(_AT_RE, value):
            return value
        raise ValueError(
            f"{value!r} is not a schedule expression; use cron(min hour day month weekday year), "
            "rate(N minutes|hours|days) or at(yyyy-mm-ddThh:mm:ss)"
        )

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        if value not in _time_zones():
            raise ValueError(f"{value!r} is not an IANA time zone name (e.g. 'Europe/Berlin')")
        return value

    @field_validator("payload")
    @classmethod
    def _safe_payload(cls, value: dict[str, Any]) -> dict[str, Any]:
        import json

        _no_terraform_template(json.dumps(value))
        return value

    @model_validator(mode="after")
    def _dates_in_order(self) -> ScheduleConfig:
        start, end = _utc(self.start_date), _utc(self.end_date)
        if start and end and start >= end:
            raise ValueError("start_date must be before end_date")
        if start and start < datetime.now(UTC) - START_DATE_GRACE:
            raise ValueError(
                f"start_date {start:%Y-%m-%dT%H:%M:%SZ} has passed; EventBridge Scheduler refuses "
                "a start date more than 5 minutes in the past (on create and on every update), "
                "so remove it once the schedule has started"
            )
        return self


def _utc(value: datetime | None) -> datetime | None:
    """A date-time without an offset is read as UTC (as the scheduler layer writes it)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class DataProcessing(StrictModel):
    """Filter and join records around the model (SageMaker DataProcessing)."""

    input_filter: Annotated[
        TfStr | None, sagemaker(f"{TRANSFORM}.DataProcessing.InputFilter", "input filter")
    ] = Field(default=None, description="JSONPath selecting what is sent to the model.")
    output_filter: Annotated[
        TfStr | None, sagemaker(f"{TRANSFORM}.DataProcessing.OutputFilter", "output filter")
    ] = Field(default=None, description="JSONPath selecting what is written.")
    join_source: Annotated[
        Literal["None", "Input"], sagemaker(f"{TRANSFORM}.DataProcessing.JoinSource", "join")
    ] = Field(default="None", description="Input: join each prediction to its input record.")


class ModelClient(StrictModel):
    """How the transform job calls the container."""

    invocations_timeout_seconds: Annotated[
        int,
        sagemaker(
            f"{TRANSFORM}.ModelClientConfig.InvocationsTimeoutInSeconds", "invocation timeout"
        ),
    ] = Field(default=600, description="Timeout of one request to the container.")
    invocations_max_retries: Annotated[
        int,
        sagemaker(f"{TRANSFORM}.ModelClientConfig.InvocationsMaxRetries", "invocation retries"),
    ] = Field(default=1, description="Retries of a failed request to the container.")


class TransformConfig(StrictModel):
    """The Batch Transform job each run starts."""

    instance_type: Annotated[
        TfStr,
        sagemaker(f"{TRANSFORM}.TransformResources.InstanceType", "Batch Transform instance type"),
    ] = Field(default="ml.m5.xlarge", description="Transform instance type.")
    instance_count: Annotated[
        int, sagemaker(f"{TRANSFORM}.TransformResources.InstanceCount", "instance count")
    ] = Field(default=1, description="Instances per job.")
    batch_strategy: Annotated[
        Literal["MultiRecord", "SingleRecord"],
        sagemaker(f"{TRANSFORM}.BatchStrategy", "batch strategy"),
    ] = Field(default="MultiRecord", description="Records per request to the container.")
    split_type: Annotated[
        Literal["None", "Line", "RecordIO", "TFRecord"],
        sagemaker(f"{TRANSFORM}.TransformInput.SplitType", "split type"),
    ] = Field(default="Line", description="How input files are split into records.")
    compression_type: Annotated[
        Literal["None", "Gzip"],
        sagemaker(f"{TRANSFORM}.TransformInput.CompressionType", "compression type"),
    ] = Field(default="None", description="Compression of the input files.")
    content_type: Annotated[
        TfStr, sagemaker(f"{TRANSFORM}.TransformInput.ContentType", "content type")
    ] = Field(default="text/csv", min_length=1, description="MIME type of the input.")
    accept: Annotated[TfStr, sagemaker(f"{TRANSFORM}.TransformOutput.Accept", "accept type")] = (
        Field(default="text/csv", min_length=1, description="MIME type of the output.")
    )
    assemble_with: Annotated[
        Literal["None", "Line"],
        sagemaker(f"{TRANSFORM}.TransformOutput.AssembleWith", "output assembly"),
    ] = Field(default="Line", description="How output records are joined.")
    max_payload_mb: Annotated[int, sagemaker(f"{TRANSFORM}.MaxPayloadInMB", "max payload")] = Field(
        default=6, description="Largest request to the container (MB)."
    )
    max_concurrent_transforms: Annotated[
        int, sagemaker(f"{TRANSFORM}.MaxConcurrentTransforms", "max concurrent transforms")
    ] = Field(default=0, description="0 = auto.")
    environment: Annotated[
        dict[TfStr, TfStr], sagemaker(f"{TRANSFORM}.Environment", "transform environment")
    ] = Field(default_factory=dict, description="Environment variables for the transform job.")
    data_processing: DataProcessing = Field(
        default_factory=DataProcessing, description="See Data processing."
    )
    model_client: ModelClient = Field(default_factory=ModelClient, description="See Model client.")
    timeout_minutes: int = Field(
        default=360, ge=5, le=10080, description="A run is stopped and failed after this long."
    )

    @model_validator(mode="after")
    def _rules_across_fields(self) -> TransformConfig:
        # Rules SageMaker states in prose, not in its API model: each written once, with its page.
        # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTransformJob.html
        if self.max_payload_mb > MAX_PAYLOAD_MB:
            raise ValueError(f"max_payload_mb may be at most {MAX_PAYLOAD_MB} (SageMaker's limit)")
        product = self.max_concurrent_transforms * self.max_payload_mb
        if product > MAX_PAYLOAD_MB:
            raise ValueError(
                f"max_concurrent_transforms x max_payload_mb is {product}; SageMaker allows at "
                f"most {MAX_PAYLOAD_MB} (MB in flight per instance)"
            )
        # https://docs.aws.amazon.com/sagemaker/latest/dg/batch-transform-data-processing.html
        processing = self.data_processing
        if (
            processing.input_filter or processing.output_filter or processing.join_source != "None"
        ) and (
            self.content_type not in DATA_PROCESSING_CONTENT_TYPES
            or self.split_type in ("RecordIO", "TFRecord")
        ):
            raise ValueError(
                "data_processing (filters, join_source) works only on CSV and JSON / JSON Lines "
                f"input: content_type must be one of {', '.join(DATA_PROCESSING_CONTENT_TYPES)} "
                f"and split_type None or Line (got {self.content_type}, {self.split_type})"
            )
        return self

    @property
    def has_instance_storage(self) -> bool:
        """Instance types whose volumes are local NVMe (always hardware-encrypted): SageMaker
        refuses a VolumeKmsKeyId for them."""
        family = self.instance_type.split(".")[1]
        return family in _INSTANCE_STORE_FAMILIES or bool(re.fullmatch(r"[a-z]+\d+[a-z]*d", family))


class PipelineAlarms(StrictModel):
    """Thresholds of a pipeline's alarms."""

    period_seconds: Literal[60, 300, 900, 3600] = Field(
        default=300, description="Period of the execution and DLQ alarms."
    )
    dlq_messages_threshold: int = Field(
        default=1, ge=1, description="Undelivered runs in the DLQ that raise the alarm."
    )
    freshness: bool = Field(
        default=True,
        description="Alarm when no run succeeded within freshness_window_hours (catches a "
        "schedule that silently stopped). Off for disabled and one-time schedules.",
    )
    freshness_window_hours: int | None = Field(
        default=None,
        ge=1,
        le=MAX_FRESHNESS_HOURS,
        description="Default: derived from the schedule (about twice its interval).",
    )


class EventTrigger(StrictModel):
    """Start a run when a marker object lands under the pipeline's input prefix."""

    marker: TfStr = Field(
        default="_SUCCESS",
        pattern=_MARKER_RE,
        description="Object name that marks a complete input folder, e.g. _SUCCESS.",
    )


class PipelineConfig(StrictModel):
    """One model scored on one schedule."""

    name: Annotated[TfStr, *TAG_VALUE] = Field(
        pattern=_PIPELINE_RE, max_length=24, description="Pipeline name."
    )
    description: TfStr = Field(default="", max_length=256, description="Free text, on resources.")
    model: ModelConfig = Field(description="What runs: see Model.")
    schedule: ScheduleConfig = Field(description="When it runs: see Schedule.")
    transform: TransformConfig = Field(
        default_factory=TransformConfig, description="How it runs: see Transform."
    )
    input_prefix: Annotated[
        TfStr | None,
        sagemaker(
            f"{TRANSFORM}.TransformInput.DataSource.S3DataSource.S3Uri",
            "input location",
            f"s3://{_LONGEST_BUCKET}/{{}}",
        ),
    ] = Field(
        default=None,
        pattern=_S3_KEY_PREFIX_RE,
        description="Default input prefix in the input bucket (default '<name>/').",
    )
    output_prefix: Annotated[
        TfStr | None,
        sagemaker(
            f"{TRANSFORM}.TransformOutput.S3OutputPath",
            "output location",
            f"s3://{_LONGEST_BUCKET}/{{}}{_LONGEST_RUN_ID}/",
        ),
    ] = Field(
        default=None,
        pattern=_S3_KEY_PREFIX_RE,
        description="Output prefix in the output bucket (default '<name>/'); "
        "each run writes under '<prefix><run id>/'.",
    )
    alarms: PipelineAlarms = Field(default_factory=PipelineAlarms, description="See Alarms.")
    overlap: Literal["skip", "allow"] = Field(
        default="skip",
        description="A run that starts while another is running: skip it (finish as "
        "'skipped' and notify) or allow both.",
    )
    trigger: EventTrigger | None = Field(
        default=None, description="Also start runs from S3 marker objects (off by default)."
    )
    skip_empty_input: bool = Field(
        default=True,
        description="End a run cleanly as 'no input' when its input prefix holds no objects.",
    )
    notify_on_empty_input: bool = Field(default=False, description="Notify on 'no input' runs.")
    write_manifest: bool = Field(
        default=True,
        description="Write <output prefix><run id>/_manifest.json after a successful run.",
    )
    notify_on_success: bool = Field(default=False, description="Notify on successful runs.")

    @model_validator(mode="after")
    def _freshness_window_has_margin(self) -> PipelineConfig:
        window = self.alarms.freshness_window_hours
        interval = schedule_interval_hours(self.schedule.expression)
        if window is None or interval is None or not self.alarms.freshness:
            return self
        needed = interval + freshness_margin_hours(interval)
        if window < needed:
            if needed > MAX_FRESHNESS_HOURS:
                raise ValueError(
                    f"alarms.freshness_window_hours {window} leaves no margin over the schedule's "
                    f"{interval} h interval, and CloudWatch evaluates at most "
                    f"{MAX_FRESHNESS_HOURS} h: set alarms.freshness: false for this schedule"
                )
            raise ValueError(
                f"alarms.freshness_window_hours {window} is too short: at least {needed} for "
                f"this schedule (interval {interval} h + {needed - interval} h for a run to "
                "finish, a late start or a daylight-saving shift)"
            )
        return self

    @property
    def freshness_window_hours(self) -> int | None:
        """Hours without a successful run before the freshness alarm fires, or None for none."""
        if not self.alarms.freshness or not self.schedule.enabled:
            return None
        if self.alarms.freshness_window_hours is not None:
            return self.alarms.freshness_window_hours
        interval = schedule_interval_hours(self.schedule.expression)
        if interval is None:
            return None
        window = interval + freshness_margin_hours(interval)  # one missed run + time to finish
        return window if window <= MAX_FRESHNESS_HOURS else None

    @property
    def default_input_prefix(self) -> str:
        return self.input_prefix or f"{self.name}/"

    @property
    def run_output_prefix(self) -> str:
        return self.output_prefix or f"{self.name}/"


# --------------------------------------------------------------------------------------------
# Environment settings


class LocalState(StrictModel):
    """Terraform state in a local file (the default dev environment; no AWS account needed)."""

    backend: Literal["local"] = Field(description="Selects this kind of state.")
    path: TfStr | None = Field(
        default=None,
        description=(
            "State file, relative to cdktf.out/stacks/<stack>/; `{stack}` stands for the stack "
            "name and is required with layout per-pipeline, where every stack has its own state "
            "(default ../../../terraform.{stack}.tfstate)."
        ),
    )


class S3State(StrictModel):
    """Remote state in S3: encrypted, locked, one key per stack."""

    backend: Literal["s3"] = Field(description="Selects this kind of state.")
    bucket: TfStr = Field(
        pattern=_BUCKET_RE, description="State bucket (from the bootstrap stack)."
    )
    region: TfStr | None = Field(
        default=None, description="Bucket region (default: environment's)."
    )
    key_prefix: TfStr = Field(
        default="cdktf",
        pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$",
        description="State keys are <key_prefix>/<stack>.tfstate.",
    )
    lock: Literal["lockfile", "dynamodb"] = Field(
        default="lockfile", description="S3 native lock file (Terraform >= 1.10) or DynamoDB."
    )
    dynamodb_table: TfStr | None = Field(
        default=None, pattern=r"^[A-Za-z0-9_.-]{3,255}$", description="Lock table (lock: dynamodb)."
    )

    @model_validator(mode="after")
    def _table_for_dynamodb(self) -> S3State:
        if self.lock == "dynamodb" and not self.dynamodb_table:
            raise ValueError("lock: dynamodb needs dynamodb_table")
        if self.lock == "lockfile" and self.dynamodb_table:
            raise ValueError("dynamodb_table is only used with lock: dynamodb")
        return self


StateConfig = Annotated[LocalState | S3State, Field(discriminator="backend")]


class Subscription(StrictModel):
    """Who hears about failures."""

    protocol: Literal["email", "email-json", "https", "lambda", "sms"] = Field(
        description="SNS protocol (sqs is refused: see the README's Alerts section)."
    )
    endpoint: TfStr = Field(min_length=3, max_length=2048, description="Address for the protocol.")

    @model_validator(mode="before")
    @classmethod
    def _no_sqs(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("protocol") == "sqs":
            raise ValueError(
                "protocol sqs is not supported: SNS delivers to a queue only when the queue's own "
                "policy (and its KMS key, if encrypted) lets this topic send, and that policy "
                "belongs to the queue's owner; subscribe the queue from its own stack"
            )
        return data

    @property
    def lambda_account(self) -> str | None:
        return self.endpoint.split(":")[4] if self.protocol == "lambda" else None

    @model_validator(mode="after")
    def _endpoint_fits_protocol(self) -> Subscription:
        checks = {
            "email": _EMAIL_RE,
            "email-json": _EMAIL_RE,
            "https": r"^https://[^\s]+$",
            "lambda": r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}"
            r"(:[A-Za-z0-9_$-]+)?$",
            "sms": r"^\+[1-9]\d{6,14}$",
        }
        if not re.match(checks[self.protocol], self.endpoint):
            raise ValueError(
                f"endpoint {self.endpoint!r} is not valid for protocol {self.protocol}"
            )
        return self


class StorageSettings(StrictModel):
    """Lifecycle of the data buckets."""

    output_expiration_days: int = Field(default=90, ge=1, description="Delete outputs after.")
    noncurrent_version_expiration_days: int = Field(
        default=30, ge=1, description="Delete overwritten object versions after."
    )
    abort_incomplete_multipart_days: int = Field(
        default=7, ge=1, description="Abort unfinished multipart uploads after."
    )
    access_log_expiration_days: int = Field(
        default=365, ge=1, description="Delete access logs after."
    )


class AlertingSettings(StrictModel):
    """Where alerts go."""

    subscriptions: list[Subscription] = Field(
        default_factory=list, description="Who is told about failures and alarms."
    )


class EnvironmentConfig(StrictModel):
    """One deployment target (account + region) and the pipelines it runs."""

    name: Annotated[TfStr, *TAG_VALUE] = Field(pattern=_ENVIRONMENT_RE)
    region: TfStr = Field(description="AWS region of the environment.")
    account_id: TfStr | None = Field(
        default=None,
        pattern=_ACCOUNT_RE,
        description="Allowed account id (provider guard); looked up at plan time when absent.",
    )
    allow_destroy: bool = Field(
        default=False, description="Let terraform destroy data (force_destroy, no protection)."
    )
    state: StateConfig = Field(description="Terraform state: see Local state / S3 state.")
    tags: dict[Annotated[TfStr, Field(min_length=1, max_length=128)], TfStr] = Field(
        default_factory=dict, description="Tags on every resource (provider default_tags)."
    )
    log_retention_days: int = Field(default=365, description="CloudWatch Logs retention (days).")
    kms_deletion_window_days: int = Field(
        default=30, ge=7, le=30, description="Waiting period before a KMS key is deleted."
    )
    storage: StorageSettings = Field(default_factory=StorageSettings, description="See Storage.")
    alerting: AlertingSettings = Field(
        default_factory=AlertingSettings, description="See Alerting."
    )
    layout: Literal["per-pipeline", "single"] = Field(
        default="per-pipeline",
        description=(
            "Stacks (Terraform states) of the environment: per-pipeline = a base stack with what "
            "pipelines share, one stack per pipeline and a dashboard stack; single = one stack."
        ),
    )
    pipelines: list[PipelineConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_state_per_stack(self) -> EnvironmentConfig:
        state = self.state
        if (
            self.layout == "per-pipeline"
            and isinstance(state, LocalState)
            and state.path is not None
            and "{stack}" not in state.path
        ):
            raise ValueError(
                f"state.path: {state.path!r} would be one file for every stack of the "
                "per-pipeline layout; put {stack} in it (e.g. 'state/{stack}.tfstate') or set "
                "layout: single"
            )
        return self

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        partition = partition_of(value)
        if partition not in SUPPORTED_PARTITIONS:
            raise ValueError(
                f"{value!r} is in the {partition} partition, which this project does not support: "
                "its service principals and console differ per service and are not verified here "
                f"(supported: {', '.join(SUPPORTED_PARTITIONS)})"
            )
        regions = _regions_with("api.sagemaker") & _regions_with("scheduler")
        if value not in regions:
            raise ValueError(
                f"{value!r} is not a region with SageMaker and EventBridge Scheduler "
                f"(e.g. {', '.join(sorted(regions)[:4])}, ...)"
            )
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"{value} is not a CloudWatch retention; use one of {LOG_RETENTION_DAYS}"
            )
        return value

    @model_validator(mode="after")
    def _lambda_in_this_account(self) -> EnvironmentConfig:
        # The aws_lambda_permission that lets the topic invoke a function is created here, so the
        # function must live in this environment's account.
        for subscription in self.alerting.subscriptions:
            account = subscription.lambda_account
            if account is not None and self.account_id is not None and account != self.account_id:
                raise ValueError(
                    f"alerting.subscriptions: lambda endpoint {subscription.endpoint} is in "
                    f"account {account}, not this environment's {self.account_id}; the function's "
                    "invoke permission for SNS can only be created in its own account"
                )
        return self

    @field_validator("pipelines")
    @classmethod
    def _unique_pipelines(cls, value: list[PipelineConfig]) -> list[PipelineConfig]:
        names = [p.name for p in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate pipeline names: {', '.join(duplicates)}")
        if RESERVED_PIPELINE_NAME in names:
            raise ValueError(
                f"pipeline name {RESERVED_PIPELINE_NAME!r} is reserved: the environment's "
                f"<project>-<env>-{RESERVED_PIPELINE_NAME} stack holds its dashboard"
            )
        # IAM and event patterns match a pipeline's jobs and models by "<prefix>-": "churn" would
        # also match "churn-eu"'s.
        for name in names:
            for other in names:
                if other.startswith(f"{name}-"):
                    raise ValueError(
                        f"pipeline names {name!r} and {other!r} overlap (one is the other plus "
                        "'-...'), so their permissions would too; rename one"
                    )
        return value

    @property
    def partition(self) -> str:
        return partition_of(self.region)


class ProjectConfig(StrictModel):
    """The whole file, after merging: the project and its environments."""

    project: TfStr = Field(pattern=_PROJECT_RE, description="Short project name, in every name.")
    environments: dict[TfStr, EnvironmentConfig] = Field(min_length=1)
    source: str = Field(default="", exclude=True, description="The file this came from.")

    @model_validator(mode="after")
    def _names_fit(self) -> ProjectConfig:
        for env in self.environments.values():
            for pipeline in env.pipelines:
                prefix = f"{self.project}-{env.name}-{pipeline.name}"
                if len(prefix) > MAX_JOB_PREFIX_LENGTH:
                    raise ValueError(
                        f"environments.{env.name}.pipelines[{pipeline.name}].name: "
                        f"'{prefix}' is {len(prefix)} characters; project, environment and "
                        f"pipeline names together may use at most {MAX_JOB_PREFIX_LENGTH} so "
                        f"that transform job names (prefix + '-' + {RUN_HASH_LENGTH}-character "
                        "run hash) fit SageMaker's 63"
                    )
        return self

    @model_validator(mode="after")
    def _state_buckets_agree(self) -> ProjectConfig:
        # One state bucket is one bootstrap resource: environments that share it must agree on
        # where it is. (Lock tables may differ: the bootstrap stack creates every one named.)
        regions: dict[str, tuple[str, str]] = {}
        for env, state in self.s3_states:
            region = state.region or env.region
            first = regions.setdefault(state.bucket, (env.name, region))
            if first[1] != region:
                raise ValueError(
                    f"environments.{env.name}.state.region: state bucket {state.bucket} is in "
                    f"{first[1]} for environment {first[0]!r} but {region} here; give it one region"
                )
        return self

    @property
    def s3_states(self) -> list[tuple[EnvironmentConfig, S3State]]:
        return [(e, e.state) for e in self.environments.values() if isinstance(e.state, S3State)]


# --------------------------------------------------------------------------------------------
# Loading


class _FileLayout(StrictModel):
    """The file as written: shared pipelines, defaults, per-environment settings and overrides."""

    project: Any = None
    defaults: dict[str, Any] = Field(default_factory=dict)
    pipelines: list[dict[str, Any]] = Field(min_length=1)
    environments: dict[str, dict[str, Any]] = Field(min_length=1)


def _deep_merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    return copy.deepcopy(override)


def _shown(name: object) -> str:
    """A user-given key or name as it may appear in a one-line message."""
    text = str(name)
    return text if re.fullmatch(r"[\w.@/-]+", text) else repr(text)


def _name_of(pipeline: Any) -> str | None:
    """A pipeline's name if it has a usable one (validation reports the rest)."""
    name = pipeline.get("name") if isinstance(pipeline, dict) else None
    return name if isinstance(name, str) else None


def _merge_environment(
    name: str, settings: dict[str, Any], defaults: dict[str, Any], pipelines: list[dict[str, Any]]
) -> dict[str, Any]:
    if not isinstance(settings, dict):
        raise ConfigError(f"environments.{_shown(name)}: must be a mapping of settings")
    merged: dict[str, Any] = _deep_merge(defaults, settings)
    overrides = merged.pop("pipelines", None) or {}
    if not isinstance(overrides, dict):
        raise ConfigError(
            f"environments.{_shown(name)}.pipelines: must map pipeline names to overrides"
        )
    known = [_name_of(p) for p in pipelines]
    unknown = sorted(map(str, set(overrides) - set(known)))
    if unknown:
        raise ConfigError(
            f"environments.{_shown(name)}.pipelines: no pipeline named "
            f"{', '.join(map(repr, unknown))} "
            f"(pipelines: {', '.join(map(str, known))})"
        )
    merged["name"] = name
    merged["pipelines"] = [
        _deep_merge(p, overrides.get(_name_of(p), {})) if isinstance(p, dict) else p
        for p in pipelines
    ]
    return merged


def _describe(error: Any, raw: dict[str, Any], layout: _FileLayout | None = None) -> str:
    """One line: where (as the user wrote it), what is wrong, what was given."""
    loc = list(error["loc"])
    parts: list[str] = []
    if loc[:1] == ["environments"] and len(loc) > 1:
        env = loc[1]
        rest = loc[2:]
        written = layout.environments.get(env, {}) if layout else {}
        from_defaults = (
            layout is not None
            and bool(rest)
            and rest[0] != "pipelines"
            and rest[0] in layout.defaults
            and rest[0] not in written
        )
        if rest[:1] == ["pipelines"] and len(rest) > 1 and isinstance(rest[1], int):
            pipelines = raw["environments"][env]["pipelines"]
            index = rest[1]
            entry = pipelines[index] if index < len(pipelines) else {}
            name = entry.get("name", index) if isinstance(entry, dict) else index
            parts.append(f"pipelines[{_shown(name)}]")
            parts.extend(_loc_names(rest[2:]))
            where = ".".join(parts) + f" (in environment {_shown(env)!r})"
        elif from_defaults:
            where = ".".join(["defaults", *_loc_names(rest)]) + f" (in environment {_shown(env)!r})"
        else:
            where = ".".join([f"environments.{_shown(env)}", *_loc_names(rest)])
    else:
        where = ".".join(_loc_names(loc)) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key (not part of the config schema)"
    elif error["type"] == "missing":
        message = "required but missing"
    elif "input" in error and error["type"] not in ("value_error", "assertion_error"):
        message += f" (got {error['input']!r})"
    return f"{where}: {message}"


def _internal_tag(item: Any, out: list[str]) -> bool:
    if item in ("local", "s3") and out and out[-1] == "state":
        return True
    return isinstance(item, str) and item.startswith(("function-", "literal["))


def _loc_names(loc: list[Any]) -> list[str]:
    # Discriminated unions and literal checks add pydantic-internal tags to the location.
    out: list[str] = []
    for item in loc:
        if isinstance(item, int):
            if out:
                out[-1] += f"[{item}]"
            else:
                out.append(f"[{item}]")
        elif not _internal_tag(item, out):
            out.append(_shown(item))
    return out


def parse_config(raw: Any, source: str) -> ProjectConfig:
    """Validate an already-parsed document; raise ConfigError naming source and field."""
    try:
        layout = _FileLayout.model_validate(raw if raw is not None else {})
    except ValidationError as error:
        raise ConfigError(f"{source}: {_describe(error.errors()[0], {})}") from None
    names = [n for n in map(_name_of, layout.pipelines) if n is not None]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        shown = ", ".join(map(_shown, duplicates))
        raise ConfigError(f"{source}: pipelines: duplicate pipeline names: {shown}")
    try:
        merged = {
            "project": layout.project,
            "environments": {
                name: _merge_environment(name, settings, layout.defaults, layout.pipelines)
                for name, settings in layout.environments.items()
            },
            "source": source,
        }
        return ProjectConfig.model_validate(merged)
    except ConfigError as error:
        raise ConfigError(f"{source}: {error}") from None
    except ValidationError as error:
        raise ConfigError(f"{source}: {_describe(error.errors()[0], merged, layout)}") from None


def load_config(path: str | os.PathLike[str] | None = None) -> ProjectConfig:
    """Read and validate the config file (argument, then $PIPELINE_CONFIG, then the default)."""
    chosen = Path(path or os.environ.get(CONFIG_PATH_ENV_VAR) or DEFAULT_CONFIG_PATH)
    try:
        text = chosen.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{chosen}: cannot read config file ({error.strerror})") from None
    try:
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "invalid YAML"
        raise ConfigError(f"{chosen}: not valid YAML{where}: {problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{chosen}: the top level must be a mapping (project, pipelines, ...)")
    return parse_config(raw, str(chosen))
