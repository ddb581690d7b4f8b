"""A pytest plugin for `make check`: which gate each test belongs to, and what each gate did,
written as JSON for the summary (``MLBATCH_CHECK_REPORT``):

- ``gates``: per gate, the tests that started (``tests``), how they ended (``passed``, ``failed``,
  ``errors`` at setup or teardown, ``skipped`` with each reason, ``collection_errors``) and what
  its tests recorded of their findings (``record_property("checkov", "…")``: ``findings``);
- ``failures``: each failed test, setup, teardown or collection, with its gate and its text.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tools.check import GATE_NAMES, REPORT_ENV_VAR

# Test file -> gate name in the summary.
GATES = {
    "test_security.py": GATE_NAMES["security"],
    "gate_executions.py": GATE_NAMES["executions"],
}
_failures: list[dict[str, Any]] = []
_gates: dict[str, dict[str, Any]] = {}


def gate_of(nodeid: str) -> str:
    file = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    return GATES.get(file, GATE_NAMES["checks"])


def _stats(gate: str) -> dict[str, Any]:
    return _gates.setdefault(
        gate,
        {
            "tests": 0,
            "passed": 0,
            "failed": 0,
            "errors": 0,
            "collection_errors": 0,
            "skipped": [],
            "findings": [],
        },
    )


def _failed(gate: str, nodeid: str, when: str, text: str) -> None:
    _failures.append({"gate": gate, "test": nodeid, "when": when, "text": text})


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    gate = gate_of(report.nodeid)
    stats = _stats(gate)
    if report.when == "setup":
        stats["tests"] += 1
    if report.skipped:
        stats["skipped"].append(_skip_reason(report))
    elif report.when == "call":
        stats["passed" if report.passed else "failed"] += 1
        stats["findings"] += [f"{name}: {value}" for name, value in report.user_properties]
    elif report.failed:  # setup or teardown
        stats["errors"] += 1
    if report.failed:
        _failed(gate, report.nodeid, report.when, str(report.longrepr))


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A file that cannot be collected (an import error, a syntax error) or skips itself: its
    gate runs none of its tests (the session goes on with the others:
    --continue-on-collection-errors)."""
    if report.failed:
        gate = gate_of(report.nodeid)
        _stats(gate)["collection_errors"] += 1
        _failed(gate, report.nodeid, "collect", str(report.longrepr))
    elif report.skipped:
        _stats(gate_of(report.nodeid))["skipped"].append(_skip_reason(report))


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    # A skip's longrepr is (file, line, reason); the reason starts "Skipped: ".
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    return reason.removeprefix("Skipped: ")


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get(REPORT_ENV_VAR)
    if target and not hasattr(session.config, "workerinput"):  # the xdist controller writes it
        Path(target).write_text(json.dumps({"gates": _gates, "failures": _failures}))
