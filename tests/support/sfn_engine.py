"""Client of the Step Functions engine driver (tools/sfn-engine/driver.py), for the tests.

The engine (LocalStack's, Python 3.13) runs in a process of its own virtualenv; one such process
serves a whole pytest worker, spoken to in JSON lines.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from tests.support.environments import ENGINE_DIR, ENGINE_PYTHON


class EngineError(RuntimeError):
    pass


@dataclass(frozen=True)
class Execution:
    """What a user sees of a finished execution: status, error, output and its event history."""

    name: str
    state_machine_arn: str
    status: str
    error: str | None
    cause: str | None
    output_text: str | None
    events: list[dict[str, Any]]
    retry_waits: list[float]
    # Every TaskScheduled of this execution and of its Distributed Map children, in order:
    # {"execution", "state", "resource", "parameters"}.
    task_requests: list[dict[str, Any]] = field(default_factory=list)
    # Each Distributed Map child execution: {"name", "status", "error", "cause", "states", "input"}.
    children: list[dict[str, Any]] = field(default_factory=list)
    # Every call the memory S3 served ({"op", "params"}) and its objects at the end.
    s3_requests: list[dict[str, Any]] = field(default_factory=list)
    s3_objects: dict[str, dict[str, str]] = field(default_factory=dict)

    @cached_property
    def output(self) -> Any:
        return None if self.output_text is None else json.loads(self.output_text)

    @cached_property
    def states(self) -> list[str]:
        """Names of the states entered, in order."""
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in self.events
            if e["type"].endswith("StateEntered")
        ]

    @cached_property
    def requests(self) -> list[tuple[str, str, str, dict[str, Any]]]:
        """(state, resource type, resource, parameters) of every TaskScheduled event, in order."""
        found, state = [], ""
        for event in self.events:
            if event["type"].endswith("StateEntered"):
                state = event["stateEnteredEventDetails"]["name"]
            if event["type"] == "TaskScheduled":
                details = event["taskScheduledEventDetails"]
                found.append(
                    (
                        state,
                        details["resourceType"],
                        details["resource"],
                        json.loads(details["parameters"]),
                    )
                )
        return found

    def requests_of(self, state: str) -> list[dict[str, Any]]:
        return [params for name, _, _, params in self.requests if name == state]

    @cached_property
    def transitions(self) -> list[tuple[str, str, str]]:
        """(from state, to state, "catch" | "next") for every move between states (a Map state is
        one state: its children's states are in ``children``)."""
        moves: list[tuple[str, str, str]] = []
        current: str | None = None
        failed = False
        for event in self.events:
            kind = event["type"]
            if kind.endswith("StateEntered"):
                name = event["stateEnteredEventDetails"]["name"]
                if current is not None:
                    moves.append((current, name, "catch" if failed else "next"))
                current, failed = name, False
            elif kind in ("TaskFailed", "TaskTimedOut", "ExecutionFailed", "MapStateFailed"):
                failed = True
            elif kind in ("TaskSucceeded", "TaskScheduled"):
                failed = False
        return moves


class Engine:
    def __init__(self, *, unpatched: bool = False) -> None:
        """``unpatched``: the engine as published, without tools/sfn-engine/patches.py."""
        if not ENGINE_PYTHON.exists():
            raise EngineError(
                "the Step Functions engine is installed by `make test` (tools/sfn-engine)"
            )
        # What the engine prints on its way out is kept, so that an engine that dies says why.
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as the engine does
        self.process = subprocess.Popen(
            [str(ENGINE_PYTHON), str(ENGINE_DIR / "driver.py"), *(["--unpatched"] * unpatched)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        ready = self._read()
        if not ready["ok"]:
            self.close()
            raise EngineError(f"sfn-engine did not start: {ready['error']}")
        self.version: str = ready["engine"]

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.stderr.seek(0)
            last = self.stderr.read()[-3000:].strip() or "(nothing on stderr)"
            status = self.process.poll()
            raise EngineError(f"sfn-engine exited (status {status}); its last words:\n{last}")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def call(self, op: str, **request: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"op": op, **request}) + "\n")
        self.process.stdin.flush()
        answer = self._read()
        if not answer["ok"]:
            raise EngineError(answer["error"] + "\n" + answer.get("traceback", ""))
        return answer

    def run(
        self,
        machine_name: str,
        definition: str,
        execution_name: str,
        execution_input: str,
        mocks: dict[str, dict[str, Any]],
        *,
        s3: dict[str, dict[str, str]] | None = None,
        timeout: float | None = None,
    ) -> Execution:
        """``s3``: the memory S3's buckets ({bucket: {key: body text}}); given, ``aws-sdk:s3:*``
        Task states without a mock are served by it. ``timeout``: seconds to wait (default 60)."""
        more: dict[str, Any] = {}
        if s3 is not None:
            more["s3"] = s3
        if timeout is not None:
            more["timeout"] = timeout
        answer = self.call(
            "run",
            machine={"name": machine_name, "definition": definition},
            name=execution_name,
            input=execution_input,
            mocks=mocks,
            **more,
        )
        return Execution(
            name=execution_name,
            state_machine_arn=answer["state_machine_arn"],
            status=answer["status"],
            error=answer["error"],
            cause=answer["cause"],
            output_text=answer["output"],
            events=answer["events"],
            retry_waits=answer["retry_waits"],
            task_requests=answer["task_requests"],
            children=answer["children"],
            s3_requests=answer["s3_requests"],
            s3_objects=answer["s3_objects"],
        )

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
        self.stderr.close()
