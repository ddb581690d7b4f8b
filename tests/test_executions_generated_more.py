"""The second half of tests/test_executions_generated.py's generated configs (a module of its own so
that the other pytest-xdist worker runs it)."""

from __future__ import annotations

from tests.test_executions_generated import COUNT, GeneratedConfigTests, generated_config


class TestMoreGeneratedConfigs(GeneratedConfigTests):
    config = generated_config(range(1, COUNT, 2))
