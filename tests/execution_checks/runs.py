"""A config's executions as the execution tests read them (``Runs``), how a scenario is run, and
the checks several test groups share (the transform request, the failure message)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from modules.workflow.state_names import (
    NOTIFY_FAILURE,
    RUN_TRANSFORM_JOB,
)
from tests.support.executions import (
    Scenario,
)
from tests.support.machines import Machine
from tests.support.sfn_engine import Engine, Execution


@dataclass
class Runs:
    machine: Machine
    runs: dict[str, tuple[Scenario, Execution]]
    derived_from: dict[str, str]

    def __getitem__(self, scenario: str) -> Execution:
        return self.runs[scenario][1]

    def has(self, scenario: str) -> bool:
        return scenario in self.runs


def run_scenario(engine: Engine, machine: Machine, scenario: Scenario) -> Execution:
    return engine.run(
        machine.name,
        machine.definition,
        scenario.name,
        scenario.input,
        scenario.mocks,
        s3=scenario.s3,
    )


def delivering(checks: Any, results: list[Runs]) -> list[Runs]:
    """The runs of the pipelines with ``delivery`` (``ExecutionTests.having``: skipped when there
    are none, a failure for a fixture that declares the feature)."""
    found: list[Runs] = checks.having(results, "delivery", lambda p: p.delivery is not None)
    return found


def only(requests: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(requests) == 1, requests
    return requests[0]


def transform_request(machine: Machine, run: Execution, prefix: str) -> None:
    params = run.requests_of(RUN_TRANSFORM_JOB)[-1]
    assert machine.is_attempt_name(params["TransformJobName"]), params["TransformJobName"]
    assert params["ModelName"] == (machine.model_name or machine.job_name(run.name))
    s3 = params["TransformInput"]["DataSource"]["S3DataSource"]
    assert s3["S3Uri"] == f"s3://{machine.input_bucket}/{prefix}"
    assert params["TransformOutput"]["S3OutputPath"] == machine.output_path(run.name)


def failure_message(run: Execution) -> dict[str, Any]:
    notify = run.requests_of(NOTIFY_FAILURE)
    assert notify, run.states
    assert all(n == notify[0] for n in notify)
    assert notify[0]["Subject"].endswith("batch inference run failed")
    message: dict[str, Any] = json.loads(notify[0]["Message"])
    return message
