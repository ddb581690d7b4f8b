"""The execution tests of tests/test_executions.py (ExecutionTests) on
tests/fixtures/all-features.yaml (every optional feature on), in a module of its own so that
pytest-xdist (`--dist loadfile`) runs it on the other worker, beside the example config's."""

from __future__ import annotations

from tests.test_executions import ExecutionTests


class TestAllFeaturesConfig(ExecutionTests):
    """The all-features fixture (tests/fixtures/all-features.yaml)."""

    config_label = "all-features"
    machine_count = 4
    features = frozenset(
        {
            "trigger",
            "registry",
            "delivery",
            "allow_missing_outputs",
            "fallback_instance_types",
            "table",
            "shards",
        }
    )
