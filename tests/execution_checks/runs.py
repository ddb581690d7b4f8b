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


def one_job(results: list[Runs]) -> list[Runs]:
    """The runs of the pipelines whose run is one transform job (a sharded run's jobs are its
    shards': tests/execution_checks/shards.py)."""
    return [r for r in results if not r.machine.sharded]


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
    """The run's job read ``prefix`` into the run's output folder (a sharded run: each shard's
    job read its manifest, which lists files under ``prefix``)."""
    if machine.sharded:
        shard_requests(machine, run, prefix)
        return
    params = run.requests_of(RUN_TRANSFORM_JOB)[-1]
    assert machine.is_attempt_name(params["TransformJobName"]), params["TransformJobName"]
    assert params["ModelName"] == (machine.model_name or machine.job_name(run.name))
    s3 = params["TransformInput"]["DataSource"]["S3DataSource"]
    assert s3["S3Uri"] == f"s3://{machine.input_bucket}/{prefix}"
    assert params["TransformOutput"]["S3OutputPath"] == machine.output_path(run.name)


def shard_requests(machine: Machine, run: Execution, prefix: str) -> None:
    sent = run.requests_of(machine.job_state)
    assert sent, run.states
    for params in sent:
        assert machine.is_attempt_name(params["TransformJobName"]), params["TransformJobName"]
        assert params["ModelName"] == (machine.model_name or machine.job_name(run.name))
        s3 = params["TransformInput"]["DataSource"]["S3DataSource"]
        assert s3["S3DataType"] == "ManifestFile"
        bucket, _, key = s3["S3Uri"].removeprefix("s3://").partition("/")
        [head, *_] = json.loads(run.s3_objects[bucket][key])
        assert head == {"prefix": f"s3://{machine.input_bucket}/{prefix}"}
        assert params["TransformOutput"]["S3OutputPath"] == machine.output_path(run.name)


def failure_message(run: Execution) -> dict[str, Any]:
    notify = run.requests_of(NOTIFY_FAILURE)
    assert notify, run.states
    assert all(n == notify[0] for n in notify)
    assert notify[0]["Subject"].endswith("batch inference run failed")
    message: dict[str, Any] = json.loads(notify[0]["Message"])
    return message
