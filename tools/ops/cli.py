"""The commands of ``python -m tools.ops`` (``./ops``): runs, why, rerun, backfill, run, test-alert.
See docs/operations.md.

Each command reads the config (``--config``, else ``$PIPELINE_CONFIG``, else
config/pipelines.yaml), finds the pipeline's names and ARNs (tools/ops/target.py), calls AWS with
the caller's credentials in the environment's region (tools/ops/aws.py) and prints rich tables.
What a command needs from outside (AWS clients, clock, random token, console) comes from
``RUNTIME``, which the tests replace.
"""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from modules.config import ConfigError, PipelineConfig, load_config
from modules.naming import EXECUTION_ALARM_METRICS, Names
from modules.workflow.delivery_count import INCOMPLETE_OUTPUT_ERROR
from modules.workflow.shards import reruns_failed_shards
from tools.ops import backfill as bf
from tools.ops import render, shards
from tools.ops.aws import Aws, BackfillRunner, Clients
from tools.ops.delivery import model_of_tags
from tools.ops.explain import missing_output_items, unreadable_manifest
from tools.ops.folders import FolderError, slot_of, slot_of_folder, slots
from tools.ops.folders import render as folder_of
from tools.ops.runs import RUNNING, RunRow, failure_of, run_row, scheduled_run_input
from tools.ops.target import TRANSFORM_JOB_LOG_GROUP, OpsError, Target, environment_of, resolve


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class Runtime:
    clients: Callable[[str], Clients] = Clients.for_region
    clock: bf.Clock = field(default_factory=SystemClock)
    token: Callable[[], str] = lambda: secrets.token_hex(2)
    console: Console = field(default_factory=Console)
    poll_seconds: float = 30.0


RUNTIME = Runtime()
USAGE_ERROR = 2
FAILED_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")

