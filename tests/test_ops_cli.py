"""The operations tool's commands (tools/ops/cli.py) against botocore's Stubber: every request is
checked against the service model and the parameters expected, every answer against the model;
the order of the stubbed answers is the order the tool must call in. Output is read at 80
columns. The failed run that `why` explains is a real execution on the Step Functions engine."""

from __future__ import annotations

import io
import json
import re
import shlex
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from modules.config import ProjectConfig, load_config
from modules.workflow.state_names import NOTIFY_FAILURE, REJECT_RUN_INPUT, RUN_TRANSFORM_JOB
from tests.support.executions import (
    happy_mocks,
    named_scenarios,
    throw,
    transform_failure,
)
from tests.support.machines import Machine, load_machines
from tests.support.ops_stubs import (
    NOW,
    OPS_CONFIG,
    FakeClock,
    StubbedAws,
    described,
    install,
    listed,
    succeeded_output,
    target,
)
from tests.support.sfn_engine import Engine, Execution
from tools.ops import cli
from tools.ops.target import Target

WEEK = [f"2026-11-{day}" for day in range(20, 27)]


@pytest.fixture(autouse=True)
def ops_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPELINE_CONFIG", str(OPS_CONFIG))
    yield
    cli.RUNTIME = cli.Runtime()


def invoke(command: str) -> tuple[int, str]:
    """Run one command line (``./ops ...``) and return its exit code and what it printed."""
    args = shlex.split(command)
    assert args[0] == "./ops", command
    result = CliRunner().invoke(cli.app, args[1:])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    console: Console = cli.RUNTIME.console
    text = console.export_text()
    # Only links may be longer (printed whole, for the terminal to wrap and keep clickable).
    too_wide = [line for line in text.splitlines() if len(line) > 80 and "https://" not in line]
    assert not too_wide, too_wide
    return result.exit_code, text


def backfill_name(folder: str, token: str = "a1b2") -> str:
    return f"backfill-{folder}-20261201T080000Z-{token}"


def _backfill_input(folder: str) -> dict[str, str]:
    return {"scheduled_time": f"{folder}T00:00:00Z", "trigger": "backfill"}


def expect_backfill_run(aws: StubbedAws, t: Target, folder: str, token: str = "a1b2") -> None:
    """One backfill run of a date: started with a scheduled run's input, then polled until done."""
    expect_backfill_start(aws, t, folder, token)
    expect_backfill_done(aws, t, folder, token)


def expect_backfill_start(aws: StubbedAws, t: Target, folder: str, token: str = "a1b2") -> None:
    name = backfill_name(folder, token)
    aws.expect(
        "stepfunctions",
        "start_execution",
        {"executionArn": t.execution_arn(name), "startDate": NOW},
        stateMachineArn=t.state_machine_arn,
        name=name,
        input=json.dumps(_backfill_input(folder), sort_keys=True),
    )


def expect_backfill_done(aws: StubbedAws, t: Target, folder: str, token: str = "a1b2") -> None:
    name = backfill_name(folder, token)
    run_input = _backfill_input(folder)
    output = succeeded_output(t, name, f"{t.pipeline.default_input_prefix}{folder}/")
    aws.expect(
        "stepfunctions",
        "describe_execution",
        described(t, name, "SUCCEEDED", NOW, run_input, output=output),
        executionArn=t.execution_arn(name),
    )


def expect_listing(aws: StubbedAws, t: Target, executions: list[dict[str, Any]]) -> None:
    aws.expect(
        "stepfunctions",
        "list_executions",
        {"executions": executions},
        stateMachineArn=t.state_machine_arn,
    )


# --------------------------------------------------------------------------------------------
# Scenarios: the AWS answers each command meets (also used by tests/test_ops_docs.py)


def scenario_backfill(aws: StubbedAws, t: Target, flags: dict[str, str | bool]) -> None:
    """A week with no earlier backfill runs: started in date order, ``--parallel`` at a time."""
    expect_listing(aws, t, [])
    if flags.get("--dry-run"):
        return
    at_once = int(flags.get("--parallel") or 1)
    for first in range(0, len(WEEK), at_once):
        batch = WEEK[first : first + at_once]
        for folder in batch:
            expect_backfill_start(aws, t, folder)
        for folder in batch:
            expect_backfill_done(aws, t, folder)


