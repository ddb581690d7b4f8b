"""Where a run reads its input and how it starts: the scheduled folder, the marker's folder, a
prefix given by hand (or refused), a run skipped beside another, an empty input.

A mixin of ExecutionTests (tests/test_executions.py): its tests read the class's ``results``.
"""

from __future__ import annotations

import json

from modules.workflow.state_names import (
    INPUT_FROM_MARKER,
    INPUT_FROM_SCHEDULE,
    LIST_INPUT,
    LIST_RUNNING_EXECUTIONS,
    NOTIFY_NO_INPUT,
    NOTIFY_SKIPPED,
    REJECT_RUN_INPUT,
    RUN_SUCCEEDED,
    USE_DEFAULT_INPUT,
)
from tests.execution_checks.runs import (
    Runs,
    only,
    transform_request,
)
from tests.support.executions import (
    event_input,
    scheduled_input,
)
from tests.support.sfn_engine import Engine
from tests.support.shard_scenarios import RERUNS
from tools.ops.shards import RERUN_TRIGGER


class InputChecks:
    """Where a run reads its input and how it starts."""

    def test_scheduled_run_reads_its_folder_and_succeeds(self, results: list[Runs]) -> None:
        for r in results:
            scenario, run = r.runs["scheduled"]
            assert run.status == "SUCCEEDED", (r.machine.label, run.error, run.cause)
            assert run.states[-1] == RUN_SUCCEEDED
            assert scenario.expect_prefix is not None
            transform_request(r.machine, run, scenario.expect_prefix)
            assert (INPUT_FROM_SCHEDULE in run.states) == (
                r.machine.pipeline.schedule.input_folder is not None
            )

    def test_runs_start_with_what_scheduler_or_the_event_rule_sends(
        self, results: list[Runs]
    ) -> None:
        """Only an ad-hoc run, a backfill, a bad requested prefix and a re-run of failed shards
        (./ops rerun) are started by hand; every
        other run starts with the schedule's input as Scheduler sends it, or with the event
        rule's."""
        for r in results:
            started = {name: (s.trigger, s.input) for name, (s, _) in r.runs.items()}
            manual = {
                name
                for name, (trigger, _) in started.items()
                if trigger in ("manual", RERUN_TRIGGER)
            }
            assert manual == {
                name
                for name in r.runs
                if r.derived_from.get(name, name) in ("ad-hoc", "backfill", "bad-input", *RERUNS)
            }
            for name, (trigger, text) in started.items():
                if trigger == "schedule":
                    assert text == scheduled_input(r.machine), name
                else:
                    assert trigger in ("manual", "event", RERUN_TRIGGER), name
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
            transform_request(m, run, scenario.expect_prefix)
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
            transform_request(r.machine, run, scenario.expect_prefix)
            if "manifest" in run.output:
                assert run.output["manifest"]["trigger"] == "manual"

    def test_input_outside_the_pipeline_prefix_fails_before_any_call(
        self, results: list[Runs]
    ) -> None:
        for r in results:
            run = r["bad-input"]
            assert (run.status, run.error) == ("FAILED", "InvalidRunInput")
            assert run.requests == []
            assert run.states[-1] == REJECT_RUN_INPUT

    def test_overlapping_run_is_skipped_and_notified(self, results: list[Runs]) -> None:
        for r in results:
            if r.machine.pipeline.overlap != "skip":
                assert not r.has("overlap")
                continue
            run = r["overlap"]
            assert run.status == "SUCCEEDED"
            assert run.output["result"]["status"] == "skipped"
            message = json.loads(only(run.requests_of(NOTIFY_SKIPPED))["Message"])
            assert (message["severity"], message["event"]) == ("notice", "run skipped")
            assert (message["pipeline"], message["environment"]) == (
                r.machine.names.base,
                r.machine.environment,
            )
            assert run.name in message["message"]
            assert message["run"]["run_id"] == run.name
            assert run.requests_of(r.machine.job_state) == []
            listed = only(run.requests_of(LIST_RUNNING_EXECUTIONS))
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
            transform_request(r.machine, run, scenario.expect_prefix)

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
            listed = only(run.requests_of(LIST_INPUT))
            assert (listed["Bucket"], listed["Prefix"]) == (
                r.machine.input_bucket,
                scenario.expect_prefix,
            )
            assert run.requests_of(r.machine.job_state) == []
            notices = [json.loads(n["Message"]) for n in run.requests_of(NOTIFY_NO_INPUT)]
            assert len(notices) == (1 if p.notify_on_empty_input else 0)
            for notice in notices:
                assert (notice["severity"], notice["event"]) == ("notice", "run found no input")
                assert (notice["pipeline"], notice["environment"]) == (
                    r.machine.names.base,
                    r.machine.environment,
                )
                assert notice["run"]["input_prefix"] == scenario.expect_prefix
                assert run.name in notice["message"]
