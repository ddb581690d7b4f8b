"""Every run path of the example config's state machines (tests/fixtures/example.yaml), executed
on a Step Functions engine.

What a user would check after a real run: the states that ran, the final status and error, the
run's output and manifest, and each request sent to AWS (also checked against botocore's model).
tests/test_executions_all_features.py runs the same tests (ExecutionTests) on
tests/fixtures/all-features.yaml.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from modules.aws_context import console_url
from modules.config import PipelineConfig, load_config
from modules.workflow.state_names import (
    CHECK_SAGEMAKER_ERROR,
    CREATE_RUN_MODEL,
    DELETE_RUN_MODEL,
    DELETE_RUN_MODEL_AFTER_FAILURE,
    DESCRIBE_FAILURE,
    FIND_APPROVED_MODEL,
    FIND_APPROVED_MODEL_NEXT_PAGE,
    INPUT_FROM_MARKER,
    INPUT_FROM_SCHEDULE,
    LIST_INPUT,
    LIST_RUNNING_EXECUTIONS,
    NOTIFY_FAILURE,
    NOTIFY_NO_INPUT,
    NOTIFY_SKIPPED,
    NOTIFY_SUCCESS,
    RECORD_COMPLETED_TRANSFORM,
    REJECT_RUN_INPUT,
    RUN_FAILED,
    RUN_SUCCEEDED,
    RUN_TRANSFORM_JOB,
    USE_DEFAULT_INPUT,
    USE_REQUESTED_INPUT,
    WAIT_BEFORE_RETRY,
    WRITE_MANIFEST,
)
from tests.conftest import CONFIGS, stacks_of
from tests.support.executions import (
    NEXT_PAGE_TOKEN,
    TRANSFORM_RETRY_INTERVAL,
    Machine,
    Scenario,
    coverage_gaps,
    event_input,
    fault_scenarios,
    happy_mocks,
    load_machines,
    mock_problems,
    named_scenarios,
    package_arn,
    request_problems,
    scheduled_input,
)
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


def _run(engine: Engine, machine: Machine, scenario: Scenario) -> Execution:
    return engine.run(
        machine.name, machine.definition, scenario.name, scenario.input, scenario.mocks
    )


def _only(requests: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(requests) == 1, requests
    return requests[0]


def _transform_request(machine: Machine, run: Execution, prefix: str) -> None:
    params = run.requests_of(RUN_TRANSFORM_JOB)[-1]
    assert machine.is_attempt_name(params["TransformJobName"]), params["TransformJobName"]
    assert params["ModelName"] == (machine.model_name or machine.job_name(run.name))
    s3 = params["TransformInput"]["DataSource"]["S3DataSource"]
    assert s3["S3Uri"] == f"s3://{machine.input_bucket}/{prefix}"
    assert params["TransformOutput"]["S3OutputPath"] == machine.output_path(run.name)


def _failure_message(run: Execution) -> dict[str, Any]:
    notify = run.requests_of(NOTIFY_FAILURE)
    assert notify, run.states
    assert all(n == notify[0] for n in notify)
    assert notify[0]["Subject"].endswith("batch inference run failed")
    message: dict[str, Any] = json.loads(notify[0]["Message"])
    return message


# --------------------------------------------------------------------------------------------


class ExecutionTests:
    """The execution tests, for one config. Not collected itself (its name does not start with
    "Test"): each subclass is, and names its config (``config_label``, a key of
    tests/conftest.py's CONFIGS) and how many state machines it has (``machine_count``); the
    ``machines`` and ``results`` fixtures below run that config once per class.

    Why subclasses and not one parametrized module: pytest-xdist's ``--dist loadfile`` gives each
    module to one worker, and a config's runs are the slowest part of the suite. One subclass per
    module (TestExampleConfig here, TestAllFeaturesConfig in
    tests/test_executions_all_features.py) lets the two workers run the two configs side by side;
    `make check` runs the same tests on the user's config (tools/check/gate_executions.py).
    """

    config_label: ClassVar[str]
    machine_count: ClassVar[int]
    # Features the config is known to have (a fixture's): a test of a feature the config lacks
    # fails for a fixture that should have it, and is skipped, saying so, for any other config.
    features: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def having(
        cls, results: list[Runs], feature: str, has: Callable[[PipelineConfig], bool]
    ) -> list[Runs]:
        found = [r for r in results if has(r.machine.pipeline)]
        if not found:
            assert feature not in cls.features, f"{cls.config_label} has no {feature} pipeline"
            pytest.skip(f"no pipeline of this config has a {feature}")
        return found

    @pytest.fixture(scope="class")
    @classmethod
    def expected_machines(cls) -> int:
        """``machine_count`` (make check's gate counts the user's config's pipelines instead)."""
        return cls.machine_count

    @pytest.fixture(scope="class")
    @classmethod
    def machines(cls, stacks: dict[str, dict[str, Any]]) -> list[Machine]:
        config = load_config(CONFIGS[cls.config_label])
        return load_machines(config, stacks_of(stacks, cls.config_label))

    @pytest.fixture(scope="class")
    @classmethod
    def results(cls, engine: Engine, machines: list[Machine]) -> list[Runs]:
        """Every scenario of every machine, executed once for all the tests of the class."""
        found = []
        for machine in machines:
            named = [(s, _run(engine, machine, s)) for s in named_scenarios(engine, machine)]
            runs = {s.name: (s, run) for s, run in named}
            derived = {}
            for scenario, base in fault_scenarios(machine, named):
                runs[scenario.name] = (scenario, _run(engine, machine, scenario))
                derived[scenario.name] = base
            found.append(Runs(machine, runs, derived))
        return found

    def test_every_state_machine_is_executed(
        self, results: list[Runs], engine: Engine, expected_machines: int
    ) -> None:
        assert len(results) == expected_machines
        assert engine.version == "localstack-core 2026.3.0"

    def test_scheduled_run_reads_its_folder_and_succeeds(self, results: list[Runs]) -> None:
        for r in results:
            scenario, run = r.runs["scheduled"]
            assert run.status == "SUCCEEDED", (r.machine.label, run.error, run.cause)
            assert run.states[-1] == RUN_SUCCEEDED
            assert scenario.expect_prefix is not None
            _transform_request(r.machine, run, scenario.expect_prefix)
            assert (INPUT_FROM_SCHEDULE in run.states) == (
                r.machine.pipeline.schedule.input_folder is not None
            )

    def test_success_writes_the_manifest_and_notifies_where_enabled(
        self, results: list[Runs]
    ) -> None:
        for r in results:
            m, run = r.machine, r["scheduled"]
            p = m.pipeline
            manifest = run.output.get("manifest")
            if p.write_manifest:
                put = _only(run.requests_of(WRITE_MANIFEST))
                assert put["Bucket"] == m.output_bucket
                assert put["Key"] == f"{p.run_output_prefix}{run.name}/_manifest.json"
                assert put["ServerSideEncryption"] == "aws:kms"
                assert json.loads(put["Body"]) == manifest
            else:
                assert run.requests_of(WRITE_MANIFEST) == []
            if p.notify_on_success:
                notice = json.loads(_only(run.requests_of(NOTIFY_SUCCESS))["Message"])
                assert notice["manifest"] == manifest
                assert (notice["severity"], notice["pipeline"]) == ("notice", m.name)
                assert notice["message"] == f"Run {run.name} succeeded."
            else:
                assert run.requests_of(NOTIFY_SUCCESS) == []
            if manifest is None:
                assert not (p.write_manifest or p.notify_on_success)
                continue
            model = package_arn(m, 7) if p.model.resolved_per_run else m.model_name
            assert manifest["pipeline"] == p.name
            assert manifest["environment"] == m.environment
            assert manifest["run_id"] == run.name
            assert manifest["trigger"] == "schedule"
            assert manifest["model"] == model
            assert (
                manifest["input"] == f"s3://{m.input_bucket}/{r.runs['scheduled'][0].expect_prefix}"
            )
            assert manifest["output"] == m.output_path(run.name)
            # The job that ran is the attempt that was sent, not the run's name.
            sent = _only(run.requests_of(RUN_TRANSFORM_JOB))["TransformJobName"]
            assert manifest["transform_job"] == sent != m.job_name(run.name)
            assert isinstance(manifest["duration_seconds"], int)

    def test_runs_start_with_what_scheduler_or_the_event_rule_sends(
        self, results: list[Runs]
    ) -> None:
        """Only an ad-hoc run, a backfill and a bad requested prefix are started by hand; every
        other run starts with the schedule's input as Scheduler sends it, or with the event
        rule's."""
        for r in results:
            started = {name: (s.trigger, s.input) for name, (s, _) in r.runs.items()}
            manual = {name for name, (trigger, _) in started.items() if trigger == "manual"}
            assert manual == {
                name
                for name in r.runs
                if r.derived_from.get(name, name) in ("ad-hoc", "backfill", "bad-input")
            }
            for name, (trigger, text) in started.items():
                if trigger == "schedule":
                    assert text == scheduled_input(r.machine), name
                else:
                    assert trigger in ("manual", "event"), name
                    assert json.loads(text)["trigger"] == trigger, name

    def test_marker_object_starts_a_run_on_its_folder(
        self, results: list[Runs], engine: Engine
    ) -> None:
        triggered = self.having(results, "trigger", lambda p: p.trigger is not None)
        for r in triggered:
            m = r.machine
            assert m.pipeline.trigger is not None
            scenario, run = r.runs["marker"]
            assert run.status == "SUCCEEDED", (m.label, run.error, run.cause)
            assert INPUT_FROM_MARKER in run.states
            assert json.loads(scenario.input)["trigger"] == "event"
            assert scenario.expect_prefix is not None
            _transform_request(m, run, scenario.expect_prefix)
            prefix = m.pipeline.default_input_prefix
            for key in (
                f"{prefix}2026-11-26/part-0001.csv",
                f"other/2026-11-26/{m.pipeline.trigger.marker}",
            ):
                assert event_input(engine, m, key)[0] is False, key

    def test_run_started_by_hand_without_a_prefix_reads_the_default_prefix(
        self, results: list[Runs]
    ) -> None:
        for r in results:
            scenario, run = r.runs["ad-hoc"]
            assert run.status == "SUCCEEDED", (r.machine.label, run.error, run.cause)
            assert USE_DEFAULT_INPUT in run.states
            assert scenario.expect_prefix == r.machine.pipeline.default_input_prefix
            _transform_request(r.machine, run, scenario.expect_prefix)
            if "manifest" in run.output:
                assert run.output["manifest"]["trigger"] == "manual"

    def test_transient_sagemaker_error_is_retried_with_backoff(self, results: list[Runs]) -> None:
        for r in results:
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
            _transform_request(r.machine, run, scenario.expect_prefix)

    def test_input_outside_the_pipeline_prefix_fails_before_any_call(
        self, results: list[Runs]
    ) -> None:
        for r in results:
            run = r["bad-input"]
            assert (run.status, run.error) == ("FAILED", "InvalidRunInput")
            assert run.requests == []
            assert run.states[-1] == REJECT_RUN_INPUT

    def test_failed_job_is_notified_once_then_fails_without_retry(
        self, results: list[Runs]
    ) -> None:
        for r in results:
            m = r.machine
            scenario, run = r.runs["transform-fails"]
            assert run.status == "FAILED"
            assert run.error == "States.TaskFailed"
            assert json.loads(run.cause or "")["FailureReason"] == "ClientError: bad input"
            sent = _only(run.requests_of(RUN_TRANSFORM_JOB))["TransformJobName"]
            assert len(run.requests_of(NOTIFY_FAILURE)) == 1
            message = _failure_message(run)
            assert (message["severity"], message["event"]) == ("page", "run failed")
            assert message["pipeline"] == m.pipeline.name
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
            assert (run.status, run.error) == ("FAILED", "States.TaskFailed")
            retry = r.machine.states[NOTIFY_FAILURE]["Retry"][0]
            attempts = 1 + retry["MaxAttempts"]
            assert len(run.requests_of(NOTIFY_FAILURE)) == attempts
            rate = retry.get("BackoffRate", 2.0)
            expected = [retry["IntervalSeconds"] * rate**i for i in range(retry["MaxAttempts"])]
            assert run.retry_waits == expected
            assert run.states[-1] == RUN_FAILED

    def test_overlapping_run_is_skipped_and_notified(self, results: list[Runs]) -> None:
        for r in results:
            if r.machine.pipeline.overlap != "skip":
                assert not r.has("overlap")
                continue
            run = r["overlap"]
            assert run.status == "SUCCEEDED"
            assert run.output["result"]["status"] == "skipped"
            message = json.loads(_only(run.requests_of(NOTIFY_SKIPPED))["Message"])
            assert (message["severity"], message["event"]) == ("notice", "run skipped")
            assert run.name in message["message"]
            assert message["run"]["run_id"] == run.name
            assert run.requests_of(RUN_TRANSFORM_JOB) == []
            listed = _only(run.requests_of(LIST_RUNNING_EXECUTIONS))
            assert listed["StatusFilter"] == "RUNNING"
            assert listed["StateMachineArn"] == run.state_machine_arn

    def test_a_run_that_started_later_does_not_make_this_one_skip(
        self, results: list[Runs]
    ) -> None:
        for r in results:
            if r.machine.pipeline.overlap != "skip":
                continue
            scenario, run = r.runs["overlap-later"]
            assert run.status == "SUCCEEDED", (r.machine.label, run.error, run.cause)
            assert NOTIFY_SKIPPED not in run.states
            assert run.output["overlap"]["earlier_runs"] == 0
            assert r["overlap"].output["overlap"]["earlier_runs"] == 1
            assert scenario.expect_prefix is not None
            _transform_request(r.machine, run, scenario.expect_prefix)

    def test_generic_sagemaker_error_is_retried_only_when_transient(
        self, results: list[Runs]
    ) -> None:
        for r in results:
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
            assert "ValidationException" in _failure_message(invalid)["cause"]

    def test_empty_input_starts_no_job(self, results: list[Runs]) -> None:
        for r in results:
            p = r.machine.pipeline
            if not p.skip_empty_input:
                assert not r.has("empty-input")
                assert LIST_INPUT not in r.machine.states
                continue
            scenario, run = r.runs["empty-input"]
            assert run.status == "SUCCEEDED"
            assert run.output["result"]["status"] == "no-input"
            listed = _only(run.requests_of(LIST_INPUT))
            assert (listed["Bucket"], listed["Prefix"]) == (
                r.machine.input_bucket,
                scenario.expect_prefix,
            )
            assert run.requests_of(RUN_TRANSFORM_JOB) == []
            notices = [json.loads(n["Message"]) for n in run.requests_of(NOTIFY_NO_INPUT)]
            assert len(notices) == (1 if p.notify_on_empty_input else 0)
            for notice in notices:
                assert (notice["severity"], notice["event"]) == ("notice", "run found no input")
                assert notice["run"]["input_prefix"] == scenario.expect_prefix
                assert run.name in notice["message"]

    def test_registry_runs_use_the_newest_approved_package_and_clean_up(
        self, results: list[Runs]
    ) -> None:
        for r in results:
            m = r.machine
            if not m.pipeline.model.resolved_per_run:
                assert CREATE_RUN_MODEL not in m.states
                continue
            run = r["scheduled"]
            job = m.job_name(run.name)
            find = _only(run.requests_of(FIND_APPROVED_MODEL))
            assert find["ModelPackageGroupName"] == m.pipeline.model.model_package_group
            assert (find["ModelApprovalStatus"], find["SortBy"], find["SortOrder"]) == (
                "Approved",
                "CreationTime",
                "Descending",
            )
            create = _only(run.requests_of(CREATE_RUN_MODEL))
            assert create["ModelName"] == job
            assert create["PrimaryContainer"]["ModelPackageName"] == package_arn(m, 7)
            assert _only(run.requests_of(DELETE_RUN_MODEL))["ModelName"] == job
            order = [state for state, *_ in run.requests]
            assert order.index(CREATE_RUN_MODEL) < order.index(RUN_TRANSFORM_JOB)
            assert order.index(RUN_TRANSFORM_JOB) < order.index(DELETE_RUN_MODEL)
            # On every failure after the model exists, it is deleted too.
            for name, (_, failed) in r.runs.items():
                if failed.status == "FAILED" and failed.requests_of(CREATE_RUN_MODEL):
                    deleted = failed.requests_of(DELETE_RUN_MODEL_AFTER_FAILURE)
                    assert deleted and deleted[0]["ModelName"] == m.job_name(name), name
            none = r["no-approved-package"]
            assert (none.status, none.error) == ("FAILED", "NoApprovedModelPackage")
            assert none.requests_of(CREATE_RUN_MODEL) == none.requests_of(RUN_TRANSFORM_JOB) == []
            assert _failure_message(none)["error"] == "NoApprovedModelPackage"

    def test_only_a_completed_transform_records_the_freshness_signal(
        self, results: list[Runs]
    ) -> None:
        """The freshness alarm counts TransformsCompleted in the pipeline's namespace: a run that
        found no input, was skipped or failed must not publish it; a completed transform must."""
        for r in results:
            m = r.machine
            record = _only(r["scheduled"].requests_of(RECORD_COMPLETED_TRANSFORM))
            assert record == {
                "Namespace": f"BatchInference/{m.job_prefix}",
                "MetricData": [{"MetricName": "TransformsCompleted", "Value": 1, "Unit": "Count"}],
            }
            quiet = ["transform-fails", "bad-input", "sagemaker-invalid"]
            quiet += ["empty-input"] if m.pipeline.skip_empty_input else []
            quiet += ["overlap"] if m.pipeline.overlap == "skip" else []
            for name in quiet:
                run = r[name]
                assert RECORD_COMPLETED_TRANSFORM not in run.states, (m.label, name)
                assert run.requests_of(RECORD_COMPLETED_TRANSFORM) == [], (m.label, name)
            # Both "did nothing" runs still end as succeeded executions (ExecutionsSucceeded).
            for name in ("empty-input", "overlap"):
                if r.has(name):
                    assert r[name].status == "SUCCEEDED", (m.label, name)
            # Recorded after the job completed, before the run ends.
            order = [state for state, *_ in r["scheduled"].requests]
            assert order.index(RUN_TRANSFORM_JOB) < order.index(RECORD_COMPLETED_TRANSFORM)

    def test_a_failed_run_is_re_run_as_a_new_execution(
        self, results: list[Runs], engine: Engine
    ) -> None:
        """The documented way to re-run (not a redrive, which would resume at RunFailed): the same
        input, a new execution name; it gets its own run id, job and model names and output
        folder."""
        for r in results:
            m = r.machine
            failed_scenario, failed = r.runs["transform-fails"]
            name = "transform-fails-rerun"
            rerun = _run(
                engine,
                m,
                Scenario(name=name, input=failed_scenario.input, mocks=happy_mocks(m, name)),
            )
            assert (failed.status, rerun.status) == ("FAILED", "SUCCEEDED"), (m.label, rerun.error)
            before = _only(failed.requests_of(RUN_TRANSFORM_JOB))
            after = _only(rerun.requests_of(RUN_TRANSFORM_JOB))
            assert before["TransformJobName"] != after["TransformJobName"]
            assert after["TransformOutput"]["S3OutputPath"] == m.output_path(name)
            assert after["TransformInput"] == before["TransformInput"]  # the same data
            assert _only(rerun.requests_of(RECORD_COMPLETED_TRANSFORM))

    def test_registry_run_follows_next_token_past_an_empty_page(self, results: list[Runs]) -> None:
        registry = self.having(results, "registry", lambda p: p.model.resolved_per_run)
        for r in registry:
            m = r.machine
            run = r["registry-empty-first-page"]
            assert run.status == "SUCCEEDED", (m.label, run.error, run.cause)
            first = _only(run.requests_of(FIND_APPROVED_MODEL))
            second = _only(run.requests_of(FIND_APPROVED_MODEL_NEXT_PAGE))
            assert "NextToken" not in first
            assert second == {**first, "NextToken": NEXT_PAGE_TOKEN}
            create = _only(run.requests_of(CREATE_RUN_MODEL))
            assert create["PrimaryContainer"]["ModelPackageName"] == package_arn(m, 7)
            # One page that holds the package: no second call.
            assert r["scheduled"].requests_of(FIND_APPROVED_MODEL_NEXT_PAGE) == []

    def test_each_failing_task_is_caught_and_reported(self, results: list[Runs]) -> None:
        for r in results:
            for name, base in r.derived_from.items():
                scenario, run = r.runs[name]
                state = name.removeprefix("fault-")
                where = f"{r.machine.label} {name}"
                injected = scenario.mocks[state]["0-9"]["Throw"]["Error"]
                expected = r[base]
                if (run.status, run.error) == ("FAILED", injected):
                    # The run failed because of this task: it must have gone the failure path.
                    assert (state, DESCRIBE_FAILURE, "catch") in run.transitions, where
                    assert _failure_message(run)["error"] == injected, where
                    assert run.states[-1] == RUN_FAILED, where
                else:  # a notification or a clean-up: the run's outcome must not change
                    assert (run.status, run.error) == (expected.status, expected.error), where
                    [catch] = r.machine.states[state]["Catch"]
                    assert (state, catch["Next"], "catch") in run.transitions, where

    def test_every_request_matches_the_aws_api(
        self, results: list[Runs], expected_machines: int
    ) -> None:
        problems = [
            f"{r.machine.label} {name}: {problem}"
            for r in results
            for name, (_, run) in r.runs.items()
            for problem in request_problems(run)
        ]
        assert problems == []
        requests = sum(len(run.requests) for r in results for _, run in r.runs.values())
        assert requests > 10 * expected_machines or requests == expected_machines == 0

    def test_every_mocked_answer_has_the_shape_aws_returns(self, results: list[Runs]) -> None:
        problems = [
            f"{r.machine.label} {name}: {problem}"
            for r in results
            for name, (scenario, _) in r.runs.items()
            for problem in mock_problems(r.machine, scenario)
        ]
        assert problems == []

    def test_every_state_choice_branch_and_catch_is_executed(self, results: list[Runs]) -> None:
        gaps = [
            f"{r.machine.label}: {gap}"
            for r in results
            for gap in coverage_gaps(r.machine, [run for _, run in r.runs.values()])
        ]
        assert gaps == []


class TestExampleConfig(ExecutionTests):
    """The example config (tests/fixtures/example.yaml)."""

    config_label = "example"
    machine_count = 4
    features = frozenset({"trigger", "registry"})
