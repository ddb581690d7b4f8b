"""Runs state machine executions on LocalStack's Step Functions engine, in process, for the tests.

Started by tests/support/sfn_engine.py with this folder's own virtualenv (Python 3.13; the engine
needs 3.12+, the project runs on 3.11). It speaks JSON lines on stdin/stdout, one request per line,
one answer per line:

    {"op": "run", "machine": {"name", "definition"}, "name", "input", "mocks",
     "s3" (optional: {bucket: {key: body text}}), "timeout" (optional, seconds, default 60)}
        -> {"status", "error", "cause", "output", "events", "retry_waits", "task_requests",
            "children", "s3_requests", "s3_objects"}
           task_requests: every TaskScheduled of the execution and of its Distributed Map children,
           in order ({"execution", "state", "resource", "parameters"}); children: {"name",
           "status", "error", "cause", "states", "input", "events"}; s3_requests: {"op",
           "params"} of every call the memory S3 (memory_s3.py) served; s3_objects: its buckets
           at the end
    {"op": "event", "pattern", "event", "transformer", "target_arn"}
        -> {"matches", "input"}: EventBridge's rule matching and input transformer, as LocalStack
           implements them, applied to an event
    {"op": "filter", "policy", "scope", "message"}
        -> {"matches"}: whether SNS delivers a message (body text) to a subscription with this
           filter policy and scope, by LocalStack's SNS filter evaluator (the policy is first
           checked by its validator, as Subscribe / SetSubscriptionAttributes do)
    {"op": "quit"}

``driver.py --unpatched`` runs the engine as published, without ``patches.py`` (no retry waits are
recorded then): tests/test_sfn_engine.py uses it to notice when a patch is no longer needed.

``mocks`` maps state names to Step Functions Local mocked responses ({"0": {"Return": ...}},
{"0-2": {"Throw": {"Error", "Cause"}}}); the execution runs as a mock test case
(``<stateMachineArn>#<TestCase>``), child executions of a Distributed Map included. A mock may
also be ``{"ByRequest": [{"When": {"<member.path>": "<glob>"}, "Answer": <mocked response>}],
"Otherwise": <mocked response>}`` (patch 15). Task states of ``aws-sdk:s3:*`` need no mock when
``s3`` is given: the memory S3 serves them, the ItemReader and the ResultWriter. Every answer
is {"ok": true, ...} or {"ok": false, "error"}.

Everything the engine writes (its JSONata jars, temporary files, mock configs) stays under
``.filesystem/`` beside this file. Java: the engine wants a Java 21 it would download; the
machine's JDK (``SFN_ENGINE_JAVA_HOME``, default Debian's OpenJDK 17) is linked in its place.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE / ".filesystem"
JAVA_HOME = os.environ.get("SFN_ENGINE_JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")
ACCOUNT = os.environ.get("SFN_ENGINE_ACCOUNT", "111122223333")
REGION = os.environ.get("SFN_ENGINE_REGION", "eu-west-1")
ROLE = f"arn:aws:iam::{ACCOUNT}:role/state-machine"


def _prepare_environment() -> None:
    # Host paths, not the container ones (this machine is itself a container).
    os.environ["OVERRIDE_IN_DOCKER"] = "0"
    os.environ["FILESYSTEM_ROOT"] = str(ROOT)
    os.environ["CONFIG_DIR"] = str(ROOT / "config")
    os.environ["TMPDIR"] = str(ROOT / "tmp")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    (ROOT / "tmp").mkdir(parents=True, exist_ok=True)
    java = ROOT / "var" / "lib" / "localstack" / "lib" / "java" / "21"
    if not (Path(JAVA_HOME) / "bin" / "java").exists():
        raise SystemExit(f"sfn-engine: no JDK at {JAVA_HOME} (set SFN_ENGINE_JAVA_HOME)")
    java.parent.mkdir(parents=True, exist_ok=True)
    # Each pytest worker starts an engine, and on a fresh clone they prepare this at the same
    # moment: the other one may have linked (or unlinked) it in between.
    if java.is_symlink() and os.readlink(java) != JAVA_HOME:
        java.unlink(missing_ok=True)
    try:
        java.symlink_to(JAVA_HOME)
    except FileExistsError:
        if java.is_symlink() and os.readlink(java) != JAVA_HOME:
            raise


_SDK_S3 = ":::aws-sdk:s3:"  # in any partition's ARN


def _task_states(states: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Every Task state, with those of Map item processors and Parallel branches."""
    found = []
    for name, state in states.items():
        if state.get("Type") == "Task":
            found.append((name, state))
        inner = [state.get("ItemProcessor") or state.get("Iterator"), *state.get("Branches", [])]
        for machine in filter(None, inner):
            found.extend(_task_states(machine.get("States", {})))
    return found


