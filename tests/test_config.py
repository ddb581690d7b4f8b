"""The config: defaults, merging, and the promised error for every kind of mistake."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from imports.engine import ENGINES
from modules.config import (
    ConfigError,
    LocalState,
    ProjectConfig,
    S3State,
    check_name,
    load_config,
    transform_instance_types,
)
from modules.config.aws_facts import PROSE_NAME_LIMITS
from modules.config.aws_names import java_pattern
from modules.config.botocore_facts import _service_model, request_member
from modules.naming import Limit, Names
from tests.conftest import EXAMPLE_CONFIG, REPO


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


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """An edit that sets a dotted path ('pipelines.0.schedule.expression') in the raw config."""

    def edit(raw: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = raw
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return edit


def _edits(*edits: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def edit(raw: dict[str, Any]) -> None:
        for each in edits:
            each(raw)

    return edit


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def edit(raw: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = raw
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return edit


def _rename(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def edit(raw: dict[str, Any]) -> None:
        next(p for p in raw["pipelines"] if p["name"] == old)["name"] = new
        for env in raw["environments"].values():
            overrides = env.get("pipelines", {})
            if old in overrides:
                overrides[new] = overrides.pop(old)

    return edit


def _rename_churn(new: str) -> Callable[[dict[str, Any]], None]:
    return _rename("churn", new)


BAD_CONFIGS = [
    ("unknown top-level key", _set("colour", "blue"), "colour: unknown key"),
    (
        "unknown nested key",
        _set("pipelines.0.transform.instance_typ", "x"),
        "pipelines[churn].transform.instance_typ: unknown key",
    ),
    (
        "unknown instance type",
        _set("pipelines.0.transform.instance_type", "ml.t2.medium"),
        "pipelines[churn].transform.instance_type (in environment 'prod'): 'ml.t2.medium' is not a "
        "Batch Transform instance type",
    ),
    ("bad cron", _set("pipelines.0.schedule.expression", "cron(0 2 * * *)"), "invalid cron"),
    ("bad rate", _set("pipelines.0.schedule.expression", "rate(0 minutes)"), "not a schedule"),
    ("bad timezone", _set("pipelines.0.schedule.timezone", "Mars/Olympus"), "IANA time zone"),
    ("retry unbounded", _set("pipelines.0.schedule.retry", {"max_attempts": 500}), "max_attempts"),
    (
        "model package group name",
        _set("pipelines.1.model.model_package_group", "ltv-models-"),
        "model package group name 'ltv-models-' does not match [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62} "
        "(botocore's sagemaker model (CreateModelPackageGroup.ModelPackageGroupName))",
    ),
    (
        "bad region",
        _set("defaults.region", "xx-nowhere-1"),
        "defaults.region: 'xx-nowhere-1' is not a region",
    ),
    ("bad account", _set("environments.prod.account_id", "1234"), "environments.prod.account_id"),
    ("wrong type", _set("pipelines.0.transform.instance_count", "many"), "instance_count"),
    (
        "missing schedule",
        _delete("pipelines.0.schedule"),
        "pipelines[churn].schedule: required but missing",
    ),
    ("image without artifact", _delete("pipelines.0.model.artifact_key"), "needs both image"),
    ("malformed image", _set("pipelines.0.model.image", "docker.io/xgb:1"), "model.image"),
    (
        "bad package arn",
        _set("pipelines.0.model", {"model_package_arn": "arn:aws:s3:::nope"}),
        "model_package_arn",
    ),
    ("bad input prefix", _set("pipelines.0.input_prefix", "/abs"), "input_prefix"),
    ("wildcard in prefix", _set("pipelines.0.input_prefix", "churn*/"), "input_prefix"),
    (
        "overlapping pipeline names",
        _rename("ltv", "churn-eu"),
        "pipeline names 'churn' and 'churn-eu' overlap",
    ),
    (
        "pipeline named like the dashboard stack",
        _rename("ltv", "dashboard"),
        "pipeline name 'dashboard' is reserved",
    ),
    ("unknown layout", _set("environments.dev.layout", "split"), "layout"),
    (
        "one local state file for every stack",
        _set("environments.dev.state", {"backend": "local", "path": "dev.tfstate"}),
        "put {stack} in it",
    ),
    (
        "bad input folder picture",
        _set("pipelines.0.schedule.input_folder", "{date}"),
        "schedule.input_folder",
    ),
    (
        "ecr repositories with an image",
        _set(
            "pipelines.0.model.ecr_repository_arns",
            ["arn:aws:ecr:eu-west-1:123456789012:repository/x"],
        ),
        "ecr_repository_arns is for registry packages",
    ),
    (
        "duplicate pipelines",
        lambda raw: raw["pipelines"].append(raw["pipelines"][0]),
        "pipelines: duplicate pipeline names: churn",
    ),
    ("no pipelines", _set("pipelines", []), "pipelines"),
    (
        "override unknown pipeline",
        _set("environments.dev.pipelines.nope", {}),
        "environments.dev.pipelines.nope: no pipeline is named 'nope'; the pipelines are 'churn' "
        "and 'ltv'",
    ),
    ("bad backend", _set("environments.dev.state", {"backend": "gcs"}), "environments.dev.state"),
    (
        "dynamodb without table",
        _set("environments.prod.state.lock", "dynamodb"),
        "lock: dynamodb needs dynamodb_table",
    ),
    ("bad retention", _set("defaults.log_retention_days", 42), "not a CloudWatch retention"),
    ("bad email", _set("environments.prod.alerting.subscriptions.0.endpoint", "nope"), "not valid"),
    ("template syntax", _set("pipelines.0.description", "${file(x)}"), "Terraform template"),
    (
        "names too long for job names",
        _rename_churn("customer-churn-score"),
        "pipelines[customer-churn-score].name: transform job (<pipeline>-<32-character run hash>) "
        "name 'mlbatch-dev-customer-churn-score-00000000000000000000000000000000' is 65 "
        "characters; botocore's sagemaker model (CreateTransformJob.TransformJobName) allows at "
        "most 63",
    ),
    ("bad pipeline name", _rename_churn("Churn_Model"), "pipelines[Churn_Model].name"),
    ("bad project", _set("project", "ML Batch"), "project"),
    # Issue 10: what AWS would refuse at apply or run time is refused here.
    (
        "start date in the past",
        _set("pipelines.0.schedule.start_date", "2026-01-01T00:00:00Z"),
        "start_date 2026-01-01T00:00:00Z has passed; EventBridge Scheduler refuses",
    ),
    (
        "filters on RecordIO input",
        _set(
            "pipelines.1.transform",
            {"split_type": "RecordIO", "data_processing": {"input_filter": "$[1:]"}},
        ),
        "data_processing (filters, join_source) works only on CSV and JSON",
    ),
    (
        "join on protobuf input",
        _set(
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
        _set(
            "environments.dev.state",
            {
                "backend": "s3",
                "bucket": "mlbatch-tfstate-123456789012-eu-west-1",
                "region": "us-east-1",
            },
        ),
        "environments.prod.state.region: state bucket mlbatch-tfstate-123456789012-eu-west-1 is in",
    ),
    ("China region", _set("defaults.region", "cn-north-1"), "aws-cn partition, which this project"),
    (
        "sqs subscription",
        _set(
            "environments.prod.alerting.subscriptions.0",
            {"protocol": "sqs", "endpoint": "arn:aws:sqs:eu-west-1:123456789012:alerts"},
        ),
        "protocol sqs is not supported: SNS delivers to a queue only when the queue's own policy",
    ),
    (
        "lambda in another account",
        _set(
            "environments.prod.alerting.subscriptions.0",
            {"protocol": "lambda", "endpoint": "arn:aws:lambda:eu-west-1:999999999999:function:f"},
        ),
        "invoke permission for SNS can only be created in its own account",
    ),
    (
        "weekly freshness window",
        _set("pipelines.1.alarms", {"freshness_window_hours": 168}),
        "leaves no margin over the schedule's 168 h interval",
    ),
    (
        "daily freshness window without margin",
        _set("pipelines.0.alarms", {"freshness_window_hours": 25}),
        "is too short: at least 30 for this schedule",
    ),
    (
        "6-hourly cron with a 3 h freshness window",
        _edits(
            _set("pipelines.0.schedule.expression", "cron(0 */6 * * ? *)"),
            _set("pipelines.0.alarms", {"freshness_window_hours": 3}),
        ),
        "is too short: at least 8 for this schedule (interval 6 h",
    ),
    (
        "payload input prefix outside the pipeline's",
        _set("pipelines.0.schedule.payload", {"input_prefix": "elsewhere/"}),
        "schedule.payload.input_prefix 'elsewhere/' is not under the pipeline's input prefix "
        "'churn/'",
    ),
    (
        "scheduled time in the payload",
        _set("pipelines.0.schedule.payload", {"scheduled_time": "2026-01-01T00:00:00Z"}),
        "pipelines[churn].schedule.payload: scheduled_time may not be set",
    ),
    (
        "dated input folder too long for S3Uri",
        _set("pipelines.0.input_prefix", "churn/" + "a/" * 470),
        "input location (with input_folder) must be 0 to 1024 characters",
    ),
    (
        "payload input prefix not a string",
        _set("pipelines.0.schedule.payload", {"input_prefix": 42}),
        "pipelines[churn].schedule.payload.input_prefix: Input should be a valid string",
    ),
    (
        "wildcard in payload input prefix",
        _set("pipelines.0.schedule.payload", {"input_prefix": "churn/x*/"}),
        "pipelines[churn].schedule.payload.input_prefix: String should match pattern",
    ),
    (
        "payload input prefix too long for S3Uri",
        _set("pipelines.0.schedule.payload", {"input_prefix": "churn/" + "a/" * 597}),
        "input location must be 0 to 1024 characters",
    ),
    (
        "payload x concurrency over 100 MB",
        _set("pipelines.0.transform.max_concurrent_transforms", 20),
        "max_concurrent_transforms x max_payload_mb is 120; SageMaker allows at most 100",
    ),
    (
        "payload over 100 MB",
        _set("pipelines.0.transform.max_payload_mb", 101),
        "max_payload_mb may be at most 100",
    ),
    (
        "17 transform environment entries",
        _set("pipelines.0.transform.environment", {f"V{i}": "x" for i in range(17)}),
        "transform environment may hold at most 16 entries (SageMaker's limit), got 17",
    ),
    (
        "transform environment key",
        _set("pipelines.0.transform.environment", {"1BAD": "x"}),
        "transform environment key '1BAD' does not match SageMaker's",
    ),
    (
        "long container environment value",
        _set("pipelines.0.model.environment", {"A": "x" * 1025}),
        "container environment value must be 0 to 1024 characters",
    ),
    (
        "invocation retries",
        _set("pipelines.0.transform.model_client", {"invocations_max_retries": 4}),
        "invocation retries must be from 0 to 3 (SageMaker's limit), got 4",
    ),
    (
        "long input filter",
        _set("pipelines.1.transform.data_processing.input_filter", "$." + "a" * 62),
        "input filter must be 0 to 63 characters",
    ),
    (
        "output prefix too long for S3OutputPath",
        _set("pipelines.0.output_prefix", "a/" * 440),
        "output location must be 0 to 1024 characters",
    ),
    (
        "registry package without its image repository",
        _set("pipelines.1.model", {"model_package_group": "ltv-models"}),
        "needs ecr_repository_arns",
    ),
    (
        "template in transform environment",
        _set("pipelines.0.transform.environment", {"A": "${aws_iam_role.x.arn}"}),
        "Terraform template",
    ),
    (
        "template in a filter",
        _set("pipelines.1.transform.data_processing.output_filter", "%{ for x in y }"),
        "Terraform template",
    ),
    (
        "template in a tag key",
        _set("defaults.tags", {"${x}": "y"}),
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


def test_pipeline_names_use_exactly_what_the_botocore_limit_leaves(
    make_config: Callable[..., ProjectConfig],
) -> None:
    # "mlbatch-prod-" is 13 characters; a run name adds "-" and a 32-character hash, and
    # botocore's TransformJobName allows 63: a 17-character pipeline name is the longest.
    longest = "p" * 17
    config = make_config(_rename_churn(longest))
    assert longest in [p.name for p in config.environments["prod"].pipelines]
    with pytest.raises(ConfigError) as raised:
        make_config(_rename_churn(longest + "p"))
    message = str(raised.value)
    assert "is 64 characters; botocore's sagemaker model (CreateTransformJob.TransformJobName)" in (
        message
    )
    assert "\n" not in message


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        (
            Limit("role", "churn role", "iam:CreateRole.RoleName"),
            "does not match [\\w+=,.@-]+ (botocore's iam model (CreateRole.RoleName))",
        ),
        (
            Limit("model", "churn_v2", "sagemaker:CreateModel.ModelName"),
            "(botocore's sagemaker model (CreateModel.ModelName))",
        ),
        (
            Limit("rule", "r" * 65, "events:PutRule.Name"),
            "is 65 characters; botocore's events model (PutRule.Name) allows at most 64",
        ),
        (
            Names("p" * 31, "dev").limits("123456789012", "eu-west-1")[0],
            "is 64 characters; https://docs.aws.amazon.com/AmazonS3/latest/userguide/"
            "bucketnamingrules.html allows at most 63",
        ),
    ],
)
def test_a_name_aws_would_refuse_is_refused_naming_the_rule_s_source(
    limit: Limit, expected: str
) -> None:
    with pytest.raises(ValueError) as raised:
        check_name(limit)
    assert expected in str(raised.value)


def test_names_within_every_rule_pass() -> None:
    names = Names("mlbatch", "prod")
    for limit in names.limits("123456789012", "ap-southeast-4") + names.of_pipeline("a").limits():
        check_name(limit)


# The Scheduler bounds of the config, and the botocore members they come from.
_SCHEDULER_BOUNDS = {
    ("retry", "max_attempts"): "Target.RetryPolicy.MaximumRetryAttempts",
    ("retry", "max_event_age_seconds"): "Target.RetryPolicy.MaximumEventAgeInSeconds",
    ("", "flexible_window_minutes"): "FlexibleTimeWindow.MaximumWindowInMinutes",
}


@pytest.mark.parametrize(("field", "member"), list(_SCHEDULER_BOUNDS.items()))
def test_scheduler_bounds_are_botocores(
    make_config: Callable[..., ProjectConfig], field: tuple[str, str], member: str
) -> None:
    # One past botocore's maximum is refused, the maximum itself accepted.
    shape = request_member(f"scheduler:CreateSchedule.{member}")
    parent, name = field
    path = ".".join(p for p in ("pipelines.0.schedule", parent, name) if p)
    with pytest.raises(ConfigError, match=f"less than or equal to {shape['max']}"):
        make_config(_set(path, shape["max"] + 1))
    make_config(_set(path, shape["max"]))


def test_every_pattern_of_the_services_used_converts_to_python() -> None:
    # One Java-to-Python converter (aws_names.java_pattern) serves the config checks and the
    # request checks of the tests: it must read every pattern of the services the project calls.
    # (The models through botocore_facts' cache: the config checks of this process have loaded
    # most.)
    services = ("sagemaker", "scheduler", "stepfunctions", "iam", "events", "logs", "kms", "s3")
    patterns = {
        shape["pattern"]
        for service in (*services, "sns", "cloudwatch", "sqs")
        for shape in _service_model(service)["shapes"].values()
        if "pattern" in shape
    }
    assert len(patterns) > 300
    for pattern in patterns:
        java_pattern(pattern)


@pytest.mark.parametrize(
    ("pattern", "accepted", "refused"),
    [
        (r"[\p{L}\p{M}\p{Z}\p{S}\p{N}\p{P}]*", "Nightly scores: v2 (café) + 10%", "bell\x07"),
        (r"[\w-_]*", "a-b_c", "a.b"),  # "-" after a class is a literal in Java
        (r"([\p{L}\p{Z}\p{N}_.:\/=+\-@]*)${1,128}", "k=v", "k;v"),  # quantified anchor
        (r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*", "a\U0001f600", "a\x01"),
        (r"\p{ASCII}*", "plain", "naïve"),
    ],
)
def test_java_patterns_read_as_java_does(pattern: str, accepted: str, refused: str) -> None:
    assert java_pattern(pattern).fullmatch(accepted)
    assert not java_pattern(pattern).fullmatch(refused)


def test_limits_are_hand_written_only_where_botocore_publishes_none() -> None:
    # Once botocore's model gives one of these members a maximum, its copy here must go.
    for member, (_, page) in PROSE_NAME_LIMITS.items():
        assert "max" not in request_member(member), member
        assert page.startswith("https://docs.aws.amazon.com/"), member


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("project: [unclosed", r"c.yaml:2: not valid YAML \(column 1\)"),
        ("- a list", "top level must be a mapping"),
        ("", "top level must be a mapping"),
    ],
)
def test_unreadable_files(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_config(path)


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config("/nonexistent/pipelines.yaml")


def _run_app(tmp_path: Path, config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "main.py")],
        cwd=tmp_path,
        env={**os.environ, "PIPELINE_CONFIG": str(config), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_app_exits_2_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE_CONFIG.read_text().replace("ml.m5.2xlarge", "ml.huge"))
    result = _run_app(tmp_path, bad)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    line = bad.read_text().splitlines().index("      instance_type: ml.huge") + 1
    assert result.stderr.startswith(
        f"config error: {bad}:{line}: pipelines[ltv].transform.instance_type"
    )
    assert not (tmp_path / "cdktf.out").exists()


def test_app_refuses_a_past_start_date_with_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        EXAMPLE_CONFIG.read_text().replace(
            "flexible_window_minutes: 15",
            "flexible_window_minutes: 15\n      start_date: 2025-06-01",
        )
    )
    result = _run_app(tmp_path, bad)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "pipelines[churn].schedule: start_date 2025-06-01T00:00:00Z" in (result.stderr)
    assert not (tmp_path / "cdktf.out").exists()


def test_a_future_start_date_is_kept(make_config: Callable[..., ProjectConfig]) -> None:
    config = make_config(_set("pipelines.0.schedule.start_date", "2099-01-01T00:00:00Z"))
    assert config.environments["prod"].pipelines[0].schedule.start_date is not None


def test_app_rejects_unknown_environment_selection(tmp_path: Path) -> None:
    result = _run_app(tmp_path, EXAMPLE_CONFIG, PIPELINE_ENVIRONMENTS="staging")
    assert result.returncode == 2
    assert "no environment staging" in result.stderr
    assert not (tmp_path / "cdktf.out").exists()


def test_validation_runs_before_cdktf_or_the_provider_is_loaded() -> None:
    engines = [name for engine in ENGINES.values() for name in (engine.core, engine.provider)]
    probe = (
        "import sys; from modules.config import load_config; "
        f"load_config({str(EXAMPLE_CONFIG)!r}); "
        "loaded = [m for m in sys.modules if m.split('.')[0] in "
        f"{(*engines, 'jsii')!r}]; print(loaded)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# Fields whose values are not plain strings but reach Terraform JSON, with the check that covers
# them instead of the TfStr type.
_CHECKED_OTHERWISE = {
    ("ScheduleConfig", "payload"): "the whole payload is checked as JSON text (_safe_payload)",
}
# Strings that never reach Terraform JSON.
_NOT_IN_TERRAFORM = {("ProjectConfig", "source"): "the config file's path, for messages"}


def _unsafe_strings(annotation: Any, metadata: list[Any], where: str) -> list[str]:
    """Places in a type where a str is not a TfStr (no NO_TERRAFORM_TEMPLATE validator)."""
    import typing

    from pydantic import BaseModel

    from modules.config import NO_TERRAFORM_TEMPLATE

    origin = typing.get_origin(annotation)
    if annotation is str:
        return [] if any(m is NO_TERRAFORM_TEMPLATE for m in metadata) else [where]
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        return _unsafe_strings(inner, [*metadata, *extra], where)
    if origin is typing.Literal or annotation is Any:
        return [] if origin is typing.Literal else [f"{where} (Any)"]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return []  # walked on its own
    found: list[str] = []
    for index, arg in enumerate(typing.get_args(annotation)):
        found += _unsafe_strings(arg, [], f"{where}[{index}]")
    return found


def _models() -> list[type[Any]]:
    import typing

    from pydantic import BaseModel

    seen: list[type[Any]] = []
    todo: list[Any] = [ProjectConfig]
    while todo:
        current = todo.pop()
        if isinstance(current, type) and issubclass(current, BaseModel):
            if current in seen:
                continue
            seen.append(current)
            todo += [f.annotation for f in current.model_fields.values()]
        else:
            todo += list(typing.get_args(current))
    return seen


def test_every_string_of_the_schema_refuses_terraform_templates() -> None:
    """Walks every field of every config model: a new string field that is not a TfStr fails."""
    models = _models()
    assert len(models) >= 15  # the walk reaches the nested models
    unsafe: list[str] = []
    for model in models:
        for name, field in model.model_fields.items():
            if (model.__name__, name) in {**_CHECKED_OTHERWISE, **_NOT_IN_TERRAFORM}:
                continue
            unsafe += _unsafe_strings(
                field.annotation, list(field.metadata), f"{model.__name__}.{name}"
            )
    assert unsafe == []


def test_the_schema_walk_finds_a_plain_string() -> None:
    from pydantic import Field

    from modules.config import TfStr

    assert _unsafe_strings(str, [], "x") == ["x"]
    assert _unsafe_strings(dict[str, TfStr], [], "x") == ["x[0]"]
    assert _unsafe_strings(list[TfStr] | None, [], "x") == []
    assert _unsafe_strings(Any, [Field()], "x") == ["x (Any)"]
