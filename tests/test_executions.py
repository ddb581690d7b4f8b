"""Every run path of the example config's state machines (tests/fixtures/example.yaml), executed
on a Step Functions engine.

What a user would check after a real run: the states that ran, the final status and error, the
run's output and manifest, and each request sent to AWS (also checked against botocore's model).
tests/test_executions_all_features.py runs the same tests (ExecutionTests) on
tests/fixtures/all-features.yaml.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from modules.config import PipelineConfig, load_config
from tests.conftest import CONFIGS, stacks_of
from tests.execution_checks.capacity import CapacityChecks
from tests.execution_checks.delivery import DeliveryChecks, ReadyEventChecks
from tests.execution_checks.failures import FailureChecks
from tests.execution_checks.identity import ModelIdentityChecks
from tests.execution_checks.inputs import InputChecks
from tests.execution_checks.outcomes import OutcomeChecks
from tests.execution_checks.runs import (
    Runs,
    run_scenario,
)
from tests.execution_checks.shards import ShardChecks
from tests.execution_checks.table import TableChecks
from tests.support.executions import (
    coverage_gaps,
    fault_scenarios,
    mock_problems,
    named_scenarios,
    request_problems,
)
from tests.support.machines import Machine, load_machines
from tests.support.sfn_engine import Engine


class ExecutionTests(
    InputChecks,
    OutcomeChecks,
    FailureChecks,
    CapacityChecks,
    DeliveryChecks,
    ReadyEventChecks,
    TableChecks,
    ModelIdentityChecks,
    ShardChecks,
):
    """The execution tests, for one config. Not collected itself (its name does not start with
    "Test"): each subclass is, and names its config (``config_label``, a key of
    tests/conftest.py's CONFIGS) and how many state machines it has (``machine_count``); the
    ``machines`` and ``results`` fixtures below run that config once per class.

    Why subclasses and not one parametrized module: pytest-xdist's ``--dist loadfile`` gives each
    module to one worker, and a config's runs are the slowest part of the suite. One subclass per
    module (TestExampleConfig here, TestAllFeaturesConfig in
    tests/test_executions_all_features.py) lets the two workers run the two configs side by side;
    `make check` runs the same tests on the user's config (tools/check/gate_executions.py).
    """

    config_label: ClassVar[str]
    machine_count: ClassVar[int]
    # Features the config is known to have (a fixture's): a test of a feature the config lacks
    # fails for a fixture that should have it, and is skipped, saying so, for any other config.
    features: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def having(
        cls, results: list[Runs], feature: str, has: Callable[[PipelineConfig], bool]
    ) -> list[Runs]:
        found = [r for r in results if has(r.machine.pipeline)]
        if not found:
            assert feature not in cls.features, f"{cls.config_label} has no pipeline with {feature}"
            pytest.skip(f"no pipeline of this config has {feature} (nothing to run)")
        return found

    @pytest.fixture(scope="class")
    @classmethod
    def expected_machines(cls) -> int:
        """``machine_count`` (make check's gate counts the user's config's pipelines instead)."""
        return cls.machine_count

    @pytest.fixture(scope="class")
    @classmethod
    def machines(cls, stacks: dict[str, dict[str, Any]]) -> list[Machine]:
        config = load_config(CONFIGS[cls.config_label])
        return load_machines(config, stacks_of(stacks, cls.config_label))

    @pytest.fixture(scope="class")
    @classmethod
    def results(cls, engine: Engine, machines: list[Machine]) -> list[Runs]:
        """Every scenario of every machine, executed once for all the tests of the class."""
        found = []
        for machine in machines:
            named = [
                (s, run_scenario(engine, machine, s)) for s in named_scenarios(engine, machine)
            ]
            runs = {s.name: (s, run) for s, run in named}
            derived = {}
            for scenario, base in fault_scenarios(machine, named):
                runs[scenario.name] = (scenario, run_scenario(engine, machine, scenario))
                derived[scenario.name] = base
            found.append(Runs(machine, runs, derived))
        return found

    def test_every_state_machine_is_executed(
        self, results: list[Runs], engine: Engine, expected_machines: int
    ) -> None:
        assert len(results) == expected_machines
        assert engine.version == "localstack-core 2026.3.0"

    def test_every_request_matches_the_aws_api(
        self, results: list[Runs], expected_machines: int
    ) -> None:
        problems = [
            f"{r.machine.label} {name}: {problem}"
            for r in results
            for name, (_, run) in r.runs.items()
            for problem in request_problems(run)
        ]
        assert problems == []
        requests = sum(len(run.requests) for r in results for _, run in r.runs.values())
        assert requests > 10 * expected_machines or requests == expected_machines == 0

    def test_every_mocked_answer_has_the_shape_aws_returns(self, results: list[Runs]) -> None:
        problems = [
            f"{r.machine.label} {name}: {problem}"
            for r in results
            for name, (scenario, _) in r.runs.items()
            for problem in mock_problems(r.machine, scenario)
        ]
        assert problems == []

    def test_every_state_choice_branch_and_catch_is_executed(self, results: list[Runs]) -> None:
        gaps = [
            f"{r.machine.label}: {gap}"
            for r in results
            for gap in coverage_gaps(r.machine, [run for _, run in r.runs.values()])
        ]
        assert gaps == []


class TestExampleConfig(ExecutionTests):
    """The example config (tests/fixtures/example.yaml)."""

    config_label = "example"
    machine_count = 4
    features = frozenset({"trigger", "registry"})
