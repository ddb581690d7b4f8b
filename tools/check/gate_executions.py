"""The execution gate of `make check`: tests/test_executions.py's ExecutionTests, unchanged, on
the user's config (label "user" in tests/conftest.py's CONFIGS). Every run path of every pipeline
of every environment: success, each Choice branch, each Catch, every Task failing once; every
request checked against botocore's model. Also records how many paths ran per state machine.

The config is the session's one (``stack_check.user_config``, loaded once per process and shared
with the team's checks): the state machines are read from its synthesized stacks, and its
pipelines are how many there must be."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import engine, stacks, stacks_of  # noqa: F401 - session fixtures
from tests.support.machines import Machine, load_machines
from tests.test_executions import ExecutionTests, Runs
from tools.check import PATHS_FILE_ENV_VAR
from tools.check.stack_check import user_config


class TestUserConfig(ExecutionTests):
    """The user's config (label "user" in tests/conftest.py's CONFIGS, set by `make check`)."""

    config_label = "user"

    @pytest.fixture(scope="class")
    @classmethod
    def machines(cls, stacks: dict[str, Any]) -> list[Machine]:  # noqa: F811 - the fixture above
        return load_machines(user_config(), stacks_of(stacks, cls.config_label))

    @pytest.fixture(scope="class")
    @classmethod
    def expected_machines(cls) -> int:
        """One state machine per enabled pipeline of each environment."""
        return sum(len(env.pipelines) for env in user_config().environments.values())

    def test_paths_are_recorded_for_the_summary(self, results: list[Runs]) -> None:
        paths = {f"{r.machine.environment}/{r.machine.pipeline.name}": len(r.runs) for r in results}
        target = os.environ.get(PATHS_FILE_ENV_VAR)
        if target:  # first: the summary shows the counts whether or not this test passes
            Path(target).write_text(json.dumps(paths))
        assert all(count > 0 for count in paths.values())
