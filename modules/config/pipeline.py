"""The settings of one pipeline: its model, schedule, transform job, alarms and run options."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from modules.config.aws_facts import (
    DATA_PROCESSING_CONTENT_TYPES,
    MAX_PAYLOAD_MB,
    START_DATE_GRACE,
    has_instance_storage,
    request_member,
)
from modules.config.fields import (
    ECR_IMAGE_RE,
    IN_BUCKET,
    INPUT_S3_URI,
    LONGEST_RUN_ID,
    MARKER_RE,
    MODEL,
    MODEL_PACKAGE_ARN_RE,
    PIPELINE_RE,
    S3_KEY_PREFIX_RE,
    TAG_VALUE,
    TRANSFORM,
    EcrRepositoryArn,
    InputPrefix,
    ModelPackageGroupName,
    SageMakerField,
    ScheduleExpression,
    SecurityGroupId,
    StrictModel,
    SubnetId,
    TfStr,
    TimeZone,
    no_terraform_template,
    sagemaker,
)
from modules.schedule_window import (
    MAX_FRESHNESS_HOURS,
    default_window_hours,
    interval_hours,
    shortest_window_hours,
)


class VpcConfig(StrictModel):
    """Run the transform containers inside your VPC."""

    subnet_ids: Annotated[
        list[SubnetId],
        sagemaker(f"{MODEL}.VpcConfig.Subnets", "subnet list"),
    ] = Field(description="Private subnets for the transform containers.")
    security_group_ids: Annotated[
        list[SecurityGroupId],
        sagemaker(f"{MODEL}.VpcConfig.SecurityGroupIds", "security group list"),
    ] = Field(description="Security groups for the transform containers.")


class ModelConfig(StrictModel):
    """The model a pipeline runs: an image plus an artifact, or a Model Registry package."""

    image: Annotated[
        TfStr | None, sagemaker(f"{MODEL}.PrimaryContainer.Image", "container image")
    ] = Field(
        default=None,
        pattern=ECR_IMAGE_RE,
        description="ECR image URI of the inference container (with a tag or digest).",
    )
    artifact_key: Annotated[
        TfStr | None,
        sagemaker(
            f"{MODEL}.PrimaryContainer.ModelDataUrl",
            "model data URL",
            IN_BUCKET,
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
        pattern=MODEL_PACKAGE_ARN_RE,
        description="A versioned Model Registry package to deploy instead of image + artifact.",
    )
    model_package_group: ModelPackageGroupName | None = Field(
        default=None,
        description="Model Registry group: each run uses its newest Approved package.",
    )
    ecr_repository_arns: list[EcrRepositoryArn] = Field(
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
        match = re.match(ECR_IMAGE_RE, self.image)
        assert match is not None  # guaranteed by the field pattern
        return match["account"], match["region"], match["repository"]


# EventBridge Scheduler's bounds, from botocore's scheduler model (a small model: loaded when
# the config schema is built, so that the bounds show in the schema and the config reference).
RETRY_ATTEMPTS = request_member("scheduler:CreateSchedule.Target.RetryPolicy.MaximumRetryAttempts")
EVENT_AGE = request_member("scheduler:CreateSchedule.Target.RetryPolicy.MaximumEventAgeInSeconds")
FLEXIBLE_WINDOW = request_member(
    "scheduler:CreateSchedule.FlexibleTimeWindow.MaximumWindowInMinutes"
)


class RetryPolicy(StrictModel):
    """How hard EventBridge Scheduler tries to start a run (not to re-run a failed one)."""

    max_attempts: int = Field(
        default=3,
        ge=RETRY_ATTEMPTS["min"],
        le=RETRY_ATTEMPTS["max"],
        description="Retries to start a run.",
    )
    max_event_age_seconds: int = Field(
        default=3600,
        ge=EVENT_AGE["min"],
        le=EVENT_AGE["max"],
        description="Give up starting a run after this long.",
    )


# Run-input keys the workflow reads that Scheduler or the event trigger set: a payload that set
# them would change what every scheduled run reads.
RESERVED_PAYLOAD_KEYS = ("trigger", "scheduled_time", "marker_key")


class _PayloadPrefix(BaseModel):
    """The payload's input_prefix, checked by the same type as the pipeline's input_prefix."""

    model_config = ConfigDict(extra="allow")

    input_prefix: InputPrefix | None = None


class ScheduleConfig(StrictModel):
    """When a pipeline runs."""

    expression: ScheduleExpression = Field(
        description="EventBridge Scheduler expression: cron(...), rate(...) or at(...)."
    )
    timezone: TimeZone = Field(
        default="UTC", description="IANA time zone the expression is read in."
    )
    flexible_window_minutes: int = Field(
        default=0,
        ge=0,  # 0 is the mode OFF; Scheduler's own minimum applies to mode FLEXIBLE
        le=FLEXIBLE_WINDOW["max"],
        description="Let Scheduler start up to this late (0 = exact).",
    )
    start_date: datetime | None = Field(default=None, description="No runs before this time.")
    end_date: datetime | None = Field(default=None, description="No runs after this time.")
    enabled: bool = Field(default=True, description="Whether the schedule fires.")
    retry: RetryPolicy = Field(
        default_factory=RetryPolicy, description="Retries to start a run: see Retry policy."
    )
    payload: dict[TfStr, Any] = Field(
        default_factory=dict,
        description="Extra keys for the run input, e.g. input_prefix to read another prefix "
        f"under the pipeline's input prefix (not {', '.join(RESERVED_PAYLOAD_KEYS)}: Scheduler "
        "and the event trigger set them).",
    )
    input_folder: TfStr | None = Field(
        default=None,
        pattern=r"^([A-Za-z0-9_.=-]|\[[YMDHmsfdFWw0-9#,]+\])+$",
        description="Scheduled runs read <input prefix><folder>/, the folder named from the "
        "scheduled time (UTC) with this JSONata date picture, e.g. [Y0001]-[M01]-[D01]. "
        "Without it they read the whole input prefix.",
    )

    @field_validator("payload")
    @classmethod
    def _safe_payload(cls, value: dict[str, Any]) -> dict[str, Any]:
        no_terraform_template(json.dumps(value))
        reserved = [key for key in RESERVED_PAYLOAD_KEYS if key in value]
        if reserved:
            raise ValueError(
                f"{', '.join(reserved)} may not be set: Scheduler and the event trigger set it"
            )
        _PayloadPrefix.model_validate(value)  # errors name payload.input_prefix
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


def longest_folder(picture: str) -> str:
    """An upper bound of a date picture's rendering: each [component] as wide as the widest of
    a name (9: "September"), its own text and its width modifier."""

    def widest(component: re.Match[str]) -> str:
        body = component[1]
        width = max([9, len(body), *(int(n) for n in re.findall(r",(\d+)", body))])
        return "x" * width

    return re.sub(r"\[([^\]]*)\]", widest, picture)


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
        # Rules SageMaker states in prose, not in its API model (aws_facts has their pages).
        if self.max_payload_mb > MAX_PAYLOAD_MB:
            raise ValueError(f"max_payload_mb may be at most {MAX_PAYLOAD_MB} (SageMaker's limit)")
        product = self.max_concurrent_transforms * self.max_payload_mb
        if product > MAX_PAYLOAD_MB:
            raise ValueError(
                f"max_concurrent_transforms x max_payload_mb is {product}; SageMaker allows at "
                f"most {MAX_PAYLOAD_MB} (MB in flight per instance)"
            )
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
        return has_instance_storage(self.instance_type)


class AlarmSettings(StrictModel):
    """Thresholds of a pipeline's alarms."""

    period_seconds: Literal[60, 300, 900, 3600] = Field(
        default=300, description="Period of the execution and DLQ alarms."
    )
    dlq_messages_threshold: int = Field(
        default=1, ge=1, description="Undelivered runs in the DLQ that raise the alarm."
    )
    freshness: bool = Field(
        default=True,
        description="Alarm when no run succeeded within the freshness window (catches a "
        "schedule that silently stopped). No alarm while the schedule is disabled, nor without "
        "a window: none is derived for one-time `at()` schedules, crons tied to days of the "
        "month or to months, or with L / W / #, and schedules whose interval leaves no margin "
        "within CloudWatch's 7-day evaluation limit (weekly).",
    )
    freshness_window_hours: int | None = Field(
        default=None,
        ge=1,
        le=MAX_FRESHNESS_HOURS,
        description="Hours without a successful run before the alarm fires. Default: derived "
        "from the schedule, its longest gap between runs (a cron's hours, minutes and weekdays "
        "expanded) plus a margin of a quarter of it (at least 2 h), e.g. "
        f"{default_window_hours('rate(1 hour)')} for hourly and "
        f"{default_window_hours('rate(1 day)')} for daily schedules; none where "
        f"that exceeds {MAX_FRESHNESS_HOURS} (weekly) or the interval cannot be told. An explicit "
        "window needs the same margin.",
    )


