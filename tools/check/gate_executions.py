"""The execution gate of `make check`: tests/test_executions.py's ExecutionTests, unchanged, on
the user's config (label "user" in tests/conftest.py's CONFIGS). Every run path of every pipeline
of every environment: success, each Choice branch, each Catch, every Task failing once; every
request checked against botocore's model. Also records how many paths ran per state machine."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from modules.config import load_config
from tests.conftest import CONFIGS, engine, stacks  # noqa: F401 - session fixtures
from tests.test_executions import ExecutionTests, Runs
from tools.check import PATHS_FILE_ENV_VAR


class TestUserConfig(ExecutionTests):
    """The user's config (label "user" in tests/conftest.py's CONFIGS, set by `make check`)."""

    config_label = "user"

    @pytest.fixture(scope="class")
    @classmethod
    def expected_machines(cls) -> int:
        config = load_config(CONFIGS["user"])
        return sum(len(env.pipelines) for env in config.environments.values())

    def test_paths_are_recorded_for_the_summary(self, results: list[Runs]) -> None:
        paths = {f"{r.machine.environment}/{r.machine.pipeline.name}": len(r.runs) for r in results}
        assert all(count > 0 for count in paths.values())
        target = os.environ.get(PATHS_FILE_ENV_VAR)
        if target:
            Path(target).write_text(json.dumps(paths))