def scenario_runs(aws: StubbedAws, t: Target, flags: dict[str, str | bool]) -> None:
    scheduled = {"scheduled_time": "2026-11-30T02:00:00Z", "trigger": "schedule"}
    failed_cause = json.dumps(
        {
            "TransformJobName": f"{t.names.run_prefix}{'9' * 32}",
            "TransformJobStatus": "Failed",
            "FailureReason": "ClientError: See job logs for more information",
        }
    )
    runs = [
        ("b1f0c2aa-44c1-4c7e-9d7e-3f2a9c1d5e01", "SUCCEEDED", NOW - timedelta(hours=6)),
        ("0b7d3e9a-8f0e-4a51-a1c2-77e0f6b1c9d2", "FAILED", NOW - timedelta(days=1, hours=6)),
        (backfill_name("2026-11-20"), "RUNNING", NOW - timedelta(minutes=5)),
    ]
    aws.expect(
        "stepfunctions",
        "list_executions",
        {"executions": [listed(t, name, status, start) for name, status, start in runs]},
        stateMachineArn=t.state_machine_arn,
        maxResults=10,
    )
    for name, status, start in runs:
        run_input = scheduled
        extra: dict[str, Any] = {}
        if status == "SUCCEEDED":
            extra["output"] = succeeded_output(t, name, "churn/2026-11-30/")
        elif status == "FAILED":
            extra |= {"error": "States.TaskFailed", "cause": failed_cause}
        else:
            run_input = {"scheduled_time": "2026-11-20T00:00:00Z", "trigger": "backfill"}
        aws.expect(
            "stepfunctions",
            "describe_execution",
            described(t, name, status, start, run_input, **extra),
            executionArn=t.execution_arn(name),
        )


def scenario_run(aws: StubbedAws, t: Target, flags: dict[str, str | bool]) -> None:
    name = "manual-20261201T080000Z-a1b2"
    run_input: dict[str, Any] = {"trigger": "manual"}
    if isinstance(flags.get("--input-prefix"), str):
        run_input["input_prefix"] = flags["--input-prefix"]
    aws.expect(
        "stepfunctions",
        "start_execution",
        {"executionArn": t.execution_arn(name), "startDate": NOW},
        stateMachineArn=t.state_machine_arn,
        name=name,
        input=json.dumps(run_input, sort_keys=True),
    )
    if not flags.get("--wait"):
        return
    arn = t.execution_arn(name)
    running = described(t, name, "RUNNING", NOW, run_input)
    prefix = str(run_input.get("input_prefix", t.pipeline.default_input_prefix))
    done = described(
        t, name, "SUCCEEDED", NOW, run_input, minutes=1, output=succeeded_output(t, name, prefix)
    )
    for answer in (running, done, done):  # poll, poll, the summary row
        aws.expect("stepfunctions", "describe_execution", answer, executionArn=arn)


FAILED_RUN = "3f1d2c4b-5a6e-4f70-8192-a3b4c5d6e7f8"


@pytest.fixture(scope="module")
def churn(synth_env: Callable[[ProjectConfig, str], str]) -> Machine:
    """The prod churn state machine of the ops config, as synthesized."""
    loaded = load_config(OPS_CONFIG)
    config = loaded.model_copy(update={"environments": {"prod": loaded.environments["prod"]}})
    synthesized = json.loads(synth_env(config, "prod"))
    [machine] = [
        m
        for m in load_machines(config, {"mlbatch-prod": synthesized})
        if m.pipeline.name == "churn"
    ]
    return machine


@pytest.fixture(scope="module")
def failed_run(engine: Engine, churn: Machine) -> Execution:
    """A transform job that fails, run on the Step Functions engine (its real history)."""
    machine = churn
    [scenario] = [s for s in named_scenarios(engine, machine) if s.name == "scheduled"]
    mocks = transform_failure(happy_mocks(machine, FAILED_RUN))  # the job fails, as named
    run = engine.run(machine.name, machine.definition, FAILED_RUN, scenario.input, mocks)
    assert run.status == "FAILED"
    return _as_aws_records(run)


def _as_aws_records(run: Execution) -> Execution:
    """The engine's history with what AWS's model requires and the engine leaves out of a mocked
    task's failure: the resource of the task (taken from its TaskScheduled event)."""
    events, resource = [], {}
    for event in run.events:
        if event["type"] == "TaskScheduled":
            details = event["taskScheduledEventDetails"]
            resource = {k: details[k] for k in ("resourceType", "resource")}
        if event["type"] == "TaskFailed":
            event = {**event, "taskFailedEventDetails": resource | event["taskFailedEventDetails"]}
        events.append(event)
    return replace(run, events=events)


