"""What a run with ``delivery`` delivers. Every input accounted for: its input and output
objects counted over every ListObjectsV2 page, what is not input left out, and a run with inputs
lacking a ``.out`` failed with a page (within ``allow_missing_outputs``, reported instead). The
"Batch predictions ready" event, after a complete run only.

A mixin of ExecutionTests (tests/test_executions.py): its tests read the class's ``results``.
"""

from __future__ import annotations

import json
from typing import Any

from modules.alert_routing import PAGE, SEVERITY_KEY
from modules.workflow.delivery_count import INCOMPLETE_OUTPUT_ERROR, OUTPUT_SUFFIX, PAGE_KEYS
from modules.workflow.delivery_event import READY_DETAIL_TYPE
from modules.workflow.finish import MANIFEST_NAME
from modules.workflow.state_names import (
    COUNT_INPUT_PAGE,
    COUNT_OUTPUT_PAGE,
    DELETE_RUN_MODEL_AFTER_FAILURE,
    NOTIFY_SUCCESS,
    PUT_READY_EVENT,
    RECORD_COMPLETED_TRANSFORM,
    WRITE_MANIFEST,
)
from tests.execution_checks.runs import Runs, delivering, failure_message, only
from tests.support.delivery_scenarios import allowed_run_inputs, missing_of
from tests.support.executions import SCHEDULED_TIME
from tests.support.listings import inputs, outputs, token
from tests.support.sfn_engine import Execution


def counts(run: Execution) -> dict[str, Any]:
    """The counts as the run's output gives them; the manifest, when written, gives the same."""
    found: dict[str, Any] = run.output["delivery"]
    manifest = run.output.get("manifest")
    if manifest is not None:
        assert {k: manifest[k] for k in found} == found
    return found


def expected(listed: list[tuple[str, int]], written: list[tuple[str, int]]) -> dict[str, int]:
    return {
        "input_objects": len(listed),
        "input_bytes": sum(size for _, size in listed),
        "output_objects": len(written),
        "output_bytes": sum(size for _, size in written),
        "missing_outputs": max(0, len(listed) - len(written)),
    }


class DeliveryChecks:
    """Every input accounted for."""

    def test_delivery_counts_the_run_input_and_its_outputs(self, results: list[Runs]) -> None:
        for r in delivering(self, results):
            m, run = r.machine, r["scheduled"]
            assert run.status == "SUCCEEDED", (m.label, run.error, run.cause)
            listed = inputs(m, 2)
            assert counts(run) == expected(listed, outputs(m, run.name, listed))
            assert only(run.requests_of(COUNT_INPUT_PAGE)) == {
                "Bucket": m.input_bucket,
                "Prefix": r.runs["scheduled"][0].expect_prefix,
                "MaxKeys": PAGE_KEYS,
            }
            assert only(run.requests_of(COUNT_OUTPUT_PAGE)) == {
                "Bucket": m.output_bucket,
                "Prefix": f"{m.pipeline.run_output_prefix}{run.name}/",
                "MaxKeys": PAGE_KEYS,
            }
            if m.pipeline.notify_on_success:
                notice = json.loads(only(run.requests_of(NOTIFY_SUCCESS))["Message"])
                assert notice["manifest"]["input_objects"] == len(listed)
        for r in results:
            if r.machine.pipeline.delivery is None:
                assert COUNT_INPUT_PAGE not in r.machine.states
                assert "delivery" not in r["scheduled"].output

    def test_missing_outputs_fail_the_run_with_a_page(self, results: list[Runs]) -> None:
        for r in delivering(self, results):
            m, run = r.machine, r["outputs-missing"]
            assert m.pipeline.delivery is not None
            allowed = m.pipeline.delivery.allow_missing_outputs
            missing, total = missing_of(allowed)
            cause = f"incomplete output: {missing:,} of {total:,} inputs have no {OUTPUT_SUFFIX}"
            cause += f" ({allowed:,} allowed)" if allowed else ""
            assert (run.status, run.error, run.cause) == ("FAILED", INCOMPLETE_OUTPUT_ERROR, cause)
            page = failure_message(run)
            assert (page[SEVERITY_KEY], page["error"], page["cause"]) == (
                PAGE,
                INCOMPLETE_OUTPUT_ERROR,
                cause,
            )
            # A failed run: no freshness signal, no manifest, no success notice.
            for state in (RECORD_COMPLETED_TRANSFORM, WRITE_MANIFEST, NOTIFY_SUCCESS):
                assert run.requests_of(state) == [], (m.label, state)
            if m.pipeline.model.resolved_per_run:
                assert only(run.requests_of(DELETE_RUN_MODEL_AFTER_FAILURE))

    def test_an_input_of_more_than_one_page_is_counted_whole(self, results: list[Runs]) -> None:
        for r in delivering(self, results):
            m, run = r.machine, r["paged-input"]
            assert run.status == "SUCCEEDED", (m.label, run.error, run.cause)
            listed = inputs(m, 2 * PAGE_KEYS + 5)
            assert counts(run) == expected(listed, outputs(m, run.name, listed))
            for state in (COUNT_INPUT_PAGE, COUNT_OUTPUT_PAGE):
                sent = run.requests_of(state)
                assert [page.get("ContinuationToken") for page in sent] == [
                    None,
                    token(1),
                    token(2),
                ]
                assert len({page["Prefix"] for page in sent}) == 1

    def test_marker_folders_and_manifests_are_not_input(self, results: list[Runs]) -> None:
        for r in delivering(self, results):
            m, run = r.machine, r["not-input-listed"]
            assert run.status == "SUCCEEDED", (m.label, run.error, run.cause)
            empty = (f"{m.pipeline.default_input_prefix}empty.csv", 0)
            listed = [*inputs(m, 2), empty]
            assert counts(run) == expected(listed, outputs(m, run.name, listed))

    def test_more_outputs_than_inputs_is_not_a_failure(self, results: list[Runs]) -> None:
        for r in delivering(self, results):
            m, run = r.machine, r["more-outputs"]
            assert run.status == "SUCCEEDED", (m.label, run.error, run.cause)
            listed = inputs(m, 2)
            assert counts(run) == expected(listed, outputs(m, run.name, inputs(m, 3)))
            assert counts(run)["missing_outputs"] == 0

    def test_allowed_missing_outputs_succeed_and_are_reported(self, results: list[Runs]) -> None:
        allowing = self.having(  # type: ignore[attr-defined]
            results,
            "allow_missing_outputs",
            lambda p: p.delivery is not None and p.delivery.allow_missing_outputs > 0,
        )
        for r in allowing:
            m, run = r.machine, r["outputs-missing-allowed"]
            assert m.pipeline.delivery is not None
            allowed = m.pipeline.delivery.allow_missing_outputs
            assert run.status == "SUCCEEDED", (m.label, run.error, run.cause)
            listed = inputs(m, allowed_run_inputs(allowed))
            assert counts(run) == expected(listed, outputs(m, run.name, listed[allowed:]))
            assert counts(run)["missing_outputs"] == allowed
            assert only(run.requests_of(RECORD_COMPLETED_TRANSFORM))


