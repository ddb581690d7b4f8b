"""The operations tool's commands (tools/ops/cli.py) as tests/test_ops_cli_*.py and
tests/test_ops_docs.py run them: a command line run and read at 80 columns (``invoke``), the
AWS answers each command meets (``expect_*``, ``scenario_*``, on tests/support/ops_stubs.py), and
a run that failed, executed on the Step Functions engine for ``why`` to explain.

Plain functions, no fixtures: each test module declares the fixtures it uses (``ops_config``,
``failed_run`` and the machine it runs on) on top of these, naming the environment and pipeline of
tests/fixtures/ops.yaml it works on.
"""

from __future__ import annotations

import hashlib
import io
import json
import shlex
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY
from rich.console import Console
from typer.testing import CliRunner

from modules.config import ProjectConfig, load_config
from modules.config.folders import render
from modules.shard_layout import (
    FAILED_FOLDER,
    FAILED_RECORD_FIELDS,
    failed_key,
    manifest_key,
    rerun_items_key,
    run_shards,
    shard_name,
)
from modules.stack_names import stack_name
from modules.workflow.delivery_count import INCOMPLETE_OUTPUT_ERROR
from modules.workflow.finish import MANIFEST_NAME
from modules.workflow.shards import SHARDS_FAILED_ERROR
from modules.workflow.state_names import (
    COUNT_INPUT_PAGE,
    COUNT_OUTPUT_PAGE,
    DESCRIBE_FAILURE,
    NAME_FAILED_SHARDS,
    RUN_SHARDS,
    RUN_TRANSFORM_JOB,
)
from tests.support.delivery_scenarios import delivery_mocks
from tests.support.executions import named_scenarios
from tests.support.listings import Listed, inputs, outputs
from tests.support.machines import Machine, load_machines
from tests.support.mocked_answers import happy_mocks, transform_failure
from tests.support.ops_stubs import (
    NOW,
    OPS_CONFIG,
    StubbedAws,
    described,
    job_tags,
    listed,
    succeeded_output,
)
from tests.support.sfn_engine import Engine, Execution
from tools.ops import cli
from tools.ops.target import Target

WEEK = [f"2026-11-{day}" for day in range(20, 27)]


