"""How a pipeline runs: the Batch Transform job each run starts (instances and the types to fall
back on when SageMaker has no capacity, input splitting, payload limits, data processing, the
model client, the run timeout), or its shards (``modules.config.shards``).

Needs SageMaker's prose-only rules and instance facts (``modules.config.aws_facts``) and the
request-shape markers of ``modules.config.fields``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from pydantic import Field, model_validator

from modules.config.aws_facts import (
    DATA_PROCESSING_CONTENT_TYPES,
    MAX_PAYLOAD_MB,
    has_instance_storage,
)
from modules.config.fields import TRANSFORM, Found, StrictModel, TfStr, raise_each, sagemaker
from modules.config.shards import ShardsConfig

# Time for Step Functions to stop the job and notify after the job's own timeout: a run (the
# state machine) times out this much after its transform job would.
RUN_GRACE_SECONDS = 900
DEFAULT_TIMEOUT_MINUTES = 360


def run_timeout_seconds(timeout_minutes: int, job_attempts: int = 1) -> int:
    """How long a whole run may take: the job's timeout for each job it may start (one per
    instance type it may try) and the grace to stop and notify. A run stopped by this timeout
    gets no failure handling, so it must not come before the last job's own timeout."""
    return job_attempts * timeout_minutes * 60 + RUN_GRACE_SECONDS


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


# An instance type a job may run on, checked against botocore's TransformInstanceType.
TransformInstanceType = Annotated[
    TfStr,
    sagemaker(f"{TRANSFORM}.TransformResources.InstanceType", "Batch Transform instance type"),
]


class TransformConfig(StrictModel):
    """The Batch Transform job each run starts."""

    instance_type: TransformInstanceType = Field(
        default="ml.m5.xlarge", description="Transform instance type."
    )
    fallback_instance_types: list[TransformInstanceType] = Field(
        default_factory=list,
        description="Instance types to start the job on again, in this order, when SageMaker "
        "has no capacity for the one before (the job fails with a CapacityError): same input, "
        "new job name. Any other failure is not retried. Default: none. See Runs and alerts.",
    )
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
    shards: ShardsConfig | None = Field(
        default=None,
        description="Split each run into transform jobs of a bounded number of input files, run "
        "in parallel, each failing alone. Default: off (one job per run). See Shards.",
    )
    timeout_minutes: int = Field(
        default=DEFAULT_TIMEOUT_MINUTES,
        ge=5,
        le=10080,
        description="A run is stopped and failed after this long.",
    )

    @property
    def run_timeout_seconds(self) -> int:
        """How long a whole run may take (the state machine's timeout)."""
        return run_timeout_seconds(self.timeout_minutes, len(self.instance_types))

    @property
    def instance_types(self) -> tuple[str, ...]:
        """Every type a run may start its job on, in the order it tries them."""
        return (self.instance_type, *self.fallback_instance_types)

    @model_validator(mode="after")
    def _rules_across_fields(self) -> TransformConfig:
        raise_each(self._mistakes())
        return self

    def _mistakes(self) -> Iterator[Found]:
        # Rules SageMaker states in prose, not in its API model (aws_facts has their pages).
        if self.max_payload_mb > MAX_PAYLOAD_MB:
            yield (
                ("max_payload_mb",),
                f"max_payload_mb may be at most {MAX_PAYLOAD_MB} (SageMaker's limit)",
            )
        elif (product := self.max_concurrent_transforms * self.max_payload_mb) > MAX_PAYLOAD_MB:
            # (Not also said when max_payload_mb alone is over: one fix, one line.)
            yield (
                ("max_concurrent_transforms",),
                f"max_concurrent_transforms x max_payload_mb is {product}; SageMaker allows at "
                f"most {MAX_PAYLOAD_MB} (MB in flight per instance)",
            )
        processing = self.data_processing
        if (
            processing.input_filter or processing.output_filter or processing.join_source != "None"
        ) and (
            self.content_type not in DATA_PROCESSING_CONTENT_TYPES
            or self.split_type in ("RecordIO", "TFRecord")
        ):
            yield (
                ("data_processing",),
                "data_processing (filters, join_source) works only on CSV and JSON / JSON Lines "
                f"input: content_type must be one of {', '.join(DATA_PROCESSING_CONTENT_TYPES)} "
                f"and split_type None or Line (got {self.content_type}, {self.split_type})",
            )
        yield from self._fallback_mistakes()

    def _fallback_mistakes(self) -> Iterator[Found]:
        where = ("fallback_instance_types",)
        seen: set[str] = set()
        for index, instance_type in enumerate(self.fallback_instance_types):
            if instance_type == self.instance_type:
                yield (
                    (*where, index),
                    f"{instance_type} is transform.instance_type already: a fallback is tried "
                    "after it, so list only other types",
                )
            elif instance_type in seen:
                yield ((*where, index), f"{instance_type} is listed twice")
            elif has_instance_storage(instance_type) != self.has_instance_storage:
                # The job's VolumeKmsKeyId is set (or left out) once, for every type it runs on.
                kind = "has" if has_instance_storage(instance_type) else "has no"
                yield (
                    (*where, index),
                    f"{instance_type} {kind} local instance storage and "
                    f"{self.instance_type} (transform.instance_type) {self._storage_words}: "
                    "SageMaker refuses a volume key for instance storage and this project sets "
                    "one for EBS volumes, so every type must be of the same kind",
                )
            seen.add(instance_type)

    @property
    def _storage_words(self) -> str:
        return "does" if self.has_instance_storage else "does not"

    @property
    def has_instance_storage(self) -> bool:
        """Instance types whose volumes are local NVMe (always hardware-encrypted): SageMaker
        refuses a VolumeKmsKeyId for them."""
        return has_instance_storage(self.instance_type)