class ReadyEventChecks:
    """The "Batch predictions ready" event: after a complete run only."""

    def test_a_complete_run_puts_one_ready_event(self, results: list[Runs]) -> None:
        for r in delivering(self, results):
            m, run = r.machine, r["scheduled"]
            p = m.pipeline
            assert p.delivery is not None
            [entry] = only(run.requests_of(PUT_READY_EVENT))["Entries"]
            bus = m.arn("events", f"event-bus/{p.delivery.event_bus or 'default'}")
            assert (entry["Source"], entry["DetailType"], entry["EventBusName"]) == (
                m.names.event_source,
                READY_DETAIL_TYPE,
                bus,
            )
            detail = json.loads(entry["Detail"])
            folder = m.output_path(run.name)
            assert detail == {
                "project": m.project,
                "environment": m.environment,
                "pipeline": p.name,
                "run_id": run.name,
                "scheduled_time": SCHEDULED_TIME,
                "output_uri": folder,
                **({"manifest_uri": f"{folder}{MANIFEST_NAME}"} if p.write_manifest else {}),
                "model": detail["model"],
                **counts(run),
                # Its value: tests/execution_checks/table.py.
                **({"table_partition": detail["table_partition"]} if p.delivery.table else {}),
            }
            # After the manifest is written, before the success notice.
            order = [state for state, *_ in run.requests]
            if p.write_manifest:
                assert order.index(WRITE_MANIFEST) < order.index(PUT_READY_EVENT)
            if p.notify_on_success:
                assert order.index(PUT_READY_EVENT) < order.index(NOTIFY_SUCCESS)

    def test_no_ready_event_without_complete_predictions(self, results: list[Runs]) -> None:
        """Failed, skipped and no-input runs put none."""
        for r in delivering(self, results):
            quiet = 0
            for name, (_, run) in r.runs.items():
                result = (run.output or {}).get("result", {})
                if run.status == "FAILED" or result.get("status") in ("skipped", "no-input"):
                    failed_putting = run.error == "EventBridge.AccessDeniedException"
                    assert failed_putting or run.requests_of(PUT_READY_EVENT) == [], name
                    quiet += 1
            assert quiet >= 3, r.machine.label