def scenario_why(run: Execution) -> Callable[[StubbedAws, Target, dict[str, str | bool]], None]:
    def stub(aws: StubbedAws, t: Target, flags: dict[str, str | bool]) -> None:
        if flags.get("run") is None:
            for status in cli.FAILED_STATUSES:
                found = [listed(t, FAILED_RUN, "FAILED", NOW)] if status == "FAILED" else []
                aws.expect(
                    "stepfunctions",
                    "list_executions",
                    {"executions": found},
                    stateMachineArn=t.state_machine_arn,
                    statusFilter=status,
                    maxResults=1,
                )
        arn = t.execution_arn(FAILED_RUN)
        aws.expect(
            "stepfunctions",
            "describe_execution",
            described(
                t,
                FAILED_RUN,
                "FAILED",
                NOW,
                json.loads(run.events[0]["executionStartedEventDetails"]["input"]),
                error=run.error,
                cause=run.cause,
            ),
            executionArn=arn,
        )
        aws.expect(
            "stepfunctions",
            "get_execution_history",
            {"events": run.events},
            executionArn=arn,
            maxResults=1000,
        )
        job = json.loads(run.cause or "{}")["TransformJobName"]
        aws.expect(
            "sagemaker",
            "describe_transform_job",
            {
                "TransformJobName": job,
                "TransformJobArn": t.aws.arn("sagemaker", f"transform-job/{job}"),
                "TransformJobStatus": "Failed",
                "FailureReason": "ClientError: bad input",
                "ModelName": t.names.model,
                "TransformInput": {
                    "DataSource": {
                        "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://in/churn/"}
                    }
                },
                "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
                "CreationTime": NOW,
            },
            TransformJobName=job,
        )
        aws.expect(
            "logs",
            "describe_log_streams",
            {"logStreams": [{"logStreamName": f"{job}/i-0a1b2c3d4e5f60718-1764118810"}]},
            logGroupName="/aws/sagemaker/TransformJobs",
            logStreamNamePrefix=f"{job}/",
        )
        aws.refuse(
            "s3",
            "get_object",
            "NoSuchKey",
            404,
            Bucket=t.output_bucket,
            Key=t.manifest_key(FAILED_RUN),
        )

    return stub


# --------------------------------------------------------------------------------------------


def test_backfill_over_seven_dates_starts_seven_runs_one_after_another() -> None:
    aws, clock = StubbedAws(), FakeClock()
    console = install(aws, clock)
    t = target()
    scenario_backfill(aws, t, {})
    code, text = invoke("./ops backfill prod churn --from 2026-11-20 --to 2026-11-26")
    # The stubbed answers are queued start, describe, start, describe...: a second run started
    # before the first one finished would meet the wrong answer and fail here.
    aws.assert_done()
    assert code == 0, text
    assert [line.split()[1] for line in text.splitlines() if line.startswith("started")] == [
        backfill_name(folder) for folder in WEEK
    ]
    assert "7 succeeded" in text
    assert clock.sleeps == [60.0] * 7
    assert console.width == 80


def test_running_a_backfill_again_leaves_succeeded_dates_alone() -> None:
    aws = StubbedAws()
    install(aws, token="c3d4")
    t = target()
    earlier = [
        listed(t, backfill_name(folder), "FAILED" if folder == "2026-11-22" else "SUCCEEDED", NOW)
        for folder in WEEK
    ]
    expect_listing(aws, t, earlier)
    for item in earlier:  # each date's latest run that succeeded: did it do the work?
        if item["status"] == "SUCCEEDED":
            folder = item["name"].split("-20261201T")[0].removeprefix("backfill-")
            run_input = {"scheduled_time": f"{folder}T00:00:00Z", "trigger": "backfill"}
            output = succeeded_output(t, item["name"], f"churn/{folder}/")
            aws.expect(
                "stepfunctions",
                "describe_execution",
                described(t, item["name"], "SUCCEEDED", NOW, run_input, output=output),
                executionArn=item["executionArn"],
            )
    expect_backfill_run(aws, t, "2026-11-22", token="c3d4")
    code, text = invoke("./ops backfill prod churn --from 2026-11-20 --to 2026-11-26")
    aws.assert_done()
    assert code == 0, text
    started = [line for line in text.splitlines() if line.startswith("started")]
    assert started == [f"started  {backfill_name('2026-11-22', 'c3d4')}"]
    assert "1 succeeded, 6 left alone" in text


