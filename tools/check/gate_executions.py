"""The execution gate of `make check`: tests/test_executions.py, unchanged, on the user's config
(label "user" in tests/conftest.py's CONFIGS). Every run path of every pipeline of every
environment: success, each Choice branch, each Catch, every Task failing once; every request
checked against botocore's model. Also records how many paths ran per state machine."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from modules.config import load_config
from tests.conftest import CONFIGS, engine, stacks  # noqa: F401 - session fixtures
from tests.test_executions import *  # noqa: F403 - the product's execution tests, on the user's config
from tests.test_executions import Runs, machines, results  # noqa: F401 - fixtures

PATHS_FILE_ENV_VAR = "MLBATCH_CHECK_PATHS"


@pytest.fixture(scope="module")
def config_label() -> str:
    return "user"


@pytest.fixture(scope="module")
def expected_machines() -> int:
    config = load_config(CONFIGS["user"])
    return sum(len(env.pipelines) for env in config.environments.values())


def test_paths_are_recorded_for_the_summary(results: list[Runs]) -> None:  # noqa: F811
    paths = {f"{r.machine.environment}/{r.machine.pipeline.name}": len(r.runs) for r in results}
    assert all(count > 0 for count in paths.values())
    target = os.environ.get(PATHS_FILE_ENV_VAR)
    if target:
        Path(target).write_text(json.dumps(paths))
