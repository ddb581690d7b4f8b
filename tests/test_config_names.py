"""Names: the pipeline name's budget, AWS's name rules read from botocore (Java patterns read as
Java reads them), and the few limits written by hand where botocore publishes none."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from modules.config import (
    ConfigError,
    ProjectConfig,
    check_name,
)
from modules.config.aws_facts import PROSE_NAME_LIMITS
from modules.config.aws_names import java_pattern
from modules.config.botocore_facts import _service_model, request_member
from modules.naming import Limit, Names
from tests.support.config_edits import rename_pipeline, set_path


def test_pipeline_names_use_exactly_what_the_botocore_limit_leaves(
    make_config: Callable[..., ProjectConfig],
) -> None:
    # "mlbatch-prod-" is 13 characters; a run name adds "-" and a 32-character hash, and
    # botocore's TransformJobName allows 63: a 17-character pipeline name is the longest.
    longest = "p" * 17
    config = make_config(rename_pipeline("churn", longest))
    assert longest in [p.name for p in config.environments["prod"].pipelines]
    with pytest.raises(ConfigError) as raised:
        make_config(rename_pipeline("churn", longest + "p"))
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
            "role name 'churn role' is refused by botocore's iam model (CreateRole.RoleName): a "
            "character it has, or their order",
        ),
        (
            Limit("model", "churn_v2", "sagemaker:CreateModel.ModelName"),
            "is refused by botocore's sagemaker model (CreateModel.ModelName)",
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
        make_config(set_path(path, shape["max"] + 1))
    make_config(set_path(path, shape["max"]))


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
