"""`./ops runs`, `./ops why` and `./ops run` (tools/ops/cli.py) against botocore's Stubber: the
recent runs at 80 columns, why the last run failed (explained from a real execution on the Step
Functions engine, and the failed state found in real histories), a run started and waited for,
and the account taken from STS when the config pins none. Every request is checked against the
service model and the parameters expected, every answer against the model."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from modules.config import ProjectConfig
from modules.workflow.delivery_count import INCOMPLETE_OUTPUT_ERROR
from modules.workflow.state_names import (
    COUNT_INPUT_PAGE,
    NOTIFY_FAILURE,
    REJECT_RUN_INPUT,
    RUN_TRANSFORM_JOB,
)
from tests.support.executions import named_scenarios
from tests.support.machines import Machine
from tests.support.mocked_answers import happy_mocks, throw, transform_failure
from tests.support.ops_cli import (
    FAILED_RUN,
    INCOMPLETE_OF,
    dated_input,
    expect_start,
    failed_execution,
    incomplete_execution,
    invoke,
    scenario_run,
    scenario_runs,
    scenario_why,
    synthesized_machine,
    using_ops_config,
)
from tests.support.ops_stubs import NOW, FakeClock, StubbedAws, install, target
from tests.support.sfn_engine import Engine, Execution
from tools.ops.explain import MISSING_SHOWN

# tests/fixtures/ops.yaml's environment with an account, the one without (STS says whose
# credentials run the tool), and the pipeline the tests work on (`overlap: skip`).
ENVIRONMENT = "prod"
ENVIRONMENT_WITHOUT_ACCOUNT = "dev"
PIPELINE = "churn"
HOURLY_PIPELINE = "clicks"  # folders dt=<date>/hour=<hour>


@pytest.fixture(autouse=True)
def ops_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from using_ops_config(monkeypatch)


@pytest.fixture(scope="module")
def churn(synth_env: Callable[[ProjectConfig, str], str]) -> Machine:
    """The prod churn state machine of the ops config, as synthesized."""
    return synthesized_machine(synth_env, ENVIRONMENT, PIPELINE)


@pytest.fixture(scope="module")
def failed_run(engine: Engine, churn: Machine) -> Execution:
    """A transform job that fails, run on the Step Functions engine (its real history)."""
    return failed_execution(engine, churn)


def test_runs_shows_the_recent_runs_at_80_columns() -> None:
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    scenario_runs(aws, target(ENVIRONMENT, PIPELINE), {})
    code, text = invoke(f"./ops runs {ENVIRONMENT} {PIPELINE}")
    aws.assert_done()
    assert code == 0
    assert "SUCCEEDED" in text and "FAILED" in text and "RUNNING" in text
    assert "ClientError: See job logs" in text.replace("\n", " ").replace("  ", " ") or (
        "ClientError" in text
    )
    assert "churn/2026-11-20/" in text  # a running backfill's folder, from its input


@pytest.fixture(scope="module")
def incomplete_run(engine: Engine, churn: Machine) -> Execution:
    """A run whose outputs are missing (churn has ``delivery``), on the Step Functions engine."""
    return incomplete_execution(engine, churn)


def test_runs_shows_which_model_made_each_run() -> None:
    """From the manifest in a run's output; for a failed run, from its transform job's tags."""
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    t = target(ENVIRONMENT, PIPELINE)
    scenario_runs(aws, t, {})
    code, text = invoke(f"./ops runs {ENVIRONMENT} {PIPELINE}")
    aws.assert_done()
    assert code == 0
    model = t.pipeline.model
    shown = f"model image {model.image}, artifact {model.artifact_key}"
    rows = text.split(f"\n{' ' * 13}run ")
    # The succeeded and the failed run name it; the running one does not know it yet.
    assert [shown in " ".join(row.split()).replace(" -", "-") for row in rows[1:]] == [
        True,
        True,
        False,
    ]
    assert [c.operation for c in aws.calls].count("ListTags") == 1


def test_why_lists_the_inputs_an_incomplete_run_has_no_output_for(
    incomplete_run: Execution,
) -> None:
    """Its input prefix and output folder listed (every page), what is not input left out, the
    first inputs without a .out named and the rest counted."""
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    t = target(ENVIRONMENT, PIPELINE)
    scenario_why(incomplete_run)(aws, t, {})
    code, text = invoke(f"./ops why {ENVIRONMENT} {PIPELINE}")
    aws.assert_done()
    assert code == 0, text
    missing, total = INCOMPLETE_OF
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert f"error {INCOMPLETE_OUTPUT_ERROR}" in lines
    assert f"missing outputs {missing} of {total} inputs have no .out now" in lines
    prefix = incomplete_run.requests_of(COUNT_INPUT_PAGE)[0]["Prefix"]
    named = [line.removeprefix("no output ") for line in lines if line.startswith("no output ")]
    assert named == [f"{prefix}part-{n:05d}.csv" for n in range(MISSING_SHOWN)]
    assert f"... and {missing - MISSING_SHOWN} more" in lines
    listed = [c.params for c in aws.calls if c.operation == "ListObjectsV2"]
    assert [p.get("ContinuationToken") for p in listed if p["Prefix"] == prefix] == [
        None,
        "page-1",
    ]


def test_why_explains_the_last_failed_run(failed_run: Execution) -> None:
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    t = target(ENVIRONMENT, PIPELINE)
    scenario_why(failed_run)(aws, t, {})
    code, text = invoke(f"./ops why {ENVIRONMENT} {PIPELINE}")
    aws.assert_done()
    assert code == 0
    flat = " ".join(text.split())
    assert f"failed state {RUN_TRANSFORM_JOB}" in flat
    assert "error States.TaskFailed" in flat
    assert "job status Failed: ClientError: bad input" in flat
    assert "job log group /aws/sagemaker/TransformJobs" in flat
    assert "job log stream mlbatch-prod-churn-" in flat and "/i-0a1b2c3d4e" in flat
    assert f"workflow logs {t.names.state_machine_log_group}" in flat
    assert "input s3://mlbatch-prod-input-123456789012-eu-west-1/churn/2026-11-26/" in flat
    assert "manifest none (written on success)" in flat
    assert f"run: {t.execution_console(t.execution_arn(FAILED_RUN))}" in text.splitlines()


def test_why_says_which_permission_a_refused_manifest_needs(failed_run: Execution) -> None:
    """S3 refuses a manifest the caller may not decrypt with AccessDenied: that is not a run that
    wrote none."""
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    t = target(ENVIRONMENT, PIPELINE)
    denied = (
        f"User: arn:aws:sts::123456789012:assumed-role/ops/me is not authorized to perform: "
        f"kms:Decrypt on resource: {t.aws.arn('kms', 'key/1234abcd')} because no "
        "identity-based policy allows the kms:Decrypt action"
    )
    scenario_why(failed_run, ("AccessDenied", 403, denied))(aws, t, {})
    code, text = invoke(f"./ops why {ENVIRONMENT} {PIPELINE}")
    aws.assert_done()
    assert code == 0
    flat = " ".join(text.split())
    assert "written on success" not in flat
    assert "could not be read (AccessDenied:" in flat
    alias = t.environment_names.key_alias
    assert f"likely missing: kms:Decrypt on the environment's key {alias}" in flat


def test_run_of_a_pipeline_with_dated_folders_reads_todays_folder_as_scheduled() -> None:
    """Not {"trigger": "manual"}, which reads every past day at once: today's folder (UTC), with
    the input a scheduled run of today gets, said on screen."""
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    t = target(ENVIRONMENT, PIPELINE)
    scenario_run(aws, t, {})
    code, text = invoke(f"./ops run {ENVIRONMENT} {PIPELINE}")
    aws.assert_done()
    assert code == 0, text
    [start] = [c for c in aws.calls if c.operation == "StartExecution"]
    assert json.loads(start.params["input"]) == dated_input(t, NOW.date().isoformat())
    assert f"reads {t.pipeline.default_input_prefix}2026-12-01/ (today's, UTC;" in text


@pytest.mark.parametrize(
    "asked",
    ["--date 2026-11-20T05", "--folder dt=2026-11-20/hour=05"],
    ids=["date and hour", "folder"],
)
def test_run_of_a_date_or_folder_starts_as_that_hours_scheduled_run(asked: str) -> None:
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    t = target(ENVIRONMENT, HOURLY_PIPELINE)
    run_input = {"scheduled_time": "2026-11-20T05:00:00Z", "trigger": "manual"}
    expect_start(aws, t, "manual-20261201T080000Z-a1b2", run_input)
    code, text = invoke(f"./ops run {ENVIRONMENT} {HOURLY_PIPELINE} {asked}")
    aws.assert_done()
    assert code == 0, text
    assert f"reads {t.pipeline.default_input_prefix}dt=2026-11-20/hour=05/ (as asked)" in text


def test_run_refuses_a_folder_the_picture_does_not_name() -> None:
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    code, text = invoke(f"./ops run {ENVIRONMENT} {HOURLY_PIPELINE} --folder dt=2026-11-20")
    aws.assert_done()
    assert code == 2 and "is not a folder of the picture" in " ".join(text.split())


def test_run_starts_one_run_and_waits_for_it() -> None:
    aws, clock = StubbedAws(ENVIRONMENT), FakeClock()
    install(aws, clock)
    scenario_run(
        aws, target(ENVIRONMENT, PIPELINE), {"--input-prefix": "churn/2026-11-30/", "--wait": True}
    )
    code, text = invoke(
        f"./ops run {ENVIRONMENT} {PIPELINE} --input-prefix churn/2026-11-30/ --wait"
    )
    aws.assert_done()
    assert code == 0
    assert "started manual-20261201T080000Z-a1b2" in text and "SUCCEEDED" in text
    assert clock.sleeps == [60.0]


def test_the_account_comes_from_sts_when_the_config_pins_none() -> None:
    aws = StubbedAws(ENVIRONMENT_WITHOUT_ACCOUNT)
    install(aws)
    aws.expect(
        "sts",
        "get_caller_identity",
        {"Account": "210987654321", "Arn": "arn:aws:iam::210987654321:user/x", "UserId": "X"},
    )
    t = target(ENVIRONMENT_WITHOUT_ACCOUNT, PIPELINE)
    arn = t.state_machine_arn.replace("111122223333", "210987654321")
    aws.expect(
        "stepfunctions", "list_executions", {"executions": []}, stateMachineArn=arn, maxResults=10
    )
    code, text = invoke(f"./ops runs {ENVIRONMENT_WITHOUT_ACCOUNT} {PIPELINE}")
    aws.assert_done()
    assert code == 0 and "no runs yet" in text


def test_the_failed_state_is_found_in_real_histories(engine: Engine, churn: Machine) -> None:
    """failure_of on executions of the engine: a Fail state reached directly, a task caught by
    the failure handling, and a run whose failure notification failed too."""
    from tools.ops.runs import failure_of

    scheduled = next(s for s in named_scenarios(engine, churn) if s.name == "scheduled")
    invalid = "Value 'x' failed to satisfy constraint (Error Code: ValidationException)"
    cases = {
        "bad-input": (
            json.dumps({"trigger": "manual", "input_prefix": "../elsewhere/"}),
            lambda mocks: mocks,
            (REJECT_RUN_INPUT, "InvalidRunInput"),
        ),
        "sagemaker-invalid": (
            scheduled.input,
            lambda mocks: (
                mocks | {RUN_TRANSFORM_JOB: throw("SageMaker.AmazonSageMakerException", invalid)}
            ),
            (RUN_TRANSFORM_JOB, "SageMaker.AmazonSageMakerException"),
        ),
        "notify-fails": (
            scheduled.input,
            lambda mocks: (
                transform_failure(mocks)
                | {NOTIFY_FAILURE: throw("SNS.AuthorizationErrorException", "not authorized")}
            ),
            (RUN_TRANSFORM_JOB, "States.TaskFailed"),
        ),
    }
    for case, (run_input, edit, expected) in cases.items():
        name = f"ops-{case}"  # answers built for this name (the overlap guard lists it running)
        run = engine.run(
            churn.name, churn.definition, name, run_input, edit(happy_mocks(churn, name))
        )
        failure = failure_of(run.events)
        assert (failure.state, failure.error) == expected, case
        if case != "bad-input":
            assert failure.transform_job and churn.is_attempt_name(failure.transform_job)
