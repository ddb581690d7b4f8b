"""Building blocks of the config schema: the base model, reusable ``Annotated`` field types and
validators, the project's patterns with their rules in words, and ``raise_each``, with which a
check across fields or items reports every mistake it finds at once.

A field's type says what it accepts: ``TfStr`` (any string that can reach the Terraform JSON),
``S3KeyPrefix``, ``TimeZone``, ``ScheduleExpression``, ``AwsRegion``, ... A field whose value is
sent in a SageMaker request carries ``sagemaker(member, what)``, which checks it against that
member's shape in botocore's service model.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from modules.config.aws_facts import LOG_RETENTION_DAYS, SUPPORTED_PARTITIONS, time_zones
from modules.config.aws_names import check_name
from modules.config.botocore_facts import (
    NAME_MEMBERS,
    SAGEMAKER_REQUESTS,
    partition_of,
    sagemaker_shape,
    service_regions,
)
from modules.config.rules import Rule
from modules.config.sagemaker_shapes import check_shape
from modules.config.suggest import allowed
from modules.naming import Limit

TZ_DATABASE = "https://en.wikipedia.org/wiki/List_of_tz_database_time_zones"

# The project's patterns, each with its rule in words and an example (modules.config.rules): a
# field states one as Field(pattern=RULE.pattern) and a value that does not match is told the
# words, never the pattern.
PROJECT_NAME = Rule(
    r"^[a-z][a-z0-9]{1,11}$",
    "a project name is 2-12 lowercase letters and digits, starting with a letter",
    "mlbatch",
)
ENVIRONMENT_NAME = Rule(
    r"^[a-z][a-z0-9]{1,7}$",
    "an environment name is 2-8 lowercase letters and digits, starting with a letter",
    "prod",
)
PIPELINE_NAME = Rule(
    r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$",
    "a pipeline name is lowercase letters and digits, starting with a letter, in words joined "
    "by single hyphens",
    "churn-eu",
)
ACCOUNT_ID = Rule(
    r"^\d{12}$", "an AWS account id is 12 digits, in quotes (a string in YAML)", "123456789012"
)
# No "*": prefixes end up in StringMatches and IAM s3:prefix conditions, where it is a wildcard.
S3_KEY_PREFIX = Rule(
    r"^([A-Za-z0-9!_.'()-]+/)+$",
    "an S3 key prefix is one or more folder names, each followed by /, of letters, digits and "
    "! _ . ' ( ) - (no *)",
    "churn/daily/",
)
BUCKET_NAME = Rule(
    r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
    "a bucket name is 3-63 lowercase letters, digits, dots and hyphens, starting and ending "
    "with a letter or digit",
    "mlbatch-tfstate-123456789012-eu-west-1",
)
ECR_IMAGE = Rule(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
    r"(?P<repository>[a-z0-9]+(?:[._/-][a-z0-9]+)*)(:[A-Za-z0-9_.-]{1,128}|@sha256:[a-f0-9]{64})$",
    "an image is an ECR image URI with a tag or a digest: <account>.dkr.ecr.<region>."
    "amazonaws.com/<repository>:<tag> or ...<repository>@sha256:<64 hex digits>",
    "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1",
)
MODEL_PACKAGE_ARN = Rule(
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    r"/\d+$",
    "a model package ARN is arn:aws:sagemaker:<region>:<account>:model-package/<group>/<version>",
    "arn:aws:sagemaker:eu-west-1:123456789012:model-package/ltv-models/3",
)
ECR_REPOSITORY_ARN = Rule(
    r"^arn:aws[a-z-]*:ecr:[a-z0-9-]+:\d{12}:repository/[a-z0-9]+(?:[._/-][a-z0-9]+)*$",
    "an ECR repository ARN is arn:aws:ecr:<region>:<account>:repository/<name>",
    "arn:aws:ecr:eu-west-1:141502667606:repository/sagemaker-xgboost",
)
MARKER = Rule(
    r"^[A-Za-z0-9!_.'()-]{1,128}$",
    "a marker is an object name (no /) of 1-128 letters, digits and ! _ . ' ( ) -",
    "_SUCCESS",
)
EMAIL = Rule(
    r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$",
    "an email address is name@domain, without spaces",
    "ml-oncall@example.com",
)
SUBNET_ID = Rule(
    r"^subnet-[0-9a-f]{8,17}$",
    "a subnet id is subnet- and 8-17 lowercase hex digits",
    "subnet-0123abcd",
)
SECURITY_GROUP_ID = Rule(
    r"^sg-[0-9a-f]{8,17}$",
    "a security group id is sg- and 8-17 lowercase hex digits",
    "sg-0123abcd",
)
RATE_RE = r"^rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)$"
AT_RE = r"^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$"


class StrictModel(BaseModel):
    """Base for every config object: unknown keys are errors and loaded objects are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# A mistake a cross-check found: where it is (a location inside the model or field being
