"""Every run path of every generated state machine, executed on LocalStack's Step Functions engine.

The state machines are read from the synthesized Terraform JSON of a config (what `terraform apply`
would deploy: tests/support/machines.py). Runs start with the input AWS really sends: the
schedule's ``input`` with Scheduler's
``<aws.scheduler.scheduled-time>`` filled in (every scenario unless it is a manual run: ad hoc, a
backfill, or a bad requested prefix), and the event rule's input transformer applied (by
LocalStack's EventBridge code) to AWS's documented sample "Object Created" event. Every AWS call is
mocked in Step Functions Local's mock-config format with responses shaped like AWS's; a transform
job answers with the name of the attempt that was sent (``SENT_JOB_NAME``).

Named scenarios cover the paths a user relies on; on top of them, for every Task state a
scenario is generated that makes that task fail, so a new state cannot go unexecuted
(``check_coverage`` proves every state, Choice branch and Catch was taken).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from modules.config.folders import render
from modules.workflow.state_names import (
    DELETE_RUN_MODEL_AFTER_FAILURE,
    FIND_APPROVED_MODEL,
    LIST_INPUT,
    LIST_RUNNING_EXECUTIONS,
    NOTIFY_FAILURE,
    RERUN_PREFIX,
    RUN_TRANSFORM_JOB,
)
from tests.support.aws_shapes import validate, validate_result
from tests.support.delivery_scenarios import delivery_scenarios
from tests.support.machines import Machine
from tests.support.mocked_answers import (
    CAPACITY_ERROR,
    NEXT_PAGE_TOKEN,
    SENT_JOB_NAME,
    SENT_MANIFEST,
    happy_mocks,
    job_failure,
    ok,
    throw,
    transform_failure,
)
from tests.support.sfn_engine import Engine, Execution
from tests.support.shard_scenarios import input_files, shard_inputs, shard_scenarios, shards_failing
from tests.support.table_scenarios import table_scenarios

SCHEDULED_TIME = "2026-11-26T01:00:00Z"
TRANSFORM_RETRY_INTERVAL = 30  # RunTransformJob's Retry: IntervalSeconds (with FULL jitter)

# AWS's sample "Object Created" event (Amazon S3 user guide, "EventBridge event message structure").
SAMPLE_OBJECT_CREATED = {
    "version": "0",
    "id": "17793124-05d4-b198-2fde-7ededc63b103",
    "detail-type": "Object Created",
    "source": "aws.s3",
    "account": "111122223333",
    "time": "2021-11-12T00:00:00Z",
    "region": "ca-central-1",
    "resources": ["arn:aws:s3:::amzn-s3-demo-bucket1"],
    "detail": {
        "version": "0",
        "bucket": {"name": "amzn-s3-demo-bucket1"},
        "object": {
            "key": "example-key",
            "size": 5,
            "etag": "b1946ac92492d2347c6235b4d2611184",
            "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mppz",
            "sequencer": "00617F08299329D189",
        },
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": "123456789012",
        "source-ip-address": "1.2.3.4",
        "reason": "PutObject",
    },
}

# --------------------------------------------------------------------------------------------
# Scenarios


@dataclass(frozen=True)
class Scenario:
    name: str
    input: str
    mocks: dict[str, dict[str, Any]]
    expect_prefix: str | None = None  # the input prefix the run should read
    trigger: str = "schedule"
    notes: dict[str, Any] = field(default_factory=dict)
    # The engine's memory S3 ({bucket: {key: body}}): a sharded run's Map reads and writes it.
    s3: dict[str, dict[str, str]] | None = None


def expected_scheduled_prefix(machine: Machine) -> str:
    pipeline = machine.pipeline
    payload_prefix = pipeline.schedule.payload.get("input_prefix")
    if isinstance(payload_prefix, str):
        return payload_prefix
    if pipeline.schedule.input_folder is not None:
        when = datetime.strptime(SCHEDULED_TIME, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        return f"{pipeline.default_input_prefix}{render(pipeline.schedule.input_folder, when)}/"
    return pipeline.default_input_prefix


def scheduled_input(machine: Machine) -> str:
    """What EventBridge Scheduler sends: the target input with its context attributes filled in."""
    return machine.schedule_input.replace("<aws.scheduler.scheduled-time>", SCHEDULED_TIME)


def marker_event(machine: Machine, key: str) -> dict[str, Any]:
    event = json.loads(json.dumps(SAMPLE_OBJECT_CREATED))
    event["account"], event["region"] = machine.account, machine.region
    event["resources"] = [machine.aws.arn("s3", machine.input_bucket, region=False, account=False)]
    event["detail"]["bucket"]["name"] = machine.input_bucket
    event["detail"]["object"]["key"] = key
    return event


def marker_key(machine: Machine) -> str:
    assert machine.pipeline.trigger is not None
    return f"{machine.pipeline.default_input_prefix}2026-11-26/{machine.pipeline.trigger.marker}"


def event_input(engine: Engine, machine: Machine, key: str) -> tuple[bool, str | None]:
    answer = engine.call(
        "event",
        pattern=machine.rule_pattern,
        event=marker_event(machine, key),
        transformer=machine.rule_transformer,
        target_arn=machine.arn("states", f"stateMachine:{machine.name}"),
    )
    return answer["matches"], answer["input"]


def named_scenarios(engine: Engine, machine: Machine) -> list[Scenario]:
    p = machine.pipeline
    found: list[Scenario] = []

    def add(name: str, run_input: dict[str, Any] | str | None = None, **kwargs: Any) -> None:
        """A scenario; without ``run_input``, a run started by the schedule, as Scheduler does."""
        if run_input is None:
            run_input = scheduled_input(machine)
            kwargs.setdefault("expect_prefix", expected_scheduled_prefix(machine))
        text = run_input if isinstance(run_input, str) else json.dumps(run_input)
        mocks = kwargs.pop("mocks", None) or happy_mocks(machine, name)
        if machine.sharded and "s3" not in kwargs:
            read = kwargs.get("expect_prefix") or machine.pipeline.default_input_prefix
            kwargs["s3"] = input_files(machine, read, 2)
        found.append(Scenario(name=name, input=text, mocks=mocks, **kwargs))

    add("scheduled")
    if p.trigger is not None:
        matches, text = event_input(engine, machine, marker_key(machine))
        assert matches, "the event rule does not match a marker object in a dated folder"
        assert text is not None
        add(
            "marker",
            text,
            expect_prefix=marker_key(machine)[: -len(p.trigger.marker)],
            trigger="event",
        )
    # A run started by hand without a prefix ("start a run now"): the configured default prefix.
    add(
        "ad-hoc",
        {"trigger": "manual"},
        expect_prefix=p.default_input_prefix,
        trigger="manual",
    )
    scheduled = expected_scheduled_prefix(machine)
    if machine.sharded:
        shard_scenarios(machine, add, scheduled)
    else:
        job_scenarios(machine, add)
    add("bad-input", {"trigger": "manual", "input_prefix": "../elsewhere/"}, trigger="manual")
    happy = happy_mocks(machine, "notify-fails")
    failing_notify = shards_failing(machine, happy) if machine.sharded else transform_failure(happy)
    failing_notify[NOTIFY_FAILURE] = throw("SNS.AuthorizationErrorException", "not authorized")
    add("notify-fails", mocks=failing_notify, **shard_inputs(machine, scheduled))
    if p.overlap == "skip":
        mocks = happy_mocks(machine, "overlap")
        running = mocks[LIST_RUNNING_EXECUTIONS]["0"]["Return"]["Executions"]
        previous = {**running[0], "Name": "previous-run"}
        mocks[LIST_RUNNING_EXECUTIONS] = ok({"Executions": [previous, running[0]]})
        add("overlap", mocks=mocks)
        # A run listed as running that started after this one does not make this one skip.
        mocks = happy_mocks(machine, "overlap-later")
        running = mocks[LIST_RUNNING_EXECUTIONS]["0"]["Return"]["Executions"]
        later = {**running[0], "Name": "a-later-run", "StartDate": "2099-01-01T00:00:00Z"}
        mocks[LIST_RUNNING_EXECUTIONS] = ok({"Executions": [later, running[0]]})
        add("overlap-later", mocks=mocks)
    if p.skip_empty_input:
        mocks = happy_mocks(machine, "empty-input")
        mocks[LIST_INPUT] = ok({"IsTruncated": False, "KeyCount": 0, "MaxKeys": 1})
        add("empty-input", mocks=mocks)
    if p.model.resolved_per_run:
        mocks = happy_mocks(machine, "no-approved-package")
        mocks[FIND_APPROVED_MODEL] = ok({"ModelPackageSummaryList": []})
        # The per-run model was never created: its clean-up fails, and must not hide the cause.
        mocks[DELETE_RUN_MODEL_AFTER_FAILURE] = throw(
            "SageMaker.SageMakerException", "Could not find model"
        )
        add("no-approved-package", mocks=mocks)
        # With ModelApprovalStatus as a filter, a page can be empty and still carry a NextToken.
        mocks = happy_mocks(machine, "registry-empty-first-page")
        mocks[FIND_APPROVED_MODEL] = ok(
            {"ModelPackageSummaryList": [], "NextToken": NEXT_PAGE_TOKEN}
        )
        add("registry-empty-first-page", mocks=mocks)
    delivery_scenarios(machine, add)
    table_scenarios(machine, add, SCHEDULED_TIME[:10])
    return found


def job_scenarios(machine: Machine, add: Callable[..., None]) -> None:
    """The paths of a run's one transform job (a sharded run's are shard_scenarios')."""
    p = machine.pipeline
    # A backfill of another folder under the pipeline's prefix, started by hand with the input
    # `./ops run --input-prefix` sends; the first CreateTransformJob is throttled and retried.
    retried = happy_mocks(machine, "backfill")
    retried[RUN_TRANSFORM_JOB] = {
        "0": {"Throw": {"Error": "SageMaker.ThrottlingException", "Cause": "Rate exceeded"}},
        "1": retried[RUN_TRANSFORM_JOB]["0"],
    }
    add(
        "backfill",
        {"trigger": "manual", "input_prefix": f"{p.default_input_prefix}2026-11-01/"},
        mocks=retried,
        expect_prefix=f"{p.default_input_prefix}2026-11-01/",
        trigger="manual",
    )
    # The generic SageMaker error: retried (after a Wait, under a new job name) only when its cause
    # is transient, at most 3 times; a ValidationException fails the run at once.
    generic = "SageMaker.AmazonSageMakerException"
    throttled = "Rate exceeded (Service: AmazonSageMaker; Error Code: ThrottlingException)"
    invalid = "Value 'x' failed to satisfy constraint (Error Code: ValidationException)"
    mocks = happy_mocks(machine, "sagemaker-throttled")
    mocks[RUN_TRANSFORM_JOB] = {
        "0": {"Throw": {"Error": generic, "Cause": throttled}},
        "1": mocks[RUN_TRANSFORM_JOB]["0"],
    }
    add("sagemaker-throttled", mocks=mocks)
    mocks = happy_mocks(machine, "sagemaker-always-throttled")
    mocks[RUN_TRANSFORM_JOB] = throw(generic, throttled)
    add("sagemaker-always-throttled", mocks=mocks)
    mocks = happy_mocks(machine, "sagemaker-invalid")
    mocks[RUN_TRANSFORM_JOB] = throw(generic, invalid)
    add("sagemaker-invalid", mocks=mocks)
    add("transform-fails", mocks=transform_failure(happy_mocks(machine, "transform-fails")))
    if p.transform.fallback_instance_types:
        # SageMaker has no capacity for the first type, then has for the second; or for none.
        mocks = happy_mocks(machine, "capacity-then-fallback")
        mocks[RUN_TRANSFORM_JOB] = {
            **job_failure(CAPACITY_ERROR, "0"),
            "1": mocks[RUN_TRANSFORM_JOB]["0"],
        }
        add("capacity-then-fallback", mocks=mocks)
        mocks = happy_mocks(machine, "capacity-on-every-type")
        mocks[RUN_TRANSFORM_JOB] = job_failure(CAPACITY_ERROR)
        add("capacity-on-every-type", mocks=mocks)