def test_a_dry_run_shows_the_plan_and_starts_nothing() -> None:
    aws = StubbedAws()
    install(aws)
    scenario_backfill(aws, target(), {"--dry-run": True})
    code, text = invoke("./ops backfill prod churn --from 2026-11-20 --to 2026-11-26 --dry-run")
    aws.assert_done()
    assert code == 0
    assert "churn/2026-11-20/" in text and backfill_name("2026-11-26") in text


def test_ctrl_c_during_a_backfill_lists_the_run_still_going() -> None:
    aws = StubbedAws()
    clock = FakeClock()

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    clock.sleep = interrupted  # type: ignore[method-assign]
    install(aws, clock)
    t = target()
    expect_listing(aws, t, [])
    expect_backfill_start(aws, t, "2026-11-20")
    name = backfill_name("2026-11-20")
    code, text = invoke("./ops backfill prod churn --from 2026-11-20 --to 2026-11-26")
    aws.assert_done()
    assert code == 1
    assert "Interrupted: no new runs started. 1 still running" in text
    assert f"  {name}" in text.splitlines()
    assert "1 running, 6 not started" in text


def test_runs_shows_the_recent_runs_at_80_columns() -> None:
    aws = StubbedAws()
    install(aws)
    scenario_runs(aws, target(), {})
    code, text = invoke("./ops runs prod churn")
    aws.assert_done()
    assert code == 0
    assert "SUCCEEDED" in text and "FAILED" in text and "RUNNING" in text
    assert "ClientError: See job logs" in text.replace("\n", " ").replace("  ", " ") or (
        "ClientError" in text
    )
    assert "churn/2026-11-20/" in text  # a running backfill's folder, from its input


def test_why_explains_the_last_failed_run(failed_run: Execution) -> None:
    aws = StubbedAws()
    install(aws)
    t = target()
    scenario_why(failed_run)(aws, t, {})
    code, text = invoke("./ops why prod churn")
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


def test_run_starts_one_run_and_waits_for_it() -> None:
    aws, clock = StubbedAws(), FakeClock()
    install(aws, clock)
    scenario_run(aws, target(), {"--input-prefix": "churn/2026-11-30/", "--wait": True})
    code, text = invoke("./ops run prod churn --input-prefix churn/2026-11-30/ --wait")
    aws.assert_done()
    assert code == 0
    assert "started manual-20261201T080000Z-a1b2" in text and "SUCCEEDED" in text
    assert clock.sleeps == [60.0]


@pytest.mark.parametrize(
    ("command", "refusal"),
    [
        pytest.param(
            "./ops backfill prod churn --from 2026-11-20 --to 2026-11-26 --parallel 3",
            "--parallel needs overlap: allow",
            id="parallel needs overlap allow",
        ),
        pytest.param(
            "./ops run prod churn --input-prefix other/",
            "must start with the pipeline's input prefix 'churn/'",
            id="a prefix outside the pipeline",
        ),
    ],
)
def test_a_request_the_pipeline_cannot_take_is_refused_before_any_call(
    command: str, refusal: str
) -> None:
    aws = StubbedAws()
    install(aws)
    code, text = invoke(command)
    assert code == 2 and refusal in text
    aws.assert_done()


def test_the_account_comes_from_sts_when_the_config_pins_none() -> None:
    aws = StubbedAws()
    install(aws)
    aws.expect(
        "sts",
        "get_caller_identity",
        {"Account": "210987654321", "Arn": "arn:aws:iam::210987654321:user/x", "UserId": "X"},
    )
    t = target("dev")
    arn = t.state_machine_arn.replace("111122223333", "210987654321")
    aws.expect(
        "stepfunctions", "list_executions", {"executions": []}, stateMachineArn=arn, maxResults=10
    )
    code, text = invoke("./ops runs dev churn")
    aws.assert_done()
    assert code == 0 and "no runs yet" in text


def test_an_unknown_environment_is_named_with_those_there_are() -> None:
    install(StubbedAws())
    code, text = invoke("./ops runs qa churn")
    flat = " ".join(text.split())
    assert code == 2 and "no environment 'qa'" in flat and "(environments: dev, prod)" in flat


RUNBOOK = Path(__file__).resolve().parent.parent / "docs" / "operations.md"