app = typer.Typer(
    help="Look at runs, find why one failed, backfill dates, start runs of a pipeline and rerun "
    "a sharded run's failed shards.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

ConfigOption = Annotated[
    str | None,
    typer.Option(
        "--config", help="Config file (default: $PIPELINE_CONFIG, config/pipelines.yaml)."
    ),
]
Env = Annotated[str, typer.Argument(help="Environment, as in the config.")]
PipelineArg = Annotated[str, typer.Argument(help="Pipeline, as in the config.")]


def _target(config_path: str | None, environment: str, pipeline: str) -> tuple[Aws, Target]:
    try:
        config = load_config(config_path)
        env = config.environments.get(environment)
        region = env.region if env is not None else ""
        aws = Aws(RUNTIME.clients(region))
        return aws, resolve(config, environment, pipeline, aws.caller_account)
    except (ConfigError, OpsError) as error:
        _fail(str(error))


AWS_ERROR = 1


def _reports_aws_errors(command: Callable[..., None]) -> Callable[..., None]:
    """An AWS error (no credentials, access denied, ...) as one line, not a traceback."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            command(*args, **kwargs)
        except (BotoCoreError, ClientError) as error:
            RUNTIME.console.print(f"[red]AWS error:[/] {error}", highlight=False)
            raise typer.Exit(AWS_ERROR) from None

    return run


def _fail(message: str) -> NoReturn:
    RUNTIME.console.print(f"[red]error:[/] {message}", highlight=False)
    raise typer.Exit(USAGE_ERROR)


@app.command()
@_reports_aws_errors
def runs(
    environment: Env,
    pipeline: PipelineArg,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many runs.")] = 10,
    config: ConfigOption = None,
) -> None:
    """The recent runs: start, status, trigger, input prefix, duration, transform job, error."""
    aws, target = _target(config, environment, pipeline)
    executions = aws.executions(target, limit=limit)
    rows = [run_row(aws.describe(e["executionArn"]), target.pipeline) for e in executions]
    rows = [_with_model_from_tags(aws, target, row) for row in rows]
    if not rows:
        RUNTIME.console.print(f"{target.label}: no runs yet")
        return
    now = RUNTIME.clock.now()
    title = f"{target.label}: last {len(rows)} runs (UTC)"
    RUNTIME.console.print(render.runs_table(title, rows, now))


def _with_model_from_tags(aws: Aws, target: Target, row: RunRow) -> RunRow:
    """A run whose output does not say which model it used (a failed run, or one that built no
    manifest) but whose transform job is known: with ``delivery``, the job's tags say."""
    if row.model or not row.transform_job or target.pipeline.delivery is None:
        return row
    return replace(row, model=model_of_tags(aws.job_tags(target, row.transform_job)))


def _last_failed(aws: Aws, target: Target) -> dict[str, Any] | None:
    latest = [e for s in FAILED_STATUSES for e in aws.executions(target, status=s, limit=1)]
    return max(latest, key=lambda e: e["startDate"]) if latest else None


@app.command()
@_reports_aws_errors
def why(
    environment: Env,
    pipeline: PipelineArg,
    run: Annotated[
        str | None, typer.Argument(help="Execution name (default: last failed).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Why a run failed: state, error, cause, the job's FailureReason, logs, links, manifest; a
    sharded run's failed shards."""
    aws, target = _target(config, environment, pipeline)
    if run is None:
        last = _last_failed(aws, target)
        if last is None:
            RUNTIME.console.print(f"{target.label}: no failed, timed-out or aborted runs")
            return
        run = str(last["name"])
    execution_arn = target.execution_arn(run)
    described = aws.describe(execution_arn)
    row = run_row(described, target.pipeline)
    items = [
        ("run", f"{run} ({row.outcome}, {row.trigger}, started {render.when(row.started)} UTC)"),
        ("input", f"s3://{target.bucket('input')}/{row.input_prefix}"),
    ]
    links = [("run", target.execution_console(execution_arn))]
    job = row.transform_job
    if row.status != "SUCCEEDED":
        failure = failure_of(aws.history(execution_arn))
        job = failure.transform_job or job
        items += [
            ("failed state", failure.state or "-"),
            ("error", failure.error or "-"),
            ("cause", (failure.failure_reason or failure.cause or "-")[:600]),
        ]
        if failure.error == INCOMPLETE_OUTPUT_ERROR and target.pipeline.delivery is not None:
            items += missing_output_items(aws, target, run, row.input_prefix)
    if target.pipeline.transform.shards is not None:
        items += shards.why_items(target, run, _failed_shards(aws, target, run))
    if job:
        described_job = aws.transform_job(job)
        items.append(("transform job", job))
        if described_job is not None:
            status = described_job["TransformJobStatus"]
            reason = described_job.get("FailureReason")
            items.append(("job status", f"{status}: {reason}" if reason else status))
        items.append(("job log group", TRANSFORM_JOB_LOG_GROUP))
        streams = aws.job_log_streams(job) or ["none (the job wrote no logs)"]
        items += [("job log stream", stream) for stream in streams]
        links += [
            ("transform job", target.transform_job_console(job)),
            ("job logs", target.log_group_console(TRANSFORM_JOB_LOG_GROUP)),
        ]
    items.append(("workflow logs", target.names.state_machine_log_group))
    links.append(("workflow logs", target.log_group_console(target.names.state_machine_log_group)))
    manifest = aws.manifest(target, run)
    location = f"s3://{target.output_bucket}/{target.manifest_key(run)}"
    if manifest.denied is not None:
        items.append(("manifest", unreadable_manifest(target, location, manifest.denied)))
    else:
        items.append(("manifest", location if manifest.content else "none (written on success)"))
    console = RUNTIME.console
    console.print(render.details(f"{target.label}: why {run}", items))
    console.print("\n[bold]console[/]")
    for what, url in links:  # whole lines, so that terminals keep them clickable
        console.print(f"{what}: {url}", soft_wrap=True, highlight=False)


def _failed_shards(aws: Aws, target: Target, run: str) -> list[shards.FailedShard]:
    try:
        return shards.failed_shards(aws, target, run)
    except OpsError as error:
        _fail(str(error))


@app.command()
@_reports_aws_errors
def rerun(
    environment: Env,
    pipeline: PipelineArg,
    run: Annotated[str, typer.Argument(help="Execution name of the sharded run.")],
    failed: Annotated[
        bool, typer.Option("--failed", help="Its failed shards' files (the only mode).")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Run the input files of a sharded run's failed shards again, as a new run of those only."""
    if not failed:
        _fail("rerun needs --failed: it runs a sharded run's failed shards again (its one mode)")
    aws, target = _target(config, environment, pipeline)
    if target.pipeline.transform.shards is None:
        _fail(f"{target.label} is not sharded (no transform.shards): no failed shards to rerun")
    if not reruns_failed_shards(target.pipeline):
        _fail(
            f"{target.label} delivers whole datasets (delivery): its failed shards alone are not "
            f"re-run; re-run the whole run: {shards.rerun_command(target, run)}"
        )
    if aws.state(target.execution_arn(run)).status == RUNNING:
        _fail(f"{run} is still running: rerun its failed shards once it has ended")
    clock, console = RUNTIME.clock, RUNTIME.console
    try:
        plan = shards.plan_rerun(target, run, _failed_shards(aws, target, run), clock.now())
    except OpsError as error:
        _fail(str(error))
    aws.put_json(target.output_bucket, plan.items_key, plan.items)
    execution_arn = aws.start(target, plan.name, plan.run_input)
    items = [
        ("started", plan.name),
        ("reruns", f"{len(plan.keys):,} files of {plan.shards:,} failed shards of {run}"),
        ("reads", f"{shards.s3_uri(target.bucket('input'), plan.input_prefix)}, those files only"),
        ("files", shards.s3_uri(target.output_bucket, plan.items_key)),
        ("writes", plan.output_folder),
    ]
    console.print(render.details(f"{target.label}: rerun of {run} --failed", items))
    console.print(
        f"console: {target.execution_console(execution_arn)}", soft_wrap=True, highlight=False
    )


@app.command(name="backfill")
@_reports_aws_errors
def backfill_command(
    environment: Env,
    pipeline: PipelineArg,
    first: Annotated[
        datetime, typer.Option("--from", formats=["%Y-%m-%d"], help="First date (UTC).")
    ],
    last: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"], help="Last date (UTC).")],
    parallel: Annotated[
        int, typer.Option(min=1, max=20, help="Runs at once (only with overlap: allow).")
    ] = 1,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan only.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Run succeeded dates again.")] = False,
    config: ConfigOption = None,
) -> None:
    """One run per dated input folder, one after another (resumable; --dry-run shows the plan)."""
    # overlap: skip waits for each run (overlapping runs would skip themselves); overlap: allow
    # may run --parallel N at once. Dates whose latest run succeeded are left alone, whatever
    # started that run.
    aws, target = _target(config, environment, pipeline)
    planned = _backfill_plan(aws, target, first, last, parallel, force)
    if dry_run:
        RUNTIME.console.print(render.plan_table(target.label, planned))
        return
    report = _execute_with_progress(aws, target, planned, parallel)
    RUNTIME.console.print(render.summary_table(target.label, report, RUNTIME.clock.now()))
    if report.interrupted:
        render.still_running(RUNTIME.console, report.still_running)
    if report.interrupted or any(o.status in FAILED_STATUSES for o in report.outcomes):
        raise typer.Exit(1)


def _backfill_plan(
    aws: Aws, target: Target, first: datetime, last: datetime, parallel: int, force: bool
) -> list[bf.PlannedRun]:
    """The dated folders from ``first`` to ``last`` and what to do with each (refused when the
    pipeline has no dated folders, or --parallel where runs would skip themselves)."""
    p = target.pipeline
    if p.schedule.input_folder is None or "input_prefix" in p.schedule.payload:
        _fail(
            f"{target.label} has no dated input folders (schedule.input_folder, without a payload "
            "input_prefix); start single runs with `run --input-prefix`"
        )
    if parallel > 1 and p.overlap == "skip":
        _fail(
            f"{target.label} has overlap: skip, so runs that overlap skip themselves; "
            "--parallel needs overlap: allow"
        )
    assert p.schedule.input_folder is not None
    try:
        dated = list(slots(p.schedule.input_folder, first.date(), last.date()))
    except FolderError as error:
        _fail(str(error))
    folders = [folder for _, folder in dated]
    latest = bf.latest_runs(folders, aws.past_runs(target))
    return bf.plan(
        dated,
        latest,
        input_prefix=p.default_input_prefix,
        stamp=RUNTIME.clock.now(),
        token=RUNTIME.token(),
        force=force,
    )


def _execute_with_progress(
    aws: Aws, target: Target, planned: list[bf.PlannedRun], parallel: int
) -> bf.Report:
    """The planned runs, started and waited for, each start and end printed, with a progress
    bar on a terminal."""
    console = RUNTIME.console
    to_start = sum(1 for run in planned if run.start)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task(f"{target.label} backfill", total=to_start)

        def changed(outcome: bf.Outcome) -> None:
            if outcome.status == RUNNING:
                console.print(f"started  {outcome.run.name}", highlight=False)
            else:
                progress.advance(task)
                shown = outcome.status + (f" ({outcome.result})" if outcome.result else "")
                console.print(f"finished {outcome.run.name}: {shown}", highlight=False)

        return bf.execute(
            planned,
            BackfillRunner(aws, target),
            RUNTIME.clock,
            parallel=parallel,
            poll_seconds=RUNTIME.poll_seconds,
            on_change=changed,
        )


def _dated_run(
    target: Target, date: datetime | None, folder: str | None, input_prefix: str | None
) -> tuple[dict[str, Any], str] | None:
    """For a pipeline with dated input folders and no --input-prefix: the input a scheduled run of
    the slot gets (--date, --folder, else today's, UTC) and what to say about it. None for the
    others: they read the default prefix or --input-prefix."""
    picture = target.pipeline.schedule.input_folder
    if picture is None:
        if date is not None or folder is not None:
            _fail(f"{target.label} has no dated input folders; use --input-prefix")
        return None
    if (date is not None) + (folder is not None) + (input_prefix is not None) > 1:
        _fail("give one of --date, --folder and --input-prefix")
    if input_prefix is not None:
        return None
    try:
        if folder is not None:
            when, why = slot_of_folder(picture, folder), "as asked"
        else:
            asked = date.replace(tzinfo=UTC) if date is not None else None
            when = slot_of(picture, asked or RUNTIME.clock.now())
            why = "as asked" if asked else "today's, UTC; --date or --folder for another"
    except FolderError as error:
        _fail(str(error))
    run_input = scheduled_run_input(target.pipeline, when, "manual")
    return run_input, f"{folder_of(picture, when)}/ ({why})"


@app.command(name="run")
@_reports_aws_errors
def run_command(
    environment: Env,
    pipeline: PipelineArg,
    date: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%d", "%Y-%m-%dT%H"],
            help="Dated folders: read the folder of this date (UTC; YYYY-MM-DDTHH for hourly).",
        ),
    ] = None,
    folder: Annotated[
        str | None, typer.Option(help="Dated folders: read this folder (e.g. 2026-11-30).")
    ] = None,
    input_prefix: Annotated[
        str | None, typer.Option(help="Read this prefix (under the pipeline's own).")
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait for the run to finish.")] = False,
    config: ConfigOption = None,
) -> None:
    """Start one run now: with dated folders, today's folder (or --date, --folder) as a scheduled
    run of it would; else the default input prefix; or --input-prefix."""
    aws, target = _target(config, environment, pipeline)
    default = target.pipeline.default_input_prefix
    if input_prefix is not None and not input_prefix.startswith(default):
        _fail(f"--input-prefix must start with the pipeline's input prefix {default!r}")
    dated = _dated_run(target, date, folder, input_prefix)
    clock, console = RUNTIME.clock, RUNTIME.console
    name = f"manual-{bf.stamp_text(clock.now())}-{RUNTIME.token()}"
    run_input: dict[str, Any] = {"trigger": "manual"}
    if dated is not None:
        run_input = dated[0]
    elif input_prefix is not None:
        run_input["input_prefix"] = input_prefix
    execution_arn = aws.start(target, name, run_input)
    console.print(f"started {name}", highlight=False)
    if dated is not None:
        console.print(f"reads {default}{dated[1]}", highlight=False)
    console.print(
        f"console: {target.execution_console(execution_arn)}", soft_wrap=True, highlight=False
    )
    if not wait:
        return
    while aws.state(execution_arn).status == RUNNING:
        clock.sleep(RUNTIME.poll_seconds)
    row = run_row(aws.describe(execution_arn), target.pipeline)
    console.print(render.runs_table(f"{target.label}: run {name}", [row], clock.now()))
    if row.status != "SUCCEEDED":
        console.print(f"see why: ./ops why {environment} {pipeline} {name}", highlight=False)
        raise typer.Exit(1)


# Between the test's ALARM and its OK: subscribers then see the two in that order.
TEST_ALERT_PAUSE_SECONDS = 10.0
_SHOULD_GET = {
    "page": "the ALARM notification",
    "notices": "the OK notification",
    "all": "the ALARM and the OK notifications",
}


def alarm_for_alert_test(names: Names, pipeline: PipelineConfig) -> str:
    """The alarm ``test-alert`` sets: the pipeline's failed-runs alarm, which every pipeline has
    and which CloudWatch's next evaluation leaves OK (missing data is not breaching)."""
    return (
        names.of_pipeline(pipeline.name)
        .alarms(freshness=False)
        .executions[EXECUTION_ALARM_METRICS[0]]
    )


@app.command(name="test-alert")
@_reports_aws_errors
def alert_test(environment: Env, config: ConfigOption = None) -> None:
    """Check that alerts arrive: one alarm of the environment to ALARM and back to OK (CloudWatch
    SetAlarmState), then what each subscriber should have received."""
    try:
        loaded = load_config(config)
        env = environment_of(loaded, environment)
    except (ConfigError, OpsError) as error:
        _fail(str(error))
    if not env.pipelines:
        _fail(f"environment {environment} has no pipelines, so no alarms to test with")
    alarm = alarm_for_alert_test(Names(loaded.project, env.name), env.pipelines[0])
    aws, console = Aws(RUNTIME.clients(env.region)), RUNTIME.console
    state = aws.alarm_state(alarm)
    if state is None:
        _fail(f"no alarm {alarm} in {env.region}: is the environment deployed?")
    if state == "ALARM":
        _fail(f"{alarm} is in ALARM: a real alarm; test again once it is OK")
    reason = "./ops test-alert: a test of alert delivery, not an incident (ALARM, then OK)"
    aws.set_alarm_state(alarm, "ALARM", reason)
    console.print(f"{alarm}: set to ALARM", highlight=False)
    RUNTIME.clock.sleep(TEST_ALERT_PAUSE_SECONDS)
    aws.set_alarm_state(alarm, "OK", reason)
    console.print(f"{alarm}: set back to OK", highlight=False)
    subscriptions = env.alerting.subscriptions
    if not subscriptions:
        console.print("no subscriptions in the config: nobody should get anything")
        return
    console.print("\n[bold]within minutes, each subscriber should get[/]")
    for subscription in subscriptions:
        expected = _SHOULD_GET[subscription.receives]
        console.print(
            f"{subscription.protocol} {subscription.endpoint} ({subscription.receives}): "
            f"{expected}",
            highlight=False,
        )
    console.print(
        "\nAn e-mail subscriber that gets nothing it should: SNS filtered CloudWatch's own e-mail "
        "text, not its JSON (docs/operations.md, E-mail subscribers and alarms).",
        highlight=False,
    )
