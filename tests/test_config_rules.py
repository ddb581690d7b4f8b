"""No config error quotes a regular expression: a value that does not match a pattern is told the
rule in words and one valid example (modules/config/rules.py). The schema is walked for every
field with a pattern, and every validator that checks a pattern (subscription endpoints, schedule
expressions, SageMaker's request shapes, AWS's name patterns) is reached with a bad value."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from modules.config import (
    AwsName,
    ConfigError,
    ModelConfig,
    SageMakerField,
    ScheduleConfig,
    Subscription,
    load_config,
    sagemaker_shape,
)
from modules.config.aws_names import java_pattern, name_rule
from modules.config.environment import ENDPOINTS
from modules.config.fields import ScheduleExpression
from modules.config.loading import _describe
from modules.config.rules import RULES, Rule, rule_for
from modules.config.source import Source
from tests.conftest import EXAMPLE_CONFIG
from tests.test_config_schema import models

# Regex syntax a sentence has no use for: anchors, class escapes, classes with ranges or negated,
# counted repetition, groups with flags or names, a class or group repeated, ".*".
REGEX_SYNTAX = re.compile(
    r"\^|\$|\\[dDwWsSpPbB.]|\[\^|\[[^\]\s]*-[^\]\s]*\]|\{\d+(,\d*)?\}|\(\?|[)\]][*+?]|\.[*+]"
)
BAD = "%%%%"  # matches none of the patterns (each starts with a letter, a digit or a scheme)
# Another engineer is rewriting schedule.input_folder's check; it may use a Rule like the others
# (until then it gets the generic words, still no regex).
NOT_YET: set[tuple[str, str]] = set()  # pattern fields whose rule is not yet in words


def _assert_words(message: str) -> None:
    assert not REGEX_SYNTAX.search(message), message
    assert "e.g. " in message, message


def test_the_regex_detector_sees_every_pattern() -> None:
    # Else the assertions below could not fail.
    assert len(RULES) >= 20
    for pattern in RULES:
        assert REGEX_SYNTAX.search(pattern), pattern


def _patterns(annotation: Any, metadata: list[Any], shape: str = "value") -> list[tuple[str, str]]:
    """(pattern, "value" or "item") of every pattern in a type, wherever it sits: a field's own
    constraints, an ``Annotated`` type's (a ``Field(...)`` in it keeps them in its metadata), the
    items of a list. (pydantic's JSON schema drops those on optional fields and list items.)"""
    found = []
    for item in metadata:
        for constraint in [item, *getattr(item, "metadata", [])]:
            if isinstance(getattr(constraint, "pattern", None), str):
                found.append((constraint.pattern, shape))
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        return found + _patterns(inner, list(extra), shape)
    inside = {list: "item", dict: "mapping"}.get(origin, shape)  # type: ignore[call-overload]
    for arg in typing.get_args(annotation):
        found += _patterns(arg, [], inside)
    return found


def _pattern_fields() -> list[tuple[str, str, TypeAdapter[Any], Any, str]]:
    """(model, field, the field's validator, a bad value of its shape, its pattern) for every
    field of every config model with a pattern."""
    found = []
    for model in models():
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if field.metadata:
                annotation = Annotated[annotation, *field.metadata]  # type: ignore[valid-type]
            for pattern, shape in dict.fromkeys(_patterns(field.annotation, field.metadata)):
                assert shape != "mapping", f"{model.__name__}.{name}: a pattern in a mapping"
                bad = [BAD] if shape == "item" else BAD
                found.append((model.__name__, name, TypeAdapter(annotation), bad, pattern))
    return found


PATTERN_FIELDS = _pattern_fields()


def test_the_walk_finds_every_pattern_field() -> None:
    named = {f"{model}.{name}" for model, name, *_ in PATTERN_FIELDS}
    assert {
        "ProjectConfig.project",
        "EnvironmentConfig.name",
        "EnvironmentConfig.account_id",
        "PipelineConfig.name",
        "PipelineConfig.input_prefix",
        "PipelineConfig.output_prefix",
        "ModelConfig.image",
        "ModelConfig.artifact_key",
        "ModelConfig.model_package_arn",
        "ModelConfig.ecr_repository_arns",
        "VpcConfig.subnet_ids",
        "VpcConfig.security_group_ids",
        "EventTrigger.marker",
        "S3State.bucket",
        "S3State.key_prefix",
        "S3State.dynamodb_table",
    } <= named


@pytest.mark.parametrize(
    ("adapter", "bad", "pattern"),
    [(a, b, p) for m, n, a, b, p in PATTERN_FIELDS if (m, n) not in NOT_YET],
    ids=[f"{m}.{n}" for m, n, *_ in PATTERN_FIELDS if (m, n) not in NOT_YET],
)
def test_a_pattern_field_tells_its_rule_in_words_and_accepts_its_example(
    adapter: TypeAdapter[Any], bad: Any, pattern: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        adapter.validate_python(bad)
    (error,) = raised.value.errors()
    assert error["type"] == "string_pattern_mismatch"
    mistake, _ = _describe(error, {}, None, Source(None))
    _assert_words(mistake.message)
    assert mistake.message.endswith(f"(got {BAD!r})")
    rule = rule_for(pattern)
    assert rule is not None
    # The example is a value the field takes (its SageMaker and AWS checks included).
    adapter.validate_python([rule.example] if isinstance(bad, list) else rule.example)


def test_a_pattern_nobody_put_in_words_is_not_quoted_either() -> None:
    adapter: TypeAdapter[str] = TypeAdapter(Annotated[str, Field(pattern=r"^x[0-9]{2}\d+$")])
    with pytest.raises(ValidationError) as raised:
        adapter.validate_python(BAD)
    mistake, _ = _describe(raised.value.errors()[0], {}, None, Source(None))
    assert not REGEX_SYNTAX.search(mistake.message), mistake.message
    assert "docs/config-reference.md" in mistake.message


def _refused(check: typing.Callable[[], object]) -> str:
    with pytest.raises((ValidationError, ValueError)) as raised:
        check()
    error = raised.value
    if isinstance(error, ValidationError):
        messages = [_describe(e, {}, None, Source(None))[0].message for e in error.errors()]
        (message,) = messages
        return message
    return str(error)


@pytest.mark.parametrize("protocol", sorted(ENDPOINTS))
def test_a_subscription_endpoint_tells_its_protocols_rule(protocol: str) -> None:
    message = _refused(lambda: Subscription.model_validate({"protocol": protocol, "endpoint": BAD}))
    _assert_words(message)
    assert str(ENDPOINTS[protocol]) in message
    # A phone receives notices only (a page is longer than one SMS).
    receives = "notices" if protocol == "sms" else "all"
    Subscription.model_validate(
        {"protocol": protocol, "endpoint": ENDPOINTS[protocol].example, "receives": receives}
    )


@pytest.mark.parametrize("expression", [BAD, "rate(0 minutes)", "at(2026-01-01)"])
def test_a_schedule_expression_tells_the_forms_in_words(expression: str) -> None:
    message = _refused(lambda: TypeAdapter(ScheduleExpression).validate_python(expression))
    _assert_words(message)
    assert "rate(1 day)" in message


def test_a_payload_input_prefix_tells_its_rule() -> None:
    message = _refused(
        lambda: ScheduleConfig.model_validate(
            {"expression": "rate(1 day)", "payload": {"input_prefix": "churn/x*/"}}
        )
    )
    _assert_words(message)


def _markers(annotation: Any, metadata: list[Any]) -> list[Any]:
    """The SageMakerField and AwsName checks in a field's type, wherever they sit."""
    found = [m.func for m in metadata if isinstance(getattr(m, "func", None), SageMakerField)]
    found += [m.func for m in metadata if isinstance(getattr(m, "func", None), AwsName)]
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        return found + _markers(inner, list(extra))
    for arg in typing.get_args(annotation):
        found += _markers(arg, [])
    return found


def _shape_patterns(shape: dict[str, Any]) -> list[str]:
    found = [shape["pattern"]] if "pattern" in shape else []
    for part in ("key", "value", "member"):
        if part in shape:
            found += _shape_patterns(sagemaker_shape(shape[part]["shape"]))
    return found


def _aws_patterns() -> set[str]:
    """AWS's patterns a config value is checked against: SageMaker's request shapes and the
    name members of AwsName fields."""
    found: set[str] = set()
    for model in models():
        for field in model.model_fields.values():
            for marker in _markers(field.annotation, list(field.metadata)):
                if isinstance(marker, SageMakerField):
                    found |= set(_shape_patterns(sagemaker_shape(marker.request)))
                elif (pattern := name_rule(marker.member).pattern) is not None:
                    found.add(pattern)
    return found


def test_every_aws_pattern_a_value_can_fail_has_words_and_a_valid_example() -> None:
    patterns = _aws_patterns()
    assert len(patterns) >= 8  # the walk reaches the request shapes and the names
    for pattern in patterns:
        accepts_anything = java_pattern(pattern).fullmatch("\x00 \n\t%é") is not None
        rule = rule_for(pattern)
        assert rule is not None or accepts_anything, f"no words for AWS's pattern {pattern}"
        if rule is not None:
            assert java_pattern(pattern).fullmatch(rule.example), rule
            _assert_words(str(rule))


IMAGE = "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
REPOSITORY = "arn:aws:ecr:eu-west-1:141502667606:repository/sagemaker-xgboost"


@pytest.mark.parametrize(
    ("model", "refused_by"),
    [
        (
            # Our pattern takes any version; SageMaker's ModelPackageName at most 9 digits.
            {
                "model_package_arn": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/"
                "ltv/1234567890",
                "ecr_repository_arns": [REPOSITORY],
            },
            "SageMaker refuses model package",
        ),
        (
            {"model_package_group": "ltv-models-", "ecr_repository_arns": [REPOSITORY]},
            "is refused by botocore's sagemaker model (CreateModelPackageGroup",
        ),
        (
            {"image": IMAGE, "artifact_key": "m.tar.gz", "environment": {"1BAD": "x"}},
            "SageMaker refuses container environment key '1BAD'",
        ),
    ],
    ids=["sagemaker-shape", "aws-name", "sagemaker-map-key"],
)
def test_aws_patterns_are_told_in_words(model: dict[str, Any], refused_by: str) -> None:
    message = _refused(lambda: ModelConfig.model_validate(model))
    assert refused_by in message
    _assert_words(message)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "project: mlbatch",
            "project: MLBatch",
            "project: a project name is 2-12 lowercase letters and digits, starting with a "
            "letter, e.g. mlbatch (got 'MLBatch')",
        ),
        (
            "marker: _SUCCESS",
            "marker: churn/_SUCCESS",
            "environments.prod.pipelines.churn.trigger.marker: a marker is an object name (no /) "
            "of 1-128 letters, digits and ! _ . ' ( ) -, e.g. _SUCCESS (got 'churn/_SUCCESS')",
        ),
        (
            "bucket: mlbatch-tfstate-123456789012-eu-west-1",
            "bucket: Mlbatch_State",
            "environments.prod.state.bucket: a bucket name is 3-63 lowercase letters, digits, "
            "dots and hyphens, starting and ending with a letter or digit, e.g. "
            "mlbatch-tfstate-123456789012-eu-west-1 (got 'Mlbatch_State')",
        ),
    ],
    ids=["project", "marker", "bucket"],
)
def test_the_app_tells_a_pattern_mistake_in_words(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    path = tmp_path / "config.yaml"
    text = EXAMPLE_CONFIG.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    (line,) = raised.value.lines
    assert line.endswith(expected), line
    _assert_words(line)


def test_a_pattern_has_one_rule() -> None:
    with pytest.raises(ValueError, match="two rules for one pattern"):
        Rule(next(iter(RULES)), "other words", "x")
