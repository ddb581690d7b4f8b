"""Every run path of generated configs' state machines on the Step Functions engine: the
execution tests of tests/test_executions.py (ExecutionTests, the same that `make check` runs on a
team's config) on configs drawn by tests/support/config_strategy/, not only on the fixtures.

``GENERATED_ENGINE_EXAMPLES`` configs (default 10; `make test-deep` raises it), each with up to
two pipelines in up to two environments: every scheduled, manual, marker, retry, skip and failure
path of each of their state machines, every request checked against botocore. The first half runs
here, the second in tests/test_executions_generated_more.py, so that pytest-xdist's two workers
share them (``--dist loadfile`` gives each module to one worker).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import pytest

from modules.config import ProjectConfig, parse_config
from tests.support.config_strategy import drawn, valid_configs
from tests.support.machines import Machine, load_machines
from tests.test_executions import ExecutionTests
from tools.synth import synthesize

COUNT = int(os.environ.get("GENERATED_ENGINE_EXAMPLES", "10"))
DOCUMENTS = drawn(valid_configs(max_pipelines=2, max_environments=2), COUNT)


def generated_config(indexes: Sequence[int]) -> Any:
    """The class fixture ``config``: one generated config per parameter, by its index."""

    @pytest.fixture(scope="class", params=list(indexes), ids=lambda i: f"config{i}")
    @classmethod
    def config(cls: type, request: pytest.FixtureRequest) -> ProjectConfig:
        return parse_config(DOCUMENTS[request.param], f"generated-{request.param}.yaml")

    return config


class GeneratedConfigTests(ExecutionTests):
    """ExecutionTests on generated configs: a subclass sets ``config`` (``generated_config``)."""

    config_label = "generated"

    @pytest.fixture(scope="class")
    @classmethod
    def expected_machines(cls, config: ProjectConfig) -> int:
        return sum(len(env.pipelines) for env in config.environments.values())

    @pytest.fixture(scope="class")
    @classmethod
    def machines(cls, config: ProjectConfig) -> list[Machine]:
        return load_machines(config, synthesize(config))


class TestGeneratedConfigs(GeneratedConfigTests):
    config = generated_config(range(0, COUNT, 2))
