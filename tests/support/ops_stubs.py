"""botocore Stubber-backed AWS for the operations tool's tests: real boto3 clients whose every
request is checked against the service model (and against the parameters a test expects) and
answered with a response that is checked against the model too.

The tests run on tests/fixtures/ops.yaml (``OPS_CONFIG``); which of its environments and pipelines
a test works on is the test's to name: nothing here knows them, and a region is the one the config
gives the environment. Every request a command sends is recorded (``StubbedAws.calls``: service,
operation and parameters, as the service receives them), for the operator policy's test."""

from __future__ import annotations

import functools
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.stub import Stubber
from rich.console import Console

from modules.config import load_config
from modules.workflow.model_identity import identity_tags
from tests.conftest import FIXTURES
from tools.ops import cli
from tools.ops.aws import SERVICES, Clients
from tools.ops.target import Target, resolve

OPS_CONFIG = FIXTURES / "ops.yaml"
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def target(environment: str, pipeline: str) -> Target:
    """A pipeline of the ops config as the tool resolves it (STS, asked where the environment
    pins no account, answers 111122223333)."""
    return resolve(load_config(OPS_CONFIG), environment, pipeline, lambda: "111122223333")


class FakeClock:
    def __init__(self) -> None:
        self.time = NOW
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += timedelta(seconds=seconds)


@functools.cache
def _session() -> boto3.session.Session:
    """One session for every test's clients: each test's clients (and stubs) are new, the service
    models they are built from are read once (a new session reads them again, ~0.15 s a test)."""
    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")


@dataclass(frozen=True)
class Call:
    """One request a command sent: the service (botocore's signing name, which IAM actions are
    prefixed with), the operation and its parameters."""

    service: str
    operation: str
    params: dict[str, Any]


@dataclass
class StubbedAws:
    """The AWS of one environment of the ops config: its clients are in the environment's region."""

    environment: str
    region: str = field(init=False)
    clients: Clients = field(init=False)
    stubs: dict[str, Stubber] = field(init=False)
    calls: list[Call] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.region = load_config(OPS_CONFIG).environments[self.environment].region
        session = _session()
        self.clients = Clients(
            *(session.client(name, region_name=self.region) for name in SERVICES)
        )
        self.stubs = {name: Stubber(getattr(self.clients, name)) for name in SERVICES}
        for name, stub in self.stubs.items():
            getattr(self.clients, name).meta.events.register("provide-client-params", self._record)
            stub.activate()

    def _record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.calls.append(Call(model.service_model.signing_name, model.name, dict(params)))

    def expect(self, service: str, method: str, response: dict[str, Any], **params: Any) -> None:
        self.stubs[service].add_response(method, response, params)

    def refuse(
        self, service: str, method: str, code: str, status: int, message: str = "", **params: Any
    ) -> None:
        self.stubs[service].add_client_error(
            method,
            service_error_code=code,
            service_message=message,
            http_status_code=status,
            expected_params=params,
        )

    def assert_done(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


def install(aws: StubbedAws, clock: FakeClock | None = None, token: str = "a1b2") -> Console:
    """Point the tool at the stubbed AWS, a fake clock and an 80-column recording console."""
    console = Console(width=80, record=True, file=io.StringIO(), color_system=None)
    cli.RUNTIME = cli.Runtime(
        clients=lambda region: aws.clients,
        clock=clock or FakeClock(),
        token=lambda: token,
        console=console,
        poll_seconds=60,
    )
    return console


def listed(t: Target, name: str, status: str, start: datetime, minutes: int = 20) -> dict[str, Any]:
    """An execution as ListExecutions shows it."""
    item: dict[str, Any] = {
        "executionArn": t.execution_arn(name),
        "stateMachineArn": t.state_machine_arn,
        "name": name,
        "status": status,
        "startDate": start,
    }
    if status != "RUNNING":
        item["stopDate"] = start + timedelta(minutes=minutes)
    return item


def described(
    t: Target,
    name: str,
    status: str,
    start: datetime,
    run_input: dict[str, Any],
    *,
    minutes: int = 20,
    output: dict[str, Any] | None = None,
    error: str | None = None,
    cause: str | None = None,
) -> dict[str, Any]:
    """An execution as DescribeExecution shows it."""
    answer = listed(t, name, status, start, minutes) | {"input": json.dumps(run_input)}
    if output is not None:
        answer["output"] = json.dumps(output)
    if error is not None:
        answer |= {"error": error, "cause": cause or ""}
    return answer


def job_tags(t: Target) -> list[dict[str, str]]:
    """A transform job's tags as SageMaker lists them (modules/workflow/transform.py tags it; the
    ops config's pipelines have no per-run package, so every value is known here)."""
    tags = [{"Key": "pipeline", "Value": t.pipeline.name}]
    tags.append({"Key": "environment", "Value": t.environment.name})
    return tags + (identity_tags(t.pipeline) if t.pipeline.delivery is not None else [])


def succeeded_output(
    t: Target, name: str, prefix: str, result: str | None = None
) -> dict[str, Any]:
    """What a run that succeeded leaves as its output (the workflow's state, modules/workflow/)."""
    output: dict[str, Any] = {
        "run": {"run_id": name, "input_prefix": prefix, "attempt": 0},
        "transform": {
            "job_name": f"{t.names.run_prefix}{'0' * 24}{name[-8:].replace('-', '0')}",
            "status": "Completed",
        },
    }
    if result is not None:
        output = {"run": output["run"], "result": {"status": result}}
    elif t.pipeline.delivery is not None and t.pipeline.write_manifest:
        model = t.pipeline.model  # the ops config's pipelines run an image and an artifact
        identity = {"image": model.image, "artifact_key": model.artifact_key}
        output["manifest"] = {"run_id": name, "model_identity": identity}
    return output