def _split_mocks(mocks: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Step Functions Local mocks for the mock file, and ByRequest mocks for patch 14. A ByRequest
    state's mock file entry is its Otherwise (what the engine answers without patch 14)."""
    import map_patches

    plain, by_request = {}, {}
    for state, mock in mocks.items():
        if "ByRequest" not in mock:
            plain[state] = mock
            continue
        choices = [
            (dict(c["When"]), map_patches.parse_answers(state, c["Answer"]))
            for c in mock["ByRequest"]
        ]
        otherwise = mock.get("Otherwise")
        by_request[state] = (choices, otherwise and map_patches.parse_answers(state, otherwise))
        no_match = {"Error": "States.Runtime", "Cause": f"no ByRequest answer of {state} matches"}
        plain[state] = otherwise or {"0": {"Throw": no_match}}
    return plain, by_request


def _entered(events: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(state name, event) for each event, the name of the state it happened in."""
    found, state = [], ""
    for event in events:
        if event["type"].endswith("StateEntered"):
            state = event["stateEnteredEventDetails"]["name"]
            found.append((state, event))
    return found


def _requests(
    execution: str, events: list[dict[str, Any]], children: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """Every TaskScheduled of ``events`` with the state it happened in, in order, and at each
    Map Run's start, the task requests of that Map Run's ``children``."""
    found, state = [], ""
    for event in events:
        kind = event["type"]
        if kind.endswith("StateEntered"):
            state = event["stateEnteredEventDetails"]["name"]
        elif kind == "TaskScheduled":
            details = event["taskScheduledEventDetails"]
            resource = f"arn:aws:states:::{details['resourceType']}:{details['resource']}"
            found.append(
                {
                    "execution": execution,
                    "state": state,
                    "resource": resource,
                    "parameters": json.loads(details["parameters"]),
                }
            )
        elif kind == "MapRunStarted":
            run = event["mapRunStartedEventDetails"]["mapRunArn"]
            for child in children:
                if child["map_run_arn"] == run:
                    found.extend(_requests(child["name"], child.get("events", [])))
    return found


class Engine:
    def __init__(self, unpatched: bool) -> None:
        import patches
        from localstack import config
        from localstack.aws.api import RequestContext
        from localstack.services.stepfunctions.backend.execution import Execution
        from localstack.services.stepfunctions.provider import StepFunctionsProvider

        if not unpatched:
            patches.apply()
        import memory_s3

        memory_s3.install()  # the S3 of each run request, patched engine or not
        # Each status change would be posted to an EventBridge that is not there (6-11 s of
        # retries per run); the tests read the history instead.
        Execution.publish_execution_status_change_event = lambda self: None
        logging.getLogger("localstack").setLevel(logging.CRITICAL)
        self.clock = patches.CLOCK
        self.config = config
        self.provider = StepFunctionsProvider()
        self.context = RequestContext(None)
        self.context.account_id = ACCOUNT
        self.context.region = REGION
        self.machines: dict[str, str] = {}
        # Execution names used on each machine: two configs (generated ones) can deploy the same
        # machine under the same name and run the same scenarios on it.
        self.executions: dict[str, set[str]] = {}
        self.runs = 0
        (ROOT / "mocks").mkdir(parents=True, exist_ok=True)

    def machine_arn(self, machine: dict[str, Any], execution: str) -> tuple[str, str]:
        """The engine's machine for this definition on which ``execution`` has not run yet (a
        copy of it, ``<name>-<digest>-<n>``, once it has)."""
        definition = machine["definition"]
        digest = hashlib.sha256(definition.encode()).hexdigest()[:12]
        base = name = f"{machine['name']}-{digest}"
        copy = 1
        while execution in self.executions.get(name, set()):
            copy += 1
            name = f"{base}-{copy}"
        if name not in self.machines:
            created = self.provider.create_state_machine(
                self.context, {"name": name, "definition": definition, "roleArn": ROLE}
            )
            self.machines[name] = created["stateMachineArn"]
        self.executions.setdefault(name, set()).add(execution)
        return name, self.machines[name]

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        import map_patches
        import memory_s3

        states = json.loads(request["machine"]["definition"])["States"]
        s3_given = request.get("s3") is not None
        unmocked = [
            name
            for name, state in _task_states(states)
            if name not in request["mocks"]
            and not (s3_given and _SDK_S3 in str(state.get("Resource", "")))
        ]
        if unmocked:  # the engine would call the real service
            raise ValueError(f"Task states without a mocked response: {unmocked}")
        s3 = memory_s3.reset(request.get("s3"))
        mocks, by_request = _split_mocks(request["mocks"])
        name, arn = self.machine_arn(request["machine"], request["name"])
        self.runs += 1
        case = f"case{self.runs}"
        responses = {f"{case}-{state}": mock for state, mock in mocks.items()}
        mock_file = ROOT / "mocks" / f"{os.getpid()}-{self.runs}.json"
        mock_file.write_text(
            json.dumps(
                {
                    "StateMachines": {
                        name: {"TestCases": {case: {s: f"{case}-{s}" for s in mocks}}}
                    },
                    "MockedResponses": responses,
                }
            )
        )
        self.config.SFN_MOCK_CONFIG = str(mock_file)
        if self.clock is not None:
            self.clock.waits.clear()
        map_patches.CHILDREN.clear()
        map_patches.BY_REQUEST.clear()
        map_patches.BY_REQUEST.update(by_request)
        try:
            started = self.provider.start_execution(
                self.context,
                state_machine_arn=f"{arn}#{case}",
                name=request["name"],
                input=request["input"],
            )
        finally:
            mock_file.unlink()
        execution_arn = started["executionArn"]
        deadline = time.monotonic() + (request.get("timeout") or 60)
        while True:
            described = self.provider.describe_execution(self.context, execution_arn=execution_arn)
            if described["status"] != "RUNNING":
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {request['name']} still running")
            time.sleep(0.005)
        history = self.provider.get_execution_history(
            self.context, execution_arn=execution_arn, max_results=1000
        )
        recorded = self.clock.waits.values() if self.clock is not None else []
        waits = [w for waits in recorded for w in waits]
        events = json.loads(json.dumps(history["events"], default=str))
        children = list(map_patches.CHILDREN)
        return {
            "status": described["status"],
            "error": described.get("error"),
            "cause": described.get("cause"),
            "output": described.get("output"),
            "execution_arn": execution_arn,
            "state_machine_arn": arn,
            "events": events,
            "retry_waits": waits,
            "task_requests": _requests(request["name"], events, children),
            "children": [
                {
                    "name": c["name"],
                    "status": c["status"],
                    "error": c["error"],
                    "cause": c["cause"],
                    "states": [n for n, _ in _entered(c.get("events", []))],
                    "input": c["input"],
                    "events": c.get("events", []),
                }
                for c in children
            ],
            "s3_requests": s3.requests,
            "s3_objects": s3.objects,
        }

    def event(self, request: dict[str, Any]) -> dict[str, Any]:
        from localstack.services.events.target import StatesTargetSender
        from localstack.utils.event_matcher import matches_event

        matches = matches_event(request["pattern"], request["event"])
        sender = StatesTargetSender(
            target={
                "Id": "target",
                "Arn": request["target_arn"],
                "RoleArn": ROLE,
                "InputTransformer": request["transformer"],
            },
            rule_arn=f"arn:aws:events:{REGION}:{ACCOUNT}:rule/rule",
            rule_name="rule",
            service="states",
            region=REGION,
            account_id=ACCOUNT,
        )
        # The sender's own send path names the execution after event["id"], which a transformed
        # event does not have (a LocalStack quirk): apply its transformer, as it does, directly.
        transformed = sender.transform_event_with_target_input_transformer(
            request["transformer"], request["event"]
        )
        text = transformed if isinstance(transformed, str) else json.dumps(transformed)
        return {"matches": matches, "input": text}

    def filter(self, request: dict[str, Any]) -> dict[str, Any]:
        from localstack.services.sns.filter import FilterPolicyValidator, SubscriptionFilter

        policy, scope, message = request["policy"], request["scope"], request["message"]
        FilterPolicyValidator(scope, is_subscribe_call=True).validate_filter_policy(policy)
        evaluator = SubscriptionFilter()
        if scope == "MessageBody":
            matches = evaluator.check_filter_policy_on_message_body(policy, message)
        else:
            raise ValueError(f"filter scope {scope}: only MessageBody is used")
        return {"matches": matches}


def main() -> None:
    if sys.argv[1:] not in ([], ["--unpatched"]):
        raise SystemExit("usage: driver.py [--unpatched]")
    _prepare_environment()
    sys.path.insert(0, str(HERE))
    out = sys.stdout
    sys.stdout = sys.stderr  # whatever the engine prints must not break the protocol
    try:
        engine = Engine(unpatched=len(sys.argv) > 1)
        from localstack import version

        ready = {"ok": True, "engine": f"localstack-core {version.__version__}"}
    except Exception as error:
        ready = {"ok": False, "error": f"{type(error).__name__}: {error}"}
    out.write(json.dumps(ready) + "\n")
    out.flush()
    if not ready["ok"]:
        return
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "quit":
            break
        try:
            answer = {"ok": True, **getattr(engine, request["op"])(request)}
        except Exception as error:
            answer = {
                "ok": False,
                "error": f"{type(error).__name__}: {error}",
                "traceback": traceback.format_exc(),
            }
        out.write(json.dumps(answer) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
