"""A pytest plugin for `make check`: which gate each test belongs to, and the failures, written
as JSON for the summary (``MLBATCH_CHECK_REPORT``)."""

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
_counts: dict[str, int] = {}


def gate_of(nodeid: str) -> str:
    file = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    return GATES.get(file, GATE_NAMES["checks"])


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" or report.failed:
        gate = gate_of(report.nodeid)
        _counts[gate] = _counts.get(gate, 0) + (report.when == "call")
    if report.failed:
        _failures.append(
            {"gate": gate_of(report.nodeid), "test": report.nodeid, "text": str(report.longrepr)}
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get(REPORT_ENV_VAR)
    if target and not hasattr(session.config, "workerinput"):  # the xdist controller writes it
        Path(target).write_text(json.dumps({"failures": _failures, "counts": _counts}))
