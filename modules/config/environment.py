"""The settings of one environment (account + region): state, tags, storage, alerting and the
pipelines it runs; and the checks across them (one state file per stack, model sources in the
environment's region, lambda endpoints in its account, one subscription per protocol and
endpoint, pipelines whose names or prefixes would overlap), each reporting every mistake it
finds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from modules.config.aws_facts import KMS_PENDING_WINDOW_DAYS
from modules.config.botocore_facts import partition_of
from modules.config.fields import (
    ACCOUNT_ID,
    EMAIL,
    ENVIRONMENT_NAME,
    TAG_VALUE,
    AwsRegion,
    Found,
    LogRetentionDays,
    StrictModel,
    TfStr,
    raise_each,
)
from modules.config.pipeline import PipelineConfig
from modules.config.rules import Rule
from modules.config.state import LocalState, S3State, StateConfig

# Stack names are <project>-<env>-<pipeline>; this one is the dashboard's stack.
RESERVED_PIPELINE_NAME = "dashboard"
# The state bootstrap stacks are <project>-state[-...]: an environment so named would collide.
RESERVED_ENVIRONMENT_NAME = "state"

# What each subscription protocol's endpoint must look like (SNS refuses the rest at apply).
ENDPOINTS = {
    "email": EMAIL,
    "email-json": EMAIL,
    "https": Rule(
        r"^https://[^\s]+$",
        "an https endpoint is a URL starting with https://, without spaces",
        "https://alerts.example.com/sns",
    ),
    "lambda": Rule(
        r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}"
        r"(:[A-Za-z0-9_$-]+)?$",
        "a lambda endpoint is a function ARN, arn:aws:lambda:<region>:<account>:function:<name>, "
        "optionally followed by :<alias or version>",
        "arn:aws:lambda:eu-west-1:123456789012:function:notify",
    ),
    "sms": Rule(
        r"^\+[1-9]\d{6,14}$",
        "an sms endpoint is a phone number in E.164 form: + and 7-15 digits, the first not 0",
        "+4915112345678",
    ),
}


class Subscription(StrictModel):
    """Who hears about failures."""

    protocol: Literal["email", "email-json", "https", "lambda", "sms"] = Field(
        description="SNS protocol (sqs is refused: see docs/runs-and-alerts.md)."
    )
    endpoint: TfStr = Field(min_length=3, max_length=2048, description="Address for the protocol.")
    receives: Literal["page", "notices", "all"] = Field(
        default="all",
        description="page: run failures, ALARM transitions, failed or stopped transform jobs; "
        "notices: OK transitions after ALARM and the success, skipped and no-input notices; all: "
        "everything (SNS filter policy on the message body; docs/operations.md). sms receives "
        "notices only.",
    )

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
        rule = ENDPOINTS[self.protocol]
        if not rule.matches(self.endpoint):
            raise ValueError(
                f"endpoint {self.endpoint!r} is not valid for protocol {self.protocol}: {rule}"
            )
        return self

    @model_validator(mode="after")
    def _sms_receives_notices_only(self) -> Subscription:
        # A page carries a run's whole failure cause (the job's DescribeTransformJob), longer than
        # SNS sends in one SMS. A short per-protocol form (MessageStructure json) would have to be
        # filtered by its MessageBody policy too, and no AWS page says which form that policy reads.
        if self.protocol == "sms" and self.receives != "notices":
            raise ValueError(
                f"protocol sms can receive notices only, not {self.receives}: a page (a run's "
                "failure with its cause) is longer than SNS sends in one SMS; set receives: "
                "notices, and page a phone through a lambda or https endpoint that shortens it"
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
        default_factory=list,
        description="Who is told about failures and alarms (one per protocol and endpoint).",
    )


class EnvironmentConfig(StrictModel):
    """One deployment target (account + region) and the pipelines it runs."""

    name: Annotated[TfStr, *TAG_VALUE] = Field(pattern=ENVIRONMENT_NAME.pattern)
    region: AwsRegion = Field(description="AWS region of the environment.")
    account_id: TfStr | None = Field(
        default=None,
        pattern=ACCOUNT_ID.pattern,
        description="Allowed account id (provider guard); looked up at plan time when absent.",
    )
    allow_destroy: bool = Field(
        default=False, description="Let terraform destroy data (force_destroy, no protection)."
    )
    state: StateConfig = Field(description="Terraform state: see Local state / S3 state.")
    tags: dict[Annotated[TfStr, Field(min_length=1, max_length=128)], TfStr] = Field(
        default_factory=dict, description="Tags on every resource (provider default_tags)."
    )
    log_retention_days: LogRetentionDays = Field(
        default=365, description="CloudWatch Logs retention (days)."
    )
    kms_deletion_window_days: int = Field(
        default=KMS_PENDING_WINDOW_DAYS[1],
        ge=KMS_PENDING_WINDOW_DAYS[0],
        le=KMS_PENDING_WINDOW_DAYS[1],
        description="Waiting period before a KMS key is deleted.",
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
    pipelines: list[PipelineConfig] = Field(
        min_length=1,
        description="The pipelines this environment runs: the enabled ones (every pipeline is "
        "validated, enabled or not).",
    )

    @field_validator("name")
    @classmethod
    def _not_the_bootstrap(cls, value: str) -> str:
        if value == RESERVED_ENVIRONMENT_NAME:
            raise ValueError(
                f"environment name {RESERVED_ENVIRONMENT_NAME!r} is reserved: "
                f"<project>-{RESERVED_ENVIRONMENT_NAME} is the state bootstrap stack (and its "
                "state file); rename the environment"
            )
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> EnvironmentConfig:
        raise_each(
            [
                *self._state_mistakes(),
                *self._region_mistakes(),
                *self._lambda_mistakes(),
                *self._repeated_subscriptions(),
            ]
        )
        return self

    def _state_mistakes(self) -> Iterator[Found]:
        state = self.state
        if (
            self.layout == "per-pipeline"
            and isinstance(state, LocalState)
            and state.path is not None
            and "{stack}" not in state.path
        ):
            yield (
                ("state", "path"),
                f"{state.path!r} would be one file for every stack of the per-pipeline layout; "
                "put {stack} in it (e.g. 'state/{stack}.tfstate', relative to the project "
                "directory) or set layout: single",
            )
        if isinstance(state, S3State) and state.region is not None:
            # The backend's KMS key ARN and the bootstrap's provider are in the state region; an
            # account (and its credentials) belongs to one partition.
            partition = partition_of(state.region)
            if partition != self.partition:
                yield (
                    ("state", "region"),
                    f"{state.region} is in the {partition} partition, but the environment's "
                    f"region {self.region} is in {self.partition}; keep the state bucket in the "
                    "environment's partition",
                )

    def _region_mistakes(self) -> Iterator[Found]:
        # SageMaker creates a model only from an image, package and repositories in its own
        # region: another region's synthesizes and then fails at apply (or at the first run).
        # A pipeline is located by its name: disabled ones are no longer in self.pipelines.
        for pipeline in self.pipelines:
            for field, region in pipeline.model.source_regions():
                if region != self.region:
                    yield (
                        ("pipelines", pipeline.name, "model", *field),
                        f"is in {region}, but the environment's region is {self.region}; "
                        "SageMaker needs the model's image, package and repositories in the "
                        "model's region",
                    )

    def _lambda_mistakes(self) -> Iterator[Found]:
        # The aws_lambda_permission that lets the topic invoke a function is created here, so the
        # function must live in this environment's account.
        for index, subscription in enumerate(self.alerting.subscriptions):
            account = subscription.lambda_account
            if account is not None and self.account_id is not None and account != self.account_id:
                yield (
                    ("alerting", "subscriptions", index, "endpoint"),
                    f"lambda endpoint {subscription.endpoint} is in account {account}, not this "
                    f"environment's {self.account_id}; the function's invoke permission for SNS "
                    "can only be created in its own account",
                )

    def _repeated_subscriptions(self) -> Iterator[Found]:
        # SNS keeps one subscription per topic, protocol and endpoint: a second one with other
        # attributes fails at apply ("Subscription already exists with different attributes"),
        # and with the same ones two Terraform resources would own one subscription.
        first: dict[tuple[str, str], int] = {}
        for index, subscription in enumerate(self.alerting.subscriptions):
            key = (subscription.protocol, subscription.endpoint)
            earlier = first.setdefault(key, index)
            if earlier != index:
                yield (
                    ("alerting", "subscriptions", index),
                    f"repeats subscriptions[{earlier}] ({subscription.protocol} "
                    f"{subscription.endpoint}): SNS keeps one subscription per protocol and "
                    "endpoint; keep one entry, with receives: all for both pages and notices",
                )

    @field_validator("pipelines")
    @classmethod
    def _unique_pipelines(cls, value: list[PipelineConfig]) -> list[PipelineConfig]:
        raise_each([*_name_mistakes(value), *_prefix_mistakes(value)])
        # A disabled pipeline is checked like the others (it is enabled elsewhere, or soon) and
        # then left out: nothing in the environment is built from it.
        return [p for p in value if p.enabled]

    @property
    def partition(self) -> str:
        return partition_of(self.region)


# The checks across an environment's pipelines, each mistake located at the pipeline (its index
# in the list) that has it; each pipeline gets at most one line per check, so that a long list
# sharing one mistake gives as many lines as pipelines, not pairs of them.


def _name_mistakes(pipelines: list[PipelineConfig]) -> Iterator[Found]:
    names = [p.name for p in pipelines]
    first: dict[str, int] = {}
    for index, name in enumerate(names):
        first.setdefault(name, index)
    for index, name in enumerate(names):
        if first[name] != index:
            yield (index, "name"), f"another pipeline is named {name!r}; names must be unique"
            continue
        if name == RESERVED_PIPELINE_NAME:
            yield (
                (index, "name"),
                f"pipeline name {RESERVED_PIPELINE_NAME!r} is reserved: the environment's "
                f"<project>-<env>-{RESERVED_PIPELINE_NAME} stack holds its dashboard",
            )
        # IAM and event patterns match a pipeline's jobs and models by "<name>-": "churn" would
        # also match "churn-eu"'s. The longest such name is named (each "-" ends a candidate).
        shorter = [name[:end] for end in range(len(name) - 1, 0, -1) if name[end] == "-"]
        overlapped = next((other for other in shorter if other in first), None)
        if overlapped is not None:
            yield (
                (index, "name"),
                f"pipeline names {overlapped!r} and {name!r} overlap (one is the other plus "
                "'-...'), so their permissions would too; rename one",
            )


def _prefix_mistakes(pipelines: list[PipelineConfig]) -> Iterator[Found]:
    # The same for prefixes: IAM grants, marker rules and run folders match a pipeline's data by
    # its prefix, so a pipeline whose prefix starts another's would read, trigger on and
    # overwrite the other's data. A prefix ends in "/": one starts another exactly when it is the
    # other cut after one of its "/".
    prefixes: dict[str, Callable[[PipelineConfig], str]] = {
        "input_prefix": lambda p: p.default_input_prefix,
        "output_prefix": lambda p: p.run_output_prefix,
    }
    for what, prefix_of in prefixes.items():
        owner: dict[str, int] = {}
        for index, pipeline in enumerate(pipelines):
            owner.setdefault(prefix_of(pipeline), index)
        for index, pipeline in enumerate(pipelines):
            inner = prefix_of(pipeline)
            # Its own prefix first (another pipeline's, earlier in the list), then the longest
            # prefix of another pipeline it is under.
            cuts = range(len(inner) - 2, -1, -1)
            outers = [inner, *(inner[: end + 1] for end in cuts if inner[end] == "/")]
            found = next((outer for outer in outers if owner.get(outer, index) != index), None)
            if found is None:
                continue
            other = pipelines[owner[found]]
            if other.name == pipeline.name:
                continue  # a pipeline given twice: said once, by the name check
            relation = "is" if found == inner else "contains"
            yield (
                (index, what),
                f"pipelines {other.name!r} and {pipeline.name!r} overlap: {what} {found!r} "
                f"{relation} {inner!r}, so each could read and overwrite the other's data; give "
                "each pipeline a prefix of its own",
            )