def _sdk_error(state: dict[str, Any]) -> str:
    resource = state["Resource"]
    if ":::aws-sdk:" in resource:
        service = resource.split(":::aws-sdk:")[1].split(":")[0]
        prefix = {
            "s3": "S3",
            "sfn": "Sfn",
            "sagemaker": "SageMaker",
            "cloudwatch": "CloudWatch",
            "glue": "Glue",
        }[service]
    else:
        prefix = {"sns": "SNS", "sagemaker": "SageMaker", "events": "EventBridge"}[
            resource.split(":::")[1].split(":")[0]
        ]
    return f"{prefix}.AccessDeniedException"


def fault_scenarios(
    machine: Machine, named: list[tuple[Scenario, Execution]]
) -> list[tuple[Scenario, str]]:
    """For each Task state whose failure no named scenario made the run handle: a named scenario
    that reaches it, with that task failing.

    Returns (scenario, name of the named scenario it derives from)."""
    handled = {state for _, run in named for state, _, how in run.transitions if how == "catch"}
    found = []
    for state_name, state in machine.states.items():
        if state["Type"] != "Task" or state_name in handled:
            continue
        base = next((s for s, run in named if state_name in run.states), None)
        if base is None:
            continue  # never reached: the coverage test names it
        name = f"fault-{state_name}"
        # The base run's answers; those that name its job are rebuilt for this execution's name.
        base_happy, rebuilt = happy_mocks(machine, base.name), happy_mocks(machine, name)
        mocks = {k: rebuilt[k] if v == base_happy.get(k) else v for k, v in base.mocks.items()}
        mocks[state_name] = throw(_sdk_error(state), f"injected failure of {state_name}")
        found.append((replace(base, name=name, mocks=mocks), base.name))
    return found