# validated, as pydantic writes one: keys, list indexes, or a pipeline's name after "pipelines")
# and what is wrong.
Found = tuple[tuple[str | int, ...], str]
CROSS_CHECK = "cross_check"  # the error type of a Found, for modules.config.loading


def raise_each(found: Iterable[Found]) -> None:
    """Raise every mistake a cross-check found, each at its own location. A validator can raise
    only once, so a check that raised at its first mistake hid the others until the next run;
    pydantic takes a ValidationError raised in a validator as one error per entry, under the
    validator's own location, so each becomes one line naming its own field."""
    errors = [
        InitErrorDetails(
            type=PydanticCustomError(CROSS_CHECK, "{message}", {"message": message}),
            loc=loc,
            input=None,
        )
        for loc, message in found
    ]
    if errors:
        raise ValidationError.from_exception_data("cross-checks", errors)


def no_terraform_template(value: str) -> str:
    # Strings end up inside Terraform JSON, where "${" and "%{" start template expressions.
    if "${" in value or "%{" in value:
        raise ValueError("must not contain '${' or '%{' (Terraform template syntax)")
    return value


# The one string type of the config: every string that can reach the Terraform JSON is a TfStr
# (tests/test_config.py walks the schema to keep it so).
NO_TERRAFORM_TEMPLATE = AfterValidator(no_terraform_template)
TfStr = Annotated[str, NO_TERRAFORM_TEMPLATE]

SubnetId = Annotated[TfStr, Field(pattern=SUBNET_ID.pattern)]
SecurityGroupId = Annotated[TfStr, Field(pattern=SECURITY_GROUP_ID.pattern)]
EcrRepositoryArn = Annotated[TfStr, Field(pattern=ECR_REPOSITORY_ARN.pattern)]


def _schedule_expression(value: str) -> str:
    if value.startswith("cron(") and value.endswith(")"):
        from aws_cron_expression_validator.validator import AWSCronExpressionValidator

        try:
            AWSCronExpressionValidator.validate(value[5:-1])
        except ValueError as error:
            raise ValueError(f"invalid cron expression {value!r}: {error}") from None
        return value
    if re.match(RATE_RE, value) or re.match(AT_RE, value):
        return value
    raise ValueError(
        f"{value!r} is not a schedule expression; use cron(min hour day month weekday year), "
        "rate(N minutes, hours or days) or at(yyyy-mm-ddThh:mm:ss), e.g. cron(0 2 * * ? *) or "
        "rate(1 day)"
    )


def _time_zone(value: str) -> str:
    if value not in time_zones():
        raise ValueError(
            f"{value!r} is not an IANA time zone name"
            + allowed(value, time_zones(), "time zone names", TZ_DATABASE)
        )
    return value


def _region(value: str) -> str:
    partition = partition_of(value)
    if partition not in SUPPORTED_PARTITIONS:
        raise ValueError(
            f"{value!r} is in the {partition} partition, which this project does not support: "
            "its service principals and console differ per service and are not verified here "
            f"(supported: {', '.join(SUPPORTED_PARTITIONS)})"
        )
    regions = service_regions()
    if value not in regions:
        raise ValueError(
            f"{value!r} is not a region with SageMaker and EventBridge Scheduler"
            + allowed(value, regions, "regions with both")
        )
    return value


