"""The config: defaults, merging, and the promised error for every kind of mistake."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modules.config import (
    ConfigError,
    LocalState,
    ProjectConfig,
    S3State,
    load_config,
    transform_instance_types,
)
from tests.conftest import EXAMPLE_CONFIG
from tests.support.config_edits import delete_path, edits, rename_pipeline, set_path


def test_default_config_has_dev_with_local_state_and_prod_with_s3(
    default_config: ProjectConfig,
) -> None:
    dev = default_config.environments["dev"]
    prod = default_config.environments["prod"]
    assert isinstance(dev.state, LocalState)
    assert dev.account_id is None  # synthesizes without an AWS account
    assert isinstance(prod.state, S3State) and prod.state.lock == "lockfile"
    assert [p.name for p in dev.pipelines] == ["churn", "ltv"]


def test_defaults_and_pipeline_overrides_are_merged(default_config: ProjectConfig) -> None:
    dev, prod = default_config.environments["dev"], default_config.environments["prod"]
    assert dev.region == prod.region == "eu-west-1"  # from defaults
    assert dev.log_retention_days == 14 and prod.log_retention_days == 365
    assert dev.tags == {"owner": "ml-platform", "cost-center": "ml"}
    dev_churn, prod_churn = dev.pipelines[0], prod.pipelines[0]
    assert dev_churn.transform.instance_type == "ml.m5.large"  # environment override
    assert prod_churn.transform.instance_type == "ml.m5.xlarge"  # shared definition
    assert prod_churn.transform.instance_count == 2
    assert dev_churn.transform.content_type == "text/csv"  # untouched by the override
    assert dev.pipelines[1].schedule.enabled is False


def test_config_path_comes_from_environment_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text(EXAMPLE_CONFIG.read_text().replace("mlbatch", "other"))
    monkeypatch.setenv("PIPELINE_CONFIG", str(other))
    assert load_config().project == "other"


def test_instance_types_come_from_botocore() -> None:
    types = transform_instance_types()
    assert "ml.m5.xlarge" in types and "ml.g5.xlarge" in types
    assert all(t.startswith("ml.") for t in types)


def _rename_churn(new: str) -> Callable[[dict[str, Any]], None]:
    return rename_pipeline("churn", new)


BAD_CONFIGS = [
    ("unknown top-level key", set_path("colour", "blue"), "colour: unknown key"),
    (
        "unknown nested key",
        set_path("pipelines.0.transform.instance_typ", "x"),
        "pipelines[churn].transform.instance_typ: unknown key",
    ),
    (
        "unknown instance type",
        set_path("pipelines.0.transform.instance_type", "ml.t2.medium"),
        "pipelines[churn].transform.instance_type (in environment 'prod'): 'ml.t2.medium' is not a "
        "Batch Transform instance type",
    ),
    (
        "unknown fallback instance type",
        set_path("pipelines.0.transform.fallback_instance_types", ["ml.c5.3xlarge"]),
        "transform.fallback_instance_types[0]: 'ml.c5.3xlarge' is not a Batch Transform instance "
        "type",
    ),
    (
        "fallback instance type repeats the primary",
        set_path("pipelines.0.transform.fallback_instance_types", ["ml.c5.xlarge", "ml.m5.xlarge"]),
        "transform.fallback_instance_types[1] (in environment 'prod'): ml.m5.xlarge is "
        "transform.instance_type already",
    ),
    (
        "fallback instance type twice",
        set_path("pipelines.0.transform.fallback_instance_types", ["ml.c5.xlarge", "ml.c5.xlarge"]),
        "transform.fallback_instance_types[1]: ml.c5.xlarge is listed twice",
    ),
    (
        "fallback instance type with other storage",
        edits(
            set_path("pipelines.0.transform.fallback_instance_types", ["ml.g5.xlarge"]),
            set_path("environments.dev.pipelines.churn.transform.fallback_instance_types", []),
        ),
        "transform.fallback_instance_types[0] (in environment 'prod'): ml.g5.xlarge has local "
        "instance storage and ml.m5.xlarge (transform.instance_type) does not",
    ),
    ("bad cron", set_path("pipelines.0.schedule.expression", "cron(0 2 * * *)"), "invalid cron"),
    ("bad rate", set_path("pipelines.0.schedule.expression", "rate(0 minutes)"), "not a schedule"),
    ("bad timezone", set_path("pipelines.0.schedule.timezone", "Mars/Olympus"), "IANA time zone"),
    (
        "retry unbounded",
        set_path("pipelines.0.schedule.retry", {"max_attempts": 500}),
        "max_attempts",
    ),
    (
        "model package group name",
        set_path("pipelines.1.model.model_package_group", "ltv-models-"),
        "model package group name 'ltv-models-' is refused by botocore's sagemaker model "
        "(CreateModelPackageGroup.ModelPackageGroupName): a SageMaker name is 1-63 letters, "
        "digits and hyphens, starting and ending with a letter or digit, e.g. ltv-models",
    ),
    (
        "bad region",
        set_path("defaults.region", "xx-nowhere-1"),
        "defaults.region: 'xx-nowhere-1' is not a region",
    ),
    (
        "bad account",
        set_path("environments.prod.account_id", "1234"),
        "environments.prod.account_id",
    ),
    ("wrong type", set_path("pipelines.0.transform.instance_count", "many"), "instance_count"),
    (
        "missing schedule",
        delete_path("pipelines.0.schedule"),
        "pipelines[churn].schedule: required but missing",
    ),
    ("image without artifact", delete_path("pipelines.0.model.artifact_key"), "needs both image"),
    ("malformed image", set_path("pipelines.0.model.image", "docker.io/xgb:1"), "model.image"),
    (
        "bad package arn",
        set_path("pipelines.0.model", {"model_package_arn": "arn:aws:s3:::nope"}),
        "model_package_arn",
    ),
    ("bad input prefix", set_path("pipelines.0.input_prefix", "/abs"), "input_prefix"),
    ("wildcard in prefix", set_path("pipelines.0.input_prefix", "churn*/"), "input_prefix"),
    (
        "overlapping pipeline names",
        rename_pipeline("ltv", "churn-eu"),
        "pipeline names 'churn' and 'churn-eu' overlap",
    ),
    (
        "pipeline named like the dashboard stack",
        rename_pipeline("ltv", "dashboard"),
        "pipeline name 'dashboard' is reserved",
    ),
    ("unknown layout", set_path("environments.dev.layout", "split"), "layout"),
    (
        "one local state file for every stack",
        set_path("environments.dev.state", {"backend": "local", "path": "dev.tfstate"}),
        "put {stack} in it",
    ),
    (
        "bad input folder picture",
        set_path("pipelines.0.schedule.input_folder", "{date}"),
        "schedule.input_folder",
    ),
    (
        "ecr repositories with an image",
        set_path(
            "pipelines.0.model.ecr_repository_arns",
            ["arn:aws:ecr:eu-west-1:123456789012:repository/x"],
        ),
        "ecr_repository_arns is for registry packages",
    ),
    (
        "duplicate pipelines",
        lambda raw: raw["pipelines"].append(raw["pipelines"][0]),
        "pipelines[churn].name: another pipeline is named 'churn'; names must be unique",
    ),
    ("no pipelines", set_path("pipelines", []), "pipelines"),
    (
        "override unknown pipeline",
        set_path("environments.dev.pipelines.nope", {}),
        "environments.dev.pipelines.nope: no pipeline is named 'nope'; the pipelines are 'churn' "
        "and 'ltv'",
    ),
    (
        "bad backend",
        set_path("environments.dev.state", {"backend": "gcs"}),
        "environments.dev.state",
    ),
    (
        "dynamodb without table",
        set_path("environments.prod.state.lock", "dynamodb"),
        "lock: dynamodb needs dynamodb_table",
    ),
    ("bad retention", set_path("defaults.log_retention_days", 42), "not a CloudWatch retention"),
    (
        "bad email",
        set_path("environments.prod.alerting.subscriptions.0.endpoint", "nope"),
        "not valid",
    ),
    ("template syntax", set_path("pipelines.0.description", "${file(x)}"), "Terraform template"),
    (
        "names too long for job names",
        _rename_churn("customer-churn-score"),
        # Too long in both environments: one line, the longer name (prod's).
        "pipelines[customer-churn-score].name: transform job (<pipeline>-<32-character run hash>) "
        "name 'mlbatch-prod-customer-churn-score-00000000000000000000000000000000' is 66 "
        "characters; botocore's sagemaker model (CreateTransformJob.TransformJobName) allows at "
        "most 63",
    ),
    ("bad pipeline name", _rename_churn("Churn_Model"), "pipelines[Churn_Model].name"),
    ("bad project", set_path("project", "ML Batch"), "project"),
    # Issue 10: what AWS would refuse at apply or run time is refused here.
    (
        "end date in the past",
        set_path("pipelines.0.schedule.end_date", "2026-01-01T00:00:00Z"),
        "end_date 2026-01-01T00:00:00Z has passed: the schedule would never fire again",
    ),
    (
        "filters on RecordIO input",
        set_path(
            "pipelines.1.transform",
            {"split_type": "RecordIO", "data_processing": {"input_filter": "$[1:]"}},
        ),
        "data_processing (filters, join_source) works only on CSV and JSON",
    ),
    (
        "join on protobuf input",
        set_path(
            "pipelines.1.transform",
            {
                "content_type": "application/x-recordio-protobuf",
                "data_processing": {"join_source": "Input"},
            },
        ),
        "content_type must be one of text/csv",
    ),
    (
        "state bucket in two regions",
        edits(
            set_path(
                "environments.dev.state",
                {
                    "backend": "s3",
                    "bucket": "mlbatch-tfstate-123456789012-eu-west-1",
                    "region": "us-east-1",
                },
            ),
            set_path("environments.dev.account_id", "123456789012"),  # (else a second mistake)
        ),
        "environments.prod.state.region: state bucket mlbatch-tfstate-123456789012-eu-west-1 is in",
    ),
    (
        "China region",
        set_path("defaults.region", "cn-north-1"),
        "aws-cn partition, which this project",
    ),
    (
        "sqs subscription",
        set_path(
            "environments.prod.alerting.subscriptions.0",
            {"protocol": "sqs", "endpoint": "arn:aws:sqs:eu-west-1:123456789012:alerts"},
        ),
        "protocol sqs is not supported: SNS delivers to a queue only when the queue's own policy",
    ),
    (
        "lambda in another account",
        set_path(
            "environments.prod.alerting.subscriptions.0",
            {"protocol": "lambda", "endpoint": "arn:aws:lambda:eu-west-1:999999999999:function:f"},
        ),
        "invoke permission for SNS can only be created in its own account",
    ),
    (
        "weekly freshness window",
        set_path("pipelines.1.alarms", {"freshness_window_hours": 168}),
        "leaves no margin over the schedule's 168 h interval",
    ),
    (
        "daily freshness window without margin",
        set_path("pipelines.0.alarms", {"freshness_window_hours": 25}),
        "25 is too short: at least ",
    ),
    (
        "6-hourly cron with a 3 h freshness window",
        edits(
            set_path("pipelines.0.schedule.expression", "cron(0 */6 * * ? *)"),
            set_path("pipelines.0.alarms", {"freshness_window_hours": 3}),
        ),
        "3 is too short: at least ",
    ),
    (
        "payload input prefix outside the pipeline's",
        set_path("pipelines.1.schedule.payload", {"input_prefix": "elsewhere/"}),
        "schedule.payload.input_prefix: 'elsewhere/' is not under the pipeline's input prefix "
        "'ltv/'",
    ),
    (
        "scheduled time in the payload",
        set_path("pipelines.0.schedule.payload", {"scheduled_time": "2026-01-01T00:00:00Z"}),
        "pipelines[churn].schedule.payload: scheduled_time may not be set",
    ),
    (
        "dated input folder too long for S3Uri",
        set_path("pipelines.0.input_prefix", "churn/" + "a/" * 470),
        "input location (with input_folder) must be 0 to 1024 characters",
    ),
    (
        "payload input prefix not a string",
        set_path("pipelines.0.schedule.payload", {"input_prefix": 42}),
        "pipelines[churn].schedule.payload.input_prefix: Input should be a valid string",
    ),
    (
        "wildcard in payload input prefix",
        set_path("pipelines.0.schedule.payload", {"input_prefix": "churn/x*/"}),
        "pipelines[churn].schedule.payload.input_prefix: an S3 key prefix is one or more folder "
        "names, each followed by /, of letters, digits and ! _ . ' ( ) - (no *), e.g. "
        "churn/daily/ (got 'churn/x*/')",
    ),
    (
        "payload input prefix too long for S3Uri",
        set_path("pipelines.0.schedule.payload", {"input_prefix": "churn/" + "a/" * 597}),
        "input location must be 0 to 1024 characters",
    ),
    (
        "payload x concurrency over 100 MB",
        set_path("pipelines.0.transform.max_concurrent_transforms", 20),
        "max_concurrent_transforms x max_payload_mb is 120; SageMaker allows at most 100",
    ),
    (
        "payload over 100 MB",
        set_path("pipelines.0.transform.max_payload_mb", 101),
        "max_payload_mb may be at most 100",
    ),
    (
        "17 transform environment entries",
        set_path("pipelines.0.transform.environment", {f"V{i}": "x" for i in range(17)}),
        "transform environment may hold at most 16 entries (SageMaker's limit), got 17",
    ),
    (
        "transform environment key",
        set_path("pipelines.0.transform.environment", {"1BAD": "x"}),
        "SageMaker refuses transform environment key '1BAD': an environment variable name is "
        "letters, digits and underscores, not starting with a digit, e.g. MODEL_THRESHOLD",
    ),
    (
        "long container environment value",
        set_path("pipelines.0.model.environment", {"A": "x" * 1025}),
        "container environment value must be 0 to 1024 characters",
    ),
    (
        "invocation retries",
        set_path("pipelines.0.transform.model_client", {"invocations_max_retries": 4}),
        "invocation retries must be from 0 to 3 (SageMaker's limit), got 4",
    ),
    (
        "long input filter",
        set_path("pipelines.1.transform.data_processing.input_filter", "$." + "a" * 62),
        "input filter must be 0 to 63 characters",
    ),
    (
        "output prefix too long for S3OutputPath",
        set_path("pipelines.0.output_prefix", "a/" * 440),
        "output location must be 0 to 1024 characters",
    ),
    (
        "registry package without its image repository",
        set_path("pipelines.1.model", {"model_package_group": "ltv-models"}),
        "needs ecr_repository_arns",
    ),
    (
        "template in transform environment",
        set_path("pipelines.0.transform.environment", {"A": "${aws_iam_role.x.arn}"}),
        "Terraform template",
    ),
    (
        "template in a filter",
        set_path("pipelines.1.transform.data_processing.output_filter", "%{ for x in y }"),
        "Terraform template",
    ),
    (
        "negative allowance of missing outputs",
        set_path("pipelines.0.delivery", {"allow_missing_outputs": -1}),
        "pipelines[churn].delivery.allow_missing_outputs",
    ),
    (
        "template in a tag key",
        set_path("defaults.tags", {"${x}": "y"}),
        "Terraform template",
    ),
]


@pytest.mark.parametrize(
    ("edit", "expected"), [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS]
)
def test_bad_config_names_file_and_field(
    make_config: Callable[..., ProjectConfig], edit: Callable[[dict[str, Any]], None], expected: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        make_config(edit)
    message = str(raised.value)
    assert message.startswith("test.yaml: ")
    assert expected in message
    assert "\n" not in message
