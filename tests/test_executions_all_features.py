"""The execution tests of tests/test_executions.py on tests/fixtures/all-features.yaml (every
optional feature on), in a module of its own so that pytest-xdist runs it beside the other."""

from __future__ import annotations

import pytest

from tests.test_executions import *  # noqa: F403 - the same tests, on another config
from tests.test_executions import machines, results  # noqa: F401 - fixtures


@pytest.fixture(scope="module")
def expected_machines() -> int:
    return 3


@pytest.fixture(scope="module")
def config_label() -> str:
    return "all-features"