def using_ops_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The ``ops_config`` fixture's body: the tool reads the ops config; afterwards its runtime
    (AWS clients, clock, console) is the real one again."""
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


def expect_start(aws: StubbedAws, t: Target, name: str, run_input: dict[str, Any]) -> None:
    """StartExecution of ``name`` with ``run_input``, as the tool sends it."""
    aws.expect(
        "stepfunctions",
        "start_execution",
        {"executionArn": t.execution_arn(name), "startDate": NOW},
        stateMachineArn=t.state_machine_arn,
        name=name,
        input=json.dumps(run_input, sort_keys=True),
    )


def expect_backfill_start(aws: StubbedAws, t: Target, folder: str, token: str = "a1b2") -> None:
    expect_start(aws, t, backfill_name(folder, token), _backfill_input(folder))


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


def expect_history(aws: StubbedAws, t: Target, runs: list[dict[str, Any]]) -> None:
    """The executions a backfill reads (each as DescribeExecution answers, newest first): listed,
    then described one by one."""
    keys = ("executionArn", "stateMachineArn", "name", "status", "startDate", "stopDate")
    expect_listing(aws, t, [{k: run[k] for k in keys if k in run} for run in runs])
    for run in runs:
        aws.expect("stepfunctions", "describe_execution", run, executionArn=run["executionArn"])


def expect_listing(aws: StubbedAws, t: Target, executions: list[dict[str, Any]]) -> None:
    aws.expect(
        "stepfunctions",
        "list_executions",
        {"executions": executions},
        stateMachineArn=t.state_machine_arn,
    )


# --------------------------------------------------------------------------------------------
# Scenarios: the AWS answers each command meets (tests/test_ops_cli_*.py, and every command of
# the runbook in tests/test_ops_docs.py)


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
            prefix = f"{t.pipeline.default_input_prefix}2026-11-30/"
            extra["output"] = succeeded_output(t, name, prefix)
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
        if status == "FAILED" and t.pipeline.delivery is not None:
            # Its output does not say which model it ran: its job's tags do.
            job = json.loads(failed_cause)["TransformJobName"]
            aws.expect(
                "sagemaker",
                "list_tags",
                {"Tags": job_tags(t)},
                ResourceArn=t.transform_job_arn(job),
            )


def dated_input(t: Target, day: str) -> dict[str, Any]:
    """What a run of one date's folder starts with: a scheduled run's input, started by hand."""
    return {
        **t.pipeline.schedule.payload,
        "scheduled_time": f"{day}T00:00:00Z",
        "trigger": "manual",
    }


def scenario_run(aws: StubbedAws, t: Target, flags: dict[str, str | bool]) -> None:
    """`run`: of a date's folder (--date, else today's: NOW's) where the pipeline has dated
    folders and no --input-prefix is given; else of the prefix asked for, or the default."""
    name = "manual-20261201T080000Z-a1b2"
    run_input: dict[str, Any] = {"trigger": "manual"}
    if isinstance(flags.get("--input-prefix"), str):
        run_input["input_prefix"] = flags["--input-prefix"]
    elif t.pipeline.schedule.input_folder is not None:
        asked = flags.get("--date")
        run_input = dated_input(t, asked if isinstance(asked, str) else NOW.date().isoformat())
    expect_start(aws, t, name, run_input)
    if not flags.get("--wait"):
        return
    arn = t.execution_arn(name)
    running = described(t, name, "RUNNING", NOW, run_input)
    prefix = str(run_input.get("input_prefix", t.pipeline.default_input_prefix))
    picture = t.pipeline.schedule.input_folder
    if "scheduled_time" in run_input and picture is not None:
        folder = render(picture, datetime.fromisoformat(run_input["scheduled_time"]))
        prefix = f"{t.pipeline.default_input_prefix}{folder}/"
    done = described(
        t, name, "SUCCEEDED", NOW, run_input, minutes=1, output=succeeded_output(t, name, prefix)
    )
    for answer in (running, done, done):  # poll, poll, the summary row
        aws.expect("stepfunctions", "describe_execution", answer, executionArn=arn)


def scenario_test_alert(aws: StubbedAws, alarm: str, state: str = "OK") -> None:
    """`test-alert`: the alarm found in ``state``, then set to ALARM and back to OK."""
    aws.expect(
        "cloudwatch",
        "describe_alarms",
        {"MetricAlarms": [{"AlarmName": alarm, "StateValue": state}]},
        AlarmNames=[alarm],
    )
    if state == "ALARM":
        return
    for value in ("ALARM", "OK"):
        aws.expect(
            "cloudwatch",
            "set_alarm_state",
            {},
            AlarmName=alarm,
            StateValue=value,
            StateReason=ANY,
        )


# --------------------------------------------------------------------------------------------
# The failed run that `why` explains

FAILED_RUN = "3f1d2c4b-5a6e-4f70-8192-a3b4c5d6e7f8"


def synthesized_machine(
    synth_env: Callable[[ProjectConfig, str], str], environment: str, pipeline: str
) -> Machine:
    """The body of the test modules' machine fixture: a pipeline's state machine in an
    environment of the ops config, as synthesized (that environment alone)."""
    loaded = load_config(OPS_CONFIG)
    config = loaded.model_copy(
        update={"environments": {environment: loaded.environments[environment]}}
    )
    synthesized = json.loads(synth_env(config, environment))
    [machine] = [
        m
        for m in load_machines(config, {stack_name(config.project, environment): synthesized})
        if m.pipeline.name == pipeline
    ]
    return machine


_FAILED_RUNS: dict[tuple[int, str], Execution] = {}


def failed_execution(engine: Engine, machine: Machine) -> Execution:
    """The ``failed_run`` fixture's body: a transform job that fails, run on the Step Functions
    engine (its real history), named ``FAILED_RUN``. Run once per engine and machine: the engine
    refuses a second execution of that name, and the modules that ask for it may share one
    engine (one per session: a run without xdist, or both modules on one worker)."""
    key = (id(engine), machine.name)
    if key not in _FAILED_RUNS:
        [scenario] = [s for s in named_scenarios(engine, machine) if s.name == "scheduled"]
        mocks = transform_failure(happy_mocks(machine, FAILED_RUN))  # the job fails, as named
        run = engine.run(machine.name, machine.definition, FAILED_RUN, scenario.input, mocks)
        assert run.status == "FAILED"
        _FAILED_RUNS[key] = _as_aws_records(run)
    return _FAILED_RUNS[key]


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


def expect_last_failed_lookup(aws: StubbedAws, t: Target, run: str, status: str) -> None:
    """`why` without a run looks for the last failed one: one ListExecutions a failed status,
    ``run`` found under ``status``."""
    for listed_status in cli.FAILED_STATUSES:
        found = [listed(t, run, status, NOW)] if status == listed_status else []
        aws.expect(
            "stepfunctions",
            "list_executions",
            {"executions": found},
            stateMachineArn=t.state_machine_arn,
            statusFilter=listed_status,
            maxResults=1,
        )


def refuse_manifest(aws: StubbedAws, t: Target, run: str, *answer: Any) -> None:
    """S3 refuses the run's manifest (``answer``: error code, status and message; default: it
    was never written)."""
    aws.refuse(
        "s3",
        "get_object",
        *(answer or ("NoSuchKey", 404)),
        Bucket=t.output_bucket,
        Key=t.manifest_key(run),
    )


def scenario_why(
    run: Execution, manifest: tuple[str, int, str] = ("NoSuchKey", 404, "")
) -> Callable[[StubbedAws, Target, dict[str, str | bool]], None]:
    """What `why` meets explaining ``run`` (``FAILED_RUN``, or ``INCOMPLETE_RUN``): found as the
    last failed run, unless the command line names it; S3 answers the manifest with ``manifest``
    (error code, status, message: none written, by default); an incomplete run's input prefix and
    output folder are listed as ``incomplete_listings`` gives them."""

    def stub(aws: StubbedAws, t: Target, flags: dict[str, str | bool]) -> None:
        name = run.name
        if flags.get("run") is None:
            expect_last_failed_lookup(aws, t, name, "FAILED")
        arn = t.execution_arn(name)
        run_input = json.loads(run.events[0]["executionStartedEventDetails"]["input"])
        aws.expect(
            "stepfunctions",
            "describe_execution",
            described(t, name, "FAILED", NOW, run_input, error=run.error, cause=run.cause),
            executionArn=arn,
        )
        aws.expect(
            "stepfunctions",
            "get_execution_history",
            {"events": run.events},
            executionArn=arn,
            maxResults=1000,
        )
        if run.error == INCOMPLETE_OUTPUT_ERROR:
            # The prefixes the run itself counted.
            prefix = run.requests_of(COUNT_INPUT_PAGE)[0]["Prefix"]
            folder = run.requests_of(COUNT_OUTPUT_PAGE)[0]["Prefix"]
            present, written = incomplete_listings(prefix, folder)
            expect_objects(aws, t.bucket("input"), prefix, present)
            expect_objects(aws, t.output_bucket, folder, written)
        job = run.requests_of(RUN_TRANSFORM_JOB)[-1]["TransformJobName"]
        input_uri = f"s3://{t.bucket('input')}/{t.pipeline.default_input_prefix}"
        aws.expect(
            "sagemaker",
            "describe_transform_job",
            {
                "TransformJobName": job,
                "TransformJobArn": t.aws.arn("sagemaker", f"transform-job/{job}"),
                **(
                    {"TransformJobStatus": "Completed"}
                    if run.error == INCOMPLETE_OUTPUT_ERROR
                    else {"TransformJobStatus": "Failed", "FailureReason": "ClientError: bad input"}
                ),
                "ModelName": t.names.model,
                "TransformInput": {
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}}
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
        refuse_manifest(aws, t, name, *manifest)

    return stub


# The run that failed with IncompleteOutput: of its 30 inputs, 23 have no .out.
INCOMPLETE_RUN = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
INCOMPLETE_OF = (23, 30)


def incomplete_listings(prefix: str, folder: str) -> tuple[list[Listed], list[Listed]]:
    """What listing the incomplete run's input prefix and output folder finds now: its inputs,
    with what is not input among them (its folder key, a manifest), and the .out Batch Transform
    wrote (each input's key below the prefix, in the folder) for all but the first 23."""
    missing, total = INCOMPLETE_OF
    keys = [f"{prefix}part-{n:05d}.csv" for n in range(total)]
    found = [(prefix, 0), (f"{prefix}{MANIFEST_NAME}", 420), *((key, 1000) for key in keys)]
    written = [(f"{folder}{key.removeprefix(prefix)}.out", 500) for key in keys[missing:]]
    return found, written


def expect_objects(
    aws: StubbedAws, bucket: str, prefix: str, objects: list[Listed], page: int = 20
) -> None:
    """ListObjectsV2 of a prefix, answered in pages of ``page`` objects."""
    pages = [objects[i : i + page] for i in range(0, len(objects), page)] or [[]]
    for number, listed_page in enumerate(pages):
        answer: dict[str, Any] = {
            "IsTruncated": number < len(pages) - 1,
            "Contents": [{"Key": key, "Size": size} for key, size in listed_page],
            "KeyCount": len(listed_page),
        }
        request: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if number < len(pages) - 1:
            answer["NextContinuationToken"] = f"page-{number + 1}"
        if number > 0:
            request["ContinuationToken"] = f"page-{number}"
        aws.expect("s3", "list_objects_v2", answer, **request)


def incomplete_execution(engine: Engine, machine: Machine) -> Execution:
    """A scheduled run of a pipeline with ``delivery`` whose outputs are missing
    (``INCOMPLETE_OF``), run on the Step Functions engine; once per engine and machine."""
    key = (id(engine), f"{machine.name}/incomplete")
    if key not in _FAILED_RUNS:
        [scenario] = [s for s in named_scenarios(engine, machine) if s.name == "scheduled"]
        missing, total = INCOMPLETE_OF
        listed_inputs = inputs(machine, total)
        written = outputs(machine, INCOMPLETE_RUN, listed_inputs[missing:])
        mocks = delivery_mocks(machine, INCOMPLETE_RUN, listed_inputs, written)
        run = engine.run(machine.name, machine.definition, INCOMPLETE_RUN, scenario.input, mocks)
        assert (run.status, run.error) == ("FAILED", INCOMPLETE_OUTPUT_ERROR), run.cause
        _FAILED_RUNS[key] = _as_aws_records(run)
    return _FAILED_RUNS[key]


# --------------------------------------------------------------------------------------------
# A sharded run (tests/fixtures/ops.yaml's sharded pipeline) whose shards failed: what `why`
# and `rerun --failed` read from its shards folder (modules/shard_layout.py)

SHARDED_RUN = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
SHARDED_DAY = "2026-11-30"
# Its failed shards, in shard order: the last is the run's last shard (fewer files than
# files_per_job); the middle one failed before a job was named (its cause is no job's JSON).
FAILED_SHARDS = (2, 5, 7)
LAST_SHARD_FILES = 37
NO_JOB_SHARD = 5
# The failed/ folder is listed this many keys a page, so that its records span pages.
FAILED_PAGE = 2


def sharded_input_prefix(t: Target) -> str:
    return f"{t.pipeline.default_input_prefix}{SHARDED_DAY}/"


def shard_files(t: Target, number: int) -> list[str]:
    """A failed shard's input files, relative to the run's input prefix (its manifest's)."""
    shards = t.pipeline.transform.shards
    assert shards is not None, f"{t.label} is not sharded"
    count = LAST_SHARD_FILES if number == FAILED_SHARDS[-1] else shards.files_per_job
    first = number * shards.files_per_job
    return [f"part-{n:05d}.csv" for n in range(first, first + count)]


def failed_input_keys(t: Target) -> list[str]:
    """Every input key of the failed shards, in shard order: what a rerun runs again."""
    return [sharded_input_prefix(t) + key for n in FAILED_SHARDS for key in shard_files(t, n)]


def shard_job(t: Target, run: str, number: int) -> str:
    """The name stem of a shard's jobs (modules/workflow/shard_job.py: the run prefix, the shard,
    a hash, cut for the attempt's digit), as its record names it."""
    digest = hashlib.md5(f"{run}/{shard_name(number)}".encode()).hexdigest()
    return f"{t.names.run_prefix}{shard_name(number)}-{digest}"[:62]


def shard_job_name(t: Target, run: str, number: int) -> str:
    """The shard's last job (its second attempt), as the cause of its failure names it."""
    return f"{shard_job(t, run, number)}1"


def shard_failure_reason(number: int) -> str:
    return f"ClientError: bad record in shard {shard_name(number)}"


NO_JOB_CAUSE = "An error occurred while executing the state 'NameShardJob' (not a job's JSON)"


def failed_record(t: Target, run: str, number: int) -> dict[str, Any]:
    """A failed shard's record (``FAILED_RECORD_FIELDS``), as the workflow writes it."""
    folder = run_shards(t.pipeline.run_output_prefix, run)
    shard = shard_name(number)
    manifest = f"s3://{t.output_bucket}/{manifest_key(folder, shard)}"
    if number == NO_JOB_SHARD:
        record = {"job": None, "error": "States.Runtime", "cause": NO_JOB_CAUSE}
    else:
        job = shard_job(t, run, number)
        cause = {
            "TransformJobName": shard_job_name(t, run, number),
            "TransformJobStatus": "Failed",
            "FailureReason": shard_failure_reason(number),
        }
        record = {"job": job, "error": "States.TaskFailed", "cause": json.dumps(cause)}
    assert set(record) | {"shard", "manifest"} == set(FAILED_RECORD_FIELDS)
    return {"shard": shard, **record, "manifest": manifest}


def expect_json(aws: StubbedAws, bucket: str, key: str, content: Any) -> None:
    """GetObject of a JSON object."""
    body = json.dumps(content).encode()
    aws.expect(
        "s3",
        "get_object",
        {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentLength": len(body)},
        Bucket=bucket,
        Key=key,
    )


def expect_failed_shards(
    aws: StubbedAws,
    t: Target,
    run: str,
    shards: tuple[int, ...] = FAILED_SHARDS,
    no_manifest: tuple[int, ...] = (),
) -> None:
    """The run's failed/ folder listed (its folder key too, ``FAILED_PAGE`` keys a page), then
    each record of ``shards`` read and its shard's manifest (none for ``no_manifest``)."""
    folder = run_shards(t.pipeline.run_output_prefix, run)
    records = [failed_key(folder, shard_name(n)) for n in shards]
    listing = [(folder + FAILED_FOLDER, 0), *((key, 400) for key in records)]
    expect_objects(aws, t.output_bucket, folder + FAILED_FOLDER, listing, page=FAILED_PAGE)
    for number, key in zip(shards, records, strict=True):
        expect_json(aws, t.output_bucket, key, failed_record(t, run, number))
        manifest_at = manifest_key(folder, shard_name(number))
        if number in no_manifest:
            aws.refuse(
                "s3", "get_object", "NoSuchKey", 404, Bucket=t.output_bucket, Key=manifest_at
            )
            continue
        source = f"s3://{t.bucket('input')}/{sharded_input_prefix(t)}"
        manifest = [{"prefix": source}, *shard_files(t, number)]
        expect_json(aws, t.output_bucket, manifest_at, manifest)


def _sharded_input() -> dict[str, Any]:
    return {"scheduled_time": f"{SHARDED_DAY}T00:00:00Z", "trigger": "schedule"}


def sharded_failed(t: Target, run: str = SHARDED_RUN) -> dict[str, Any]:
    """The sharded run, failed beyond its tolerance, as DescribeExecution answers (its cause as
    modules/workflow/shards.py words it)."""
    shards = t.pipeline.transform.shards
    assert shards is not None
    folder = run_shards(t.pipeline.run_output_prefix, run) + FAILED_FOLDER
    first = "; ".join(
        f"shard {record['shard']}: {record['error']}"
        for record in (failed_record(t, run, n) for n in FAILED_SHARDS)
    )
    cause = (
        f"More shards failed than tolerated ({shards.tolerated_failed_shards_percent:g}% of the "
        f"input files). First failed: {first}. Every failed shard: s3://{t.output_bucket}/{folder}"
    )
    run_input = _sharded_input()
    return described(t, run, "FAILED", NOW, run_input, error=SHARDS_FAILED_ERROR, cause=cause)


def sharded_succeeded(t: Target, run: str = SHARDED_RUN) -> dict[str, Any]:
    """The sharded run, succeeded within its tolerance, as DescribeExecution answers."""
    output = {"run": {"run_id": run, "input_prefix": sharded_input_prefix(t), "attempt": 0}}
    return described(t, run, "SUCCEEDED", NOW, _sharded_input(), output=output)


def sharded_history(t: Target, described_run: dict[str, Any]) -> list[dict[str, Any]]:
    """The failed sharded run's history, as much as `why` reads of it: started, the Map, its
    failed shards named, the failure handling, failed."""
    entered = [
        ("MapStateEntered", RUN_SHARDS),
        ("PassStateEntered", NAME_FAILED_SHARDS),
        ("PassStateEntered", DESCRIBE_FAILURE),
    ]
    started = {"input": described_run["input"]}
    failed = {"error": described_run["error"], "cause": described_run["cause"]}
    events: list[dict[str, Any]] = [
        {"type": "ExecutionStarted", "executionStartedEventDetails": started},
        *(
            {"type": kind, "stateEnteredEventDetails": {"name": name, "input": "{}"}}
            for kind, name in entered
        ),
        {"type": "ExecutionFailed", "executionFailedEventDetails": failed},
    ]
    return [
        {"timestamp": NOW, "id": n, "previousEventId": n - 1, **event}
        for n, event in enumerate(events, start=1)
    ]


def scenario_why_sharded(
    status: str = "FAILED",
) -> Callable[[StubbedAws, Target, dict[str, str | bool]], None]:
    """What `why` meets explaining the sharded run: failed with ``ShardsFailed`` (found as the last
    failed run unless named; no manifest) or succeeded within its tolerance (named; its manifest
    names the failed records too)."""

    def stub(aws: StubbedAws, t: Target, flags: dict[str, str | bool]) -> None:
        run = SHARDED_RUN
        answer = sharded_failed(t) if status == "FAILED" else sharded_succeeded(t)
        if flags.get("run") is None:
            expect_last_failed_lookup(aws, t, run, status)
        arn = t.execution_arn(run)
        aws.expect("stepfunctions", "describe_execution", answer, executionArn=arn)
        if status != "SUCCEEDED":
            aws.expect(
                "stepfunctions",
                "get_execution_history",
                {"events": sharded_history(t, answer)},
                executionArn=arn,
                maxResults=1000,
            )
        expect_failed_shards(aws, t, run)
        if status != "SUCCEEDED":
            refuse_manifest(aws, t, run)
            return
        folder = run_shards(t.pipeline.run_output_prefix, run)
        records = [failed_key(folder, shard_name(n)) for n in FAILED_SHARDS]
        manifest = {
            "run_id": run,
            "rerun_of": None,
            "shards": {
                "folder": f"s3://{t.output_bucket}/{folder}",
                "failed": {"count": len(records), "records": records, "more": False},
            },
        }
        expect_json(aws, t.output_bucket, t.manifest_key(run), manifest)

    return stub


def rerun_name(run: str) -> str:
    """The rerun of ``run`` started at ``NOW`` (the fake clock's)."""
    return f"{run}-rerun-{NOW.strftime('%Y%m%dT%H%M%SZ')}"


def rerun_input(t: Target, run: str) -> dict[str, Any]:
    return {
        "trigger": "rerun",
        "input_prefix": sharded_input_prefix(t),
        "shard_items": rerun_items_key(t.pipeline.run_output_prefix, rerun_name(run)),
        "rerun_of": run,
    }


def scenario_rerun(aws: StubbedAws, t: Target, flags: dict[str, str | bool]) -> None:
    """`rerun --failed` of the sharded run that failed: it is described (ended), its failed
    shards read, the failed shards' files written as the new run's items, the new run started."""
    run = str(flags.get("run") or SHARDED_RUN)
    aws.expect(
        "stepfunctions",
        "describe_execution",
        sharded_failed(t, run),
        executionArn=t.execution_arn(run),
    )
    expect_failed_shards(aws, t, run)
    name = rerun_name(run)
    items = [{"Key": key} for key in failed_input_keys(t)]
    aws.expect(
        "s3",
        "put_object",
        {},
        Bucket=t.output_bucket,
        Key=rerun_items_key(t.pipeline.run_output_prefix, name),
        Body=json.dumps(items).encode(),
        ContentType="application/json",
    )
    expect_start(aws, t, name, rerun_input(t, run))
