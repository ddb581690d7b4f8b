"""The predictions table: a complete run registers its partition (its date and id, at its output
folder, with the table's storage descriptor) before the "ready" event, which carries it; an
incomplete, failed, skipped or no-input run registers none; a partition Glue refuses, or a Glue
error, fails the run with a page; this run's own partition already there is not a failure.

A mixin of ExecutionTests (tests/test_executions.py): its tests read the class's ``results``.
"""

from __future__ import annotations

import json
from typing import Any

from modules.alert_routing import PAGE, SEVERITY_KEY
from modules.naming import Names
from modules.predictions_table import PredictionsTable
from modules.workflow.delivery_table import PARTITION_NOT_REGISTERED_ERROR
from modules.workflow.state_names import (
    COUNT_OUTPUT_PAGE,
    NOTIFY_SUCCESS,
    PUT_READY_EVENT,
    RECORD_COMPLETED_TRANSFORM,
    REGISTER_PARTITION,
    WRITE_MANIFEST,
)
from tests.execution_checks.runs import Runs, failure_message, only
from tests.support.executions import SCHEDULED_TIME
from tests.support.machines import Machine
from tests.support.sfn_engine import Execution
from tests.support.table_scenarios import GLUE_ERROR, REFUSED


def table_of(machine: Machine) -> PredictionsTable:
    table = PredictionsTable.of(machine.pipeline, Names(machine.project, machine.environment))
    assert table is not None
    return table


def expected_request(machine: Machine, run: Execution, run_date: str) -> dict[str, Any]:
    """What BatchCreatePartition should get: this run's values, its output folder."""
    table = table_of(machine)
    return {
        "DatabaseName": table.database,
        "TableName": table.name,
        "PartitionInputList": [
            {
                "Values": [run_date, run.name],
                "StorageDescriptor": table.storage_descriptor(machine.output_path(run.name)),
            }
        ],
    }


def start_date(run: Execution) -> str:
    """The UTC date the execution started (its first event's time)."""
    started = run.events[0]["timestamp"]
    return str(started)[:10]


class TableChecks:
    """The run's partition of the predictions table."""

    def _tables(self, results: list[Runs]) -> list[Runs]:
        return self.having(  # type: ignore[attr-defined,no-any-return]
            results,
            "table",
            lambda p: p.delivery is not None and p.delivery.table is not None,
        )

    def test_a_complete_run_registers_its_partition(self, results: list[Runs]) -> None:
        for r in self._tables(results):
            m, run = r.machine, r["scheduled"]
            assert run.status == "SUCCEEDED", (m.label, run.error, run.cause)
            run_date = SCHEDULED_TIME[:10]
            assert only(run.requests_of(REGISTER_PARTITION)) == expected_request(m, run, run_date)
            table = table_of(m)
            partition = {
                "database": table.database,
                "table": table.name,
                "run_date": run_date,
                "run_id": run.name,
            }
            [entry] = only(run.requests_of(PUT_READY_EVENT))["Entries"]
            assert json.loads(entry["Detail"])["table_partition"] == partition
            if m.pipeline.write_manifest:
                assert run.output["manifest"]["table_partition"] == partition
            # After the count, before the freshness signal, the manifest and the event.
            order = [state for state, *_ in run.requests]
            assert order.index(COUNT_OUTPUT_PAGE) < order.index(REGISTER_PARTITION)
            for later in (RECORD_COMPLETED_TRANSFORM, WRITE_MANIFEST, PUT_READY_EVENT):
                if later in order:
                    assert order.index(REGISTER_PARTITION) < order.index(later), later
        for r in results:
            delivery = r.machine.pipeline.delivery
            if delivery is None or delivery.table is None:
                assert REGISTER_PARTITION not in r.machine.states
                assert "table_partition" not in r["scheduled"].output

    def test_a_run_without_a_scheduled_time_is_dated_by_its_start(
        self, results: list[Runs]
    ) -> None:
        for r in self._tables(results):
            m, run = r.machine, r["ad-hoc"]
            assert run.status == "SUCCEEDED", (m.label, run.error, run.cause)
            sent = only(run.requests_of(REGISTER_PARTITION))
            assert sent == expected_request(m, run, start_date(run))

    def test_no_partition_without_complete_predictions(self, results: list[Runs]) -> None:
        """Incomplete, failed (before the table), skipped and no-input runs register none."""
        for r in self._tables(results):
            quiet = 0
            for name, (_, run) in r.runs.items():
                result = (run.output or {}).get("result", {})
                failed_before = run.status == "FAILED" and REGISTER_PARTITION not in run.states
                if failed_before or result.get("status") in ("skipped", "no-input"):
                    assert run.requests_of(REGISTER_PARTITION) == [], name
                    quiet += 1
            assert REGISTER_PARTITION not in r["outputs-missing"].states
            assert (
                REGISTER_PARTITION
                not in r["shards-fail" if r.machine.sharded else "transform-fails"].states
            )
            assert quiet >= 3, r.machine.label

    def test_a_refused_partition_fails_the_run_with_a_page(self, results: list[Runs]) -> None:
        for r in self._tables(results):
            m, run = r.machine, r["partition-refused"]
            table = table_of(m)
            code, message = REFUSED
            cause = (
                f"partition run_date={SCHEDULED_TIME[:10]}, run_id={run.name} of "
                f"{table.database}.{table.name} not registered: {code}: {message}"
            )
            assert (run.status, run.error, run.cause) == (
                "FAILED",
                PARTITION_NOT_REGISTERED_ERROR,
                cause,
            )
            page = failure_message(run)
            assert (page[SEVERITY_KEY], page["error"], page["cause"]) == (
                PAGE,
                PARTITION_NOT_REGISTERED_ERROR,
                cause,
            )
            for state in (
                RECORD_COMPLETED_TRANSFORM,
                WRITE_MANIFEST,
                PUT_READY_EVENT,
                NOTIFY_SUCCESS,
            ):
                assert run.requests_of(state) == [], (m.label, state)

    def test_a_glue_error_fails_the_run_with_a_page(self, results: list[Runs]) -> None:
        for r in self._tables(results):
            m, run = r.machine, r["partition-glue-error"]
            error, cause = GLUE_ERROR
            assert (run.status, run.error, run.cause) == ("FAILED", error, cause)
            page = failure_message(run)
            assert (page[SEVERITY_KEY], page["error"]) == (PAGE, error)
            assert run.requests_of(PUT_READY_EVENT) == [], m.label

    def test_this_runs_partition_already_there_is_not_a_failure(self, results: list[Runs]) -> None:
        """An earlier attempt of the call (retried after a timeout) that did create it."""
        for r in self._tables(results):
            m, run = r.machine, r["partition-exists"]
            assert run.status == "SUCCEEDED", (m.label, run.error, run.cause)
            assert only(run.requests_of(PUT_READY_EVENT))
            assert "partition_errors" not in run.output
