"""A shortage of instances is not a broken model: a job SageMaker could not provision is started
again on the next fallback instance type, with the same input and a new job name; the run fails,
naming the types, only when none had capacity; any other job failure is not retried.

A mixin of ExecutionTests (tests/test_executions.py): its tests read the class's ``results``.
"""

from __future__ import annotations

import json
from typing import Any

from modules.config import PipelineConfig
from modules.workflow.state_names import (
    CHECK_CAPACITY_ERROR,
    DESCRIBE_FAILURE,
    NOTIFY_FAILURE,
    RUN_FAILED,
    RUN_TRANSFORM_JOB,
)
from tests.execution_checks.runs import Runs, failure_message, one_job, only, transform_request

FEATURE = "fallback_instance_types"


def _has_fallback(pipeline: PipelineConfig) -> bool:
    return bool(pipeline.transform.fallback_instance_types)


def _without_name_and_type(request: dict[str, Any]) -> dict[str, Any]:
    """A CreateTransformJob request but for what changes from one type to the next."""
    rest = json.loads(json.dumps(request))
    del rest["TransformJobName"], rest["TransformResources"]["InstanceType"]
    return dict(rest)


class CapacityChecks:
    """Fallback instance types, on the pipelines that have them."""

    having: Any  # ExecutionTests.having

    def test_capacity_error_starts_the_job_again_on_the_next_type(
        self, results: list[Runs]
    ) -> None:
        for r in one_job(self.having(results, FEATURE, _has_fallback)):
            m = r.machine
            scenario, run = r.runs["capacity-then-fallback"]
            assert run.status == "SUCCEEDED", (m.label, run.error, run.cause)
            first, second = run.requests_of(RUN_TRANSFORM_JOB)
            types = m.pipeline.transform.instance_types
            assert first["TransformResources"]["InstanceType"] == types[0]
            assert second["TransformResources"]["InstanceType"] == types[1]
            # A new job under a new name, over the same input, into the same output folder.
            assert first["TransformJobName"] != second["TransformJobName"]
            assert all(m.is_attempt_name(req["TransformJobName"]) for req in (first, second))
            assert _without_name_and_type(first) == _without_name_and_type(second)
            assert scenario.expect_prefix is not None
            transform_request(m, run, scenario.expect_prefix)
            assert run.output["transform"]["job_name"] == second["TransformJobName"]
            assert (RUN_TRANSFORM_JOB, CHECK_CAPACITY_ERROR, "catch") in run.transitions
            assert NOTIFY_FAILURE not in run.states

    def test_capacity_error_on_every_type_fails_the_run_naming_them(
        self, results: list[Runs]
    ) -> None:
        for r in one_job(self.having(results, FEATURE, _has_fallback)):
            m = r.machine
            run = r["capacity-on-every-type"]
            assert (run.status, run.error) == ("FAILED", "States.TaskFailed")
            attempts = run.requests_of(RUN_TRANSFORM_JOB)
            types = list(m.pipeline.transform.instance_types)
            assert [a["TransformResources"]["InstanceType"] for a in attempts] == types
            assert len({a["TransformJobName"] for a in attempts}) == len(types)
            message = failure_message(run)
            assert len(run.requests_of(NOTIFY_FAILURE)) == 1
            assert (message["error"], message["cause"]) == (run.error, run.cause)
            cause = json.loads(message["cause"])
            assert cause["InstanceTypesTried"] == types
            # Still the last job's description: ./ops reads its name and reason from it.
            assert cause["FailureReason"].startswith("CapacityError")
            assert cause["TransformJobName"] == attempts[-1]["TransformJobName"]
            assert run.states[-1] == RUN_FAILED

    def test_other_job_failures_are_not_tried_on_another_type(self, results: list[Runs]) -> None:
        for r in one_job(self.having(results, FEATURE, _has_fallback)):
            run = r["transform-fails"]
            assert (run.status, run.error) == ("FAILED", "States.TaskFailed")
            only(run.requests_of(RUN_TRANSFORM_JOB))
            assert (CHECK_CAPACITY_ERROR, DESCRIBE_FAILURE) in {
                (a, b) for a, b, _ in run.transitions
            }
            assert "InstanceTypesTried" not in json.loads(failure_message(run)["cause"])