# --------------------------------------------------------------------------------------------
# Checks over executions


def request_problems(run: Execution) -> list[str]:
    """Every request the run sent, checked against the operation's input shape in botocore: its
    tasks' (a Map's children's included), and the S3 calls of a Map's ItemReader and
    ResultWriter (those of the engine's memory S3, which also serves the S3 tasks: checked
    twice)."""
    problems = []
    for state, resource_type, resource, params in run.requests:
        problems += [f"{state}: {p}" for p in validate(resource_type, resource, params)]
    for call in run.s3_requests:
        action = call["op"][0].lower() + call["op"][1:]
        problems += [
            f"S3 {call['op']}: {p}" for p in validate("aws-sdk:s3", action, call["params"])
        ]
    return problems


def mock_problems(machine: Machine, scenario: Scenario) -> list[str]:
    """Every mocked answer, checked against the shape of what AWS returns for that call."""
    problems = []
    for state, responses in scenario.mocks.items():
        resource = machine.all_states[state]["Resource"].split(":::")[1]
        if resource.startswith("aws-sdk:"):
            service, action = resource.removeprefix("aws-sdk:").split(":")
            resource_type = f"aws-sdk:{service}"
        else:
            resource_type, action = resource.split(":")
        for response in _answers(responses):
            if "Return" in response:
                # What the engine returns: an attempt's name where the answer echoes the request.
                attempt = machine.job_name(f"{scenario.name}/attempt")
                manifest = f"s3://{machine.output_bucket}/manifest"
                text = json.dumps(response["Return"]).replace(SENT_JOB_NAME, attempt)
                answer = json.loads(text.replace(SENT_MANIFEST, manifest))
                problems += [
                    f"{state}: {p}" for p in validate_result(resource_type, action, answer)
                ]
    return problems