def runbook_commands() -> list[str]:
    """Every ``./ops`` line of the runbook's console blocks."""
    blocks = re.findall(r"```console\n(.*?)```", RUNBOOK.read_text(), flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def _flags(args: list[str]) -> dict[str, str | bool]:
    """Options of a command line (``--name value`` or ``--switch``), and its run name if any."""
    flags: dict[str, str | bool] = {}
    positional = []
    i = 0
    while i < len(args):
        if args[i].startswith("--"):
            takes_value = i + 1 < len(args) and not args[i + 1].startswith("--")
            flags[args[i]] = args[i + 1] if takes_value else True
            i += 2 if takes_value else 1
        else:
            positional.append(args[i])
            i += 1
    if len(positional) > 4:  # ./ops why ENV PIPELINE RUN
        flags["run"] = positional[4]
    return flags


def test_every_command_in_the_runbook_runs(failed_run: Execution) -> None:
    commands = runbook_commands()
    assert {shlex.split(c)[1] for c in commands} == {"runs", "why", "backfill", "run"}
    scenarios = {
        "runs": scenario_runs,
        "why": scenario_why(failed_run),
        "backfill": scenario_backfill,
        "run": scenario_run,
    }
    for command in commands:
        args = shlex.split(command)
        assert args[0] == "./ops", command
        aws = StubbedAws()
        install(aws)
        scenarios[args[1]](aws, target(args[2], args[3]), _flags(args))
        code, text = invoke(command)
        aws.assert_done()
        assert code == 0, (command, text)
        if "run" in _flags(args):
            assert _flags(args)["run"] == FAILED_RUN, "the runbook names the run the test explains"
    # Commands written in the prose use only the commands the blocks run.
    inline = re.findall(r"`\./ops (\w+)", RUNBOOK.read_text())
    assert set(inline) <= {shlex.split(c)[1] for c in commands}


def test_readme_links_the_runbook() -> None:
    readme = (RUNBOOK.parent.parent / "README.md").read_text()
    assert "(docs/operations.md)" in readme


def test_an_aws_error_is_one_line_not_a_traceback() -> None:
    aws = StubbedAws()
    install(aws)
    t = target()
    aws.refuse(
        "stepfunctions",
        "list_executions",
        "AccessDeniedException",
        400,
        stateMachineArn=t.state_machine_arn,
        maxResults=10,
    )
    code, text = invoke("./ops runs prod churn")
    aws.assert_done()
    assert code == 1
    assert text.startswith("AWS error: An error occurred (AccessDeniedException)")


def _merged(base: Any, change: Any) -> Any:
    if isinstance(base, dict) and isinstance(change, dict):
        return {k: _merged(base.get(k), v) for k, v in change.items()} | {
            k: v for k, v in base.items() if k not in change
        }
    return change


def test_the_runbooks_config_changes_are_valid_config() -> None:
    import yaml

    from modules.config import parse_config

    blocks = re.findall(r"```yaml\n(.*?)```", RUNBOOK.read_text(), flags=re.S)
    assert len(blocks) == 2
    base = yaml.safe_load(OPS_CONFIG.read_text())
    routed = parse_config(_merged(base, yaml.safe_load(blocks[0])), "runbook")
    receives = [s.receives for s in routed.environments["prod"].alerting.subscriptions]
    assert receives == ["page", "notices", "all"]
    off = parse_config(_merged(base, yaml.safe_load(blocks[1])), "runbook")
    churn = next(p for p in off.environments["prod"].pipelines if p.name == "churn")
    assert not churn.schedule.enabled and churn.freshness_window_hours is None


def test_a_terminal_sees_a_progress_bar_of_the_backfill() -> None:
    aws = StubbedAws()
    install(aws)
    screen = io.StringIO()
    cli.RUNTIME.console = Console(width=80, file=screen, force_terminal=True, color_system=None)
    scenario_backfill(aws, target(), {})
    args = shlex.split("backfill prod churn --from 2026-11-20 --to 2026-11-26")
    assert CliRunner().invoke(cli.app, args).exit_code == 0
    aws.assert_done()
    # What the terminal was sent: the bar from 0 of 7 (redrawn as runs finish) to 7 of 7.
    counts = re.findall(r"mlbatch-prod-churn backfill [━╸╺ ]+ (\d)/7", screen.getvalue())
    assert counts[0] == "0" and counts[-1] == "7"


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