class EventTrigger(StrictModel):
    """Start a run when a marker object lands under the pipeline's input prefix."""

    marker: TfStr = Field(
        default="_SUCCESS",
        pattern=MARKER_RE,
        description="Object name that marks a complete input folder, e.g. _SUCCESS.",
    )


class PipelineConfig(StrictModel):
    """One model scored on one schedule."""

    name: Annotated[TfStr, *TAG_VALUE] = Field(
        pattern=PIPELINE_RE, max_length=24, description="Pipeline name."
    )
    description: TfStr = Field(default="", max_length=256, description="Free text, on resources.")
    enabled: bool = Field(
        default=True,
        description="false keeps the pipeline out of the environment entirely (no stack, no "
        "dashboard widgets, no alarms); set it per environment (environments.<env>.pipelines."
        "<name>.enabled) to roll a pipeline out, or retire it, one environment at a time.",
    )
    model: ModelConfig = Field(description="What runs: see Model.")
    schedule: ScheduleConfig = Field(description="When it runs: see Schedule.")
    transform: TransformConfig = Field(
        default_factory=TransformConfig, description="How it runs: see Transform."
    )
    input_prefix: InputPrefix | None = Field(
        default=None,
        description="Default input prefix in the input bucket (default '<name>/').",
    )
    output_prefix: Annotated[
        TfStr | None,
        sagemaker(
            f"{TRANSFORM}.TransformOutput.S3OutputPath",
            "output location",
            f"{IN_BUCKET}{LONGEST_RUN_ID}/",
        ),
    ] = Field(
        default=None,
        pattern=S3_KEY_PREFIX_RE,
        description="Output prefix in the output bucket (default '<name>/'); "
        "each run writes under '<prefix><run id>/'.",
    )
    alarms: AlarmSettings = Field(default_factory=AlarmSettings, description="See Alarms.")
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
    def _run_input_under_the_pipeline(self) -> PipelineConfig:
        # What CheckRunInput would refuse at every scheduled run (RejectRunInput), refused here.
        requested = self.schedule.payload.get("input_prefix")
        if requested is not None and not requested.startswith(self.default_input_prefix):
            raise ValueError(
                f"schedule.payload.input_prefix {requested!r} is not under the pipeline's input "
                f"prefix {self.default_input_prefix!r}"
            )
        if self.schedule.input_folder is not None and requested is None:
            # Scheduled runs read <prefix><folder>/: its longest rendering must fit in S3Uri.
            SageMakerField(INPUT_S3_URI, "input location (with input_folder)", IN_BUCKET)(
                f"{self.default_input_prefix}{longest_folder(self.schedule.input_folder)}/"
            )
        return self

    @model_validator(mode="after")
    def _freshness_window_has_margin(self) -> PipelineConfig:
        window = self.alarms.freshness_window_hours
        interval = interval_hours(self.schedule.expression)
        if window is None or interval is None or not self.alarms.freshness:
            return self
        needed = shortest_window_hours(interval)
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
        return default_window_hours(self.schedule.expression)

    @property
    def default_input_prefix(self) -> str:
        return self.input_prefix or f"{self.name}/"

    @property
    def run_output_prefix(self) -> str:
        return self.output_prefix or f"{self.name}/"