def _log_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(f"{value} is not a CloudWatch retention; use one of {LOG_RETENTION_DAYS}")
    return value


# EventBridge Scheduler expression: AWS cron (6 fields), rate(N unit) or at(yyyy-mm-ddThh:mm:ss).
ScheduleExpression = Annotated[TfStr, AfterValidator(_schedule_expression)]
TimeZone = Annotated[TfStr, AfterValidator(_time_zone)]
# A region of a supported partition that offers SageMaker and EventBridge Scheduler.
AwsRegion = Annotated[TfStr, AfterValidator(_region)]
LogRetentionDays = Annotated[int, AfterValidator(_log_retention)]


@dataclass(frozen=True)
class AwsName:
    """Checks a name against the request member AWS receives it in (``service:Operation.Member``,
    botocore's length and pattern, read lazily: ``aws_names.check_name``)."""

    member: str
    what: str

    def __post_init__(self) -> None:
        NAME_MEMBERS.add(self.member)  # read from aws_facts.json, not botocore (botocore_facts)

    def __call__(self, value: str) -> str:
        check_name(Limit(self.what, value, self.member))
        return value


# A Model Registry group is named by CreateModelPackageGroup (SageMaker's EntityName).
ModelPackageGroupName = Annotated[
    TfStr,
    AfterValidator(
        AwsName("sagemaker:CreateModelPackageGroup.ModelPackageGroupName", "model package group")
    ),
]


# --------------------------------------------------------------------------------------------
# SageMaker's own request rules, read from botocore's service model: a config field whose value
# is sent in a CreateTransformJob or CreateModel request carries a SageMakerField marker naming
# the request member, and is checked against that member's shape (length, range, pattern, map
# size, enum). tests/test_sagemaker_limits.py walks the requests the project builds and fails for
# any member fed from config without a marker.


@dataclass(frozen=True)
class SageMakerField:
    """Marks a config field as the source of a SageMaker request member (``request``: shape path
    from the request's input shape). ``template`` places the value the way the project sends it,
    with the longest values of the parts that are not from config (bucket names: 63 characters,
    run ids: 80)."""

    request: str
    what: str
    template: str = "{}"

    def __post_init__(self) -> None:
        SAGEMAKER_REQUESTS.add(
            self.request.split(".")[0]
        )  # read from aws_facts.json (botocore_facts)

    def __call__(self, value: Any) -> Any:
        if value is not None:
            placed = self.template.format(value) if self.template != "{}" else value
            check_shape(placed, sagemaker_shape(self.request), self.what)
        return value


def sagemaker(request: str, what: str, template: str = "{}") -> AfterValidator:
    return AfterValidator(SageMakerField(request, what, template))


LONGEST_BUCKET = "b" * 63
LONGEST_RUN_ID = "r" * 80
TRANSFORM = "CreateTransformJobRequest"
MODEL = "CreateModelInput"
# Pipeline and environment names are tag values of the transform jobs and per-run models.
TAG_VALUE = (
    sagemaker(f"{TRANSFORM}.Tags.[].Value", "tag value"),
    sagemaker(f"{MODEL}.Tags.[].Value", "tag value"),
)
# An S3 location in a bucket of the environment, as SageMaker receives it.
IN_BUCKET = f"s3://{LONGEST_BUCKET}/{{}}"
INPUT_S3_URI = f"{TRANSFORM}.TransformInput.DataSource.S3DataSource.S3Uri"
# A prefix a run reads in the input bucket (a pipeline's default, or a schedule's payload): an S3
# key prefix that is also a valid S3Uri for CreateTransformJob.
InputPrefix = Annotated[
    TfStr,
    StringConstraints(pattern=S3_KEY_PREFIX.pattern),
    sagemaker(INPUT_S3_URI, "input location", IN_BUCKET),
]
