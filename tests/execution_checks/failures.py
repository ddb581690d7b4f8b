"""What goes wrong and what the run does then: transient errors retried with backoff, a
failed job notified once and never retried, a lost notification, a re-run, every task failing.

A mixin of ExecutionTests (tests/test_executions.py): its tests read the class's ``results``.
"""

from __future__ import annotations

import json

from modules.aws_context import console_url
from modules.workflow.shards import THRESHOLD_ERROR
from modules.workflow.state_names import (
    CHECK_SAGEMAKER_ERROR,
    DESCRIBE_FAILURE,
    LIST_FAILED_SHARDS_AFTER_FAILURE,
    NOTIFY_FAILURE,
    RECORD_COMPLETED_TRANSFORM,
    RUN_FAILED,
    RUN_TRANSFORM_JOB,
    USE_REQUESTED_INPUT,
    WAIT_BEFORE_RETRY,
)
from tests.execution_checks.runs import (
    Runs,
    failure_message,
    one_job,
    only,
    run_scenario,
    transform_request,
)
from tests.support.executions import TRANSFORM_RETRY_INTERVAL, Scenario
from tests.support.mocked_answers import happy_mocks
from tests.support.sfn_engine import Engine
from tests.support.shard_scenarios import failing_error


class FailureChecks:
    """What goes wrong and what the run does then."""

    def test_transient_sagemaker_error_is_retried_with_backoff(self, results: list[Runs]) -> None:
        for r in one_job(results):
            scenario, run = r.runs["backfill"]
            assert run.status == "SUCCEEDED", (r.machine.label, run.error, run.cause)
            assert USE_REQUESTED_INPUT in run.states
            first, second = (dict(req) for req in run.requests_of(RUN_TRANSFORM_JOB))
            # The same job again, under a new name: the first may have been created.
            retried_name = second.pop("TransformJobName")
            assert first.pop("TransformJobName") != retried_name
            assert first == second
            assert run.output["transform"]["job_name"] == retried_name
            assert run.output.get("manifest", {}).get("transform_job", retried_name) == retried_name
            [wait] = run.retry_waits
            assert 0 <= wait <= TRANSFORM_RETRY_INTERVAL  # FULL jitter: up to the interval
            assert scenario.expect_prefix is not None
            transform_request(r.machine, run, scenario.expect_prefix)

    def test_failed_job_is_notified_once_then_fails_without_retry(
        self, results: list[Runs]
    ) -> None:
        for r in one_job(results):
            m = r.machine
            scenario, run = r.runs["transform-fails"]
            assert run.status == "FAILED"
            assert run.error == "States.TaskFailed"
            assert json.loads(run.cause or "")["FailureReason"] == "ClientError: bad input"
            sent = only(run.requests_of(RUN_TRANSFORM_JOB))["TransformJobName"]
            assert len(run.requests_of(NOTIFY_FAILURE)) == 1
            message = failure_message(run)
            assert (message["severity"], message["event"]) == ("page", "run failed")
            # The pipeline's full name, as in every message (modules/alert_routing.py).
            assert message["pipeline"] == m.names.base
            assert message["environment"] == m.environment
            assert message["run_id"] == run.name
            assert (
                message["execution"]
                == run.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{run.name}"
            )
            assert message["run_name"] == m.job_name(run.name)
            assert message["input_prefix"] == scenario.expect_prefix
            assert (message["error"], message["cause"]) == (run.error, run.cause)
            # The job to look at in SageMaker: the attempt that was sent and failed.
            assert json.loads(message["cause"])["TransformJobName"] == sent != message["run_name"]
            assert message["console"].endswith(message["execution"])
            assert message["console"].startswith(
                console_url(m.aws.partition, m.region, "states/home")
            )
            assert run.states[-1] == RUN_FAILED

    def test_lost_failure_notification_keeps_the_run_failed(self, results: list[Runs]) -> None:
        for r in results:
            run = r["notify-fails"]
            assert (run.status, run.error) == ("FAILED", failing_error(r.machine))
            retry = r.machine.states[NOTIFY_FAILURE]["Retry"][0]
            attempts = 1 + retry["MaxAttempts"]
            assert len(run.requests_of(NOTIFY_FAILURE)) == attempts
            rate = retry.get("BackoffRate", 2.0)
            expected = [retry["IntervalSeconds"] * rate**i for i in range(retry["MaxAttempts"])]
            assert run.retry_waits == expected
            assert run.states[-1] == RUN_FAILED

    def test_generic_sagemaker_error_is_retried_only_when_transient(
        self, results: list[Runs]
    ) -> None:
        for r in one_job(results):
            m = r.machine
            run = r["sagemaker-throttled"]
            assert run.status == "SUCCEEDED", (m.label, run.error, run.cause)
            retry_states = [
                s for s in run.states if s in (CHECK_SAGEMAKER_ERROR, WAIT_BEFORE_RETRY)
            ]
            assert retry_states == [CHECK_SAGEMAKER_ERROR, WAIT_BEFORE_RETRY]
            first, second = (dict(req) for req in run.requests_of(RUN_TRANSFORM_JOB))
            names = {first.pop("TransformJobName"), second.pop("TransformJobName")}
            assert len(names) == 2 and all(m.is_attempt_name(n) for n in names)
            assert first == second
            assert run.retry_waits == [60.0]  # the Wait state, recorded instead of slept
            # Always throttled: tried 1 + 3 times, then the failure path.
            exhausted = r["sagemaker-always-throttled"]
            assert (exhausted.status, exhausted.error) == (
                "FAILED",
                "SageMaker.AmazonSageMakerException",
            )
            attempts = exhausted.requests_of(RUN_TRANSFORM_JOB)
            assert len(attempts) == 4
            assert len({a["TransformJobName"] for a in attempts}) == 4
            assert exhausted.states[-1] == RUN_FAILED
            # Bad parameters (ValidationException under the same error name): no retry at all.
            invalid = r["sagemaker-invalid"]
            assert (invalid.status, invalid.error) == (
                "FAILED",
                "SageMaker.AmazonSageMakerException",
            )
            assert len(invalid.requests_of(RUN_TRANSFORM_JOB)) == 1
            assert WAIT_BEFORE_RETRY not in invalid.states
            assert (CHECK_SAGEMAKER_ERROR, DESCRIBE_FAILURE) in {
                (a, b) for a, b, _ in invalid.transitions
            }
            assert "ValidationException" in failure_message(invalid)["cause"]

    def test_a_failed_run_is_re_run_as_a_new_execution(
        self, results: list[Runs], engine: Engine
    ) -> None:
        """The documented way to re-run (not a redrive, which would resume at RunFailed): the same
        input, a new execution name; it gets its own run id, job and model names and output
        folder."""
        for r in one_job(results):
            m = r.machine
            failed_scenario, failed = r.runs["transform-fails"]
            name = "transform-fails-rerun"
            rerun = run_scenario(
                engine,
                m,
                Scenario(name=name, input=failed_scenario.input, mocks=happy_mocks(m, name)),
            )
            assert (failed.status, rerun.status) == ("FAILED", "SUCCEEDED"), (m.label, rerun.error)
            before = only(failed.requests_of(RUN_TRANSFORM_JOB))
            after = only(rerun.requests_of(RUN_TRANSFORM_JOB))
            assert before["TransformJobName"] != after["TransformJobName"]
            assert after["TransformOutput"]["S3OutputPath"] == m.output_path(name)
            assert after["TransformInput"] == before["TransformInput"]  # the same data
            assert only(rerun.requests_of(RECORD_COMPLETED_TRANSFORM))

    def test_each_failing_task_is_caught_and_reported(self, results: list[Runs]) -> None:
        for r in results:
            for name, base in r.derived_from.items():
                scenario, run = r.runs[name]
                state = name.removeprefix("fault-")
                where = f"{r.machine.label} {name}"
                injected = scenario.mocks[state]["0-9"]["Throw"]["Error"]
                expected = r[base]
                if state == LIST_FAILED_SHARDS_AFTER_FAILURE:
                    # Naming the failed shards failed: the run fails with the Map's own error.
                    assert (run.status, run.error) == ("FAILED", THRESHOLD_ERROR), where
                    assert failure_message(run)["error"] == THRESHOLD_ERROR, where
                elif (run.status, run.error) == ("FAILED", injected):
                    # The run failed because of this task: it must have gone the failure path.
                    assert (state, DESCRIBE_FAILURE, "catch") in run.transitions, where
                    assert failure_message(run)["error"] == injected, where
                    assert run.states[-1] == RUN_FAILED, where
                else:  # a notification or a clean-up: the run's outcome must not change
                    assert (run.status, run.error) == (expected.status, expected.error), where
                    [catch] = r.machine.states[state]["Catch"]
                    assert (state, catch["Next"], "catch") in run.transitions, where