def _answers(mock: dict[str, Any]) -> list[dict[str, Any]]:
    """Every answer of a state's mock (a ByRequest mock's chosen ones and its default)."""
    if "ByRequest" in mock:
        chosen = [a for case in mock["ByRequest"] for a in _answers(case["Answer"])]
        return chosen + _answers(mock.get("Otherwise", {}))
    return list(mock.values())


def _covered(machine: Machine, name: str) -> bool:
    """A re-run's shard states (``Rerun*``) are the shard's own under a prefix
    (tests/test_workflow_shards.py holds them equal): covered with them (the re-run scenarios
    enter the start of them)."""
    return name.startswith(RERUN_PREFIX) and name.removeprefix(RERUN_PREFIX) in machine.all_states


def coverage_gaps(machine: Machine, runs: list[Execution]) -> list[str]:
    """States never entered, Choice branches never taken, Catches never used (a Map's children's
    included)."""
    runs = [*runs, *(child for run in runs for child in run.child_runs)]
    entered = {state for run in runs for state in run.states}
    moves = {move for run in runs for move in run.transitions}
    taken = {(a, b) for a, b, _ in moves}
    gaps = [
        f"state {name} never ran"
        for name in machine.all_states
        if name not in entered and not _covered(machine, name)
    ]
    for name, state in machine.all_states.items():
        if _covered(machine, name):
            continue
        if state["Type"] == "Choice":
            targets = [c["Next"] for c in state["Choices"]] + [state["Default"]]
            gaps += [
                f"{name} -> {t} (Choice) never taken" for t in targets if (name, t) not in taken
            ]
        for catch in state.get("Catch", []):
            if (name, catch["Next"], "catch") not in moves:
                gaps.append(f"{name} -> {catch['Next']} (Catch) never taken")
    return gaps
