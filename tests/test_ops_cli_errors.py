"""The operations tool's refusals and errors (tools/ops/cli.py): a request the pipeline cannot
take refused before any AWS call, an unknown environment named with those there are (exit 2), and
an AWS error in one line, not a traceback (exit 1). AWS is botocore's Stubber: a call no test
expected fails the test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.ops_cli import invoke, using_ops_config
from tests.support.ops_stubs import StubbedAws, install, target

# tests/fixtures/ops.yaml's environment and pipeline (`overlap: skip`, input prefix `churn/`).
ENVIRONMENT = "prod"
PIPELINE = "churn"


@pytest.fixture(autouse=True)
def ops_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from using_ops_config(monkeypatch)


@pytest.mark.parametrize(
    ("command", "refusal"),
    [
        pytest.param(
            f"./ops backfill {ENVIRONMENT} {PIPELINE} --from 2026-11-20 --to 2026-11-26"
            " --parallel 3",
            "--parallel needs overlap: allow",
            id="parallel needs overlap allow",
        ),
        pytest.param(
            f"./ops run {ENVIRONMENT} {PIPELINE} --input-prefix other/",
            "must start with the pipeline's input prefix 'churn/'",
            id="a prefix outside the pipeline",
        ),
    ],
)
def test_a_request_the_pipeline_cannot_take_is_refused_before_any_call(
    command: str, refusal: str
) -> None:
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    code, text = invoke(command)
    assert code == 2 and refusal in text
    aws.assert_done()


def test_an_unknown_environment_is_named_with_those_there_are() -> None:
    install(StubbedAws(ENVIRONMENT))
    code, text = invoke(f"./ops runs qa {PIPELINE}")
    flat = " ".join(text.split())
    assert code == 2 and "no environment 'qa'" in flat and "(environments: dev, prod)" in flat


def test_an_aws_error_is_one_line_not_a_traceback() -> None:
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    t = target(ENVIRONMENT, PIPELINE)
    aws.refuse(
        "stepfunctions",
        "list_executions",
        "AccessDeniedException",
        400,
        stateMachineArn=t.state_machine_arn,
        maxResults=10,
    )
    code, text = invoke(f"./ops runs {ENVIRONMENT} {PIPELINE}")
    aws.assert_done()
    assert code == 1
    assert text.startswith("AWS error: An error occurred (AccessDeniedException)")
