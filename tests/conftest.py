"""Shared fixtures. The AWS provider import is paid once per session: synthesized stacks are
session-scoped, and layer tests synthesize one small stack per test module."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from imports.engine import ENGINES
from imports.runtime import configure_jsii_runtime
from modules.config import ProjectConfig, load_config, parse_config
from tests.support import team_config_guard
from tests.support.jsonata import Jsonata
from tests.support.sfn_engine import Engine
from tools.check import CHECK_CONFIG_ENV_VAR, CHECK_OUTDIR_ENV_VAR
from tools.generated import EXAMPLE_CONFIG
from tools.synth import read_stacks, synthesize

configure_jsii_runtime()  # before the engine is imported anywhere in the session


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(
    collector: pytest.Collector, name: str, obj: object
) -> list[Any] | None:
    """The engine's `Testing`, imported into a test module, is a class named Test* but no test
    class. Refused here, before pytest's own collector warns about it: that warning's location
    lookup parses the engine's whole `__init__` (about a second per module that imports it)."""
    engine_module = getattr(obj, "__module__", "").split(".")[0]
    if name == "Testing" and engine_module in {engine.core for engine in ENGINES.values()}:
        return []
    return None


def pytest_configure(config: pytest.Config) -> None:
    """The product's tests read no team config (tests/support/team_config_guard.py): in every
    session but `make check`'s, whose gate tests run on the team's config on purpose."""
    if not os.environ.get(CHECK_CONFIG_ENV_VAR):
        team_config_guard.install()


@pytest.fixture(autouse=True)
def _reads_no_team_config() -> Iterator[None]:
    """Fails the test that opened the team's config, even where its code swallowed the refusal."""
    yield
    team_config_guard.check_no_team_config_read()


REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# The product's tests run on these fixtures only (EXAMPLE_CONFIG is tests/fixtures/example.yaml,
# which the committed documents are generated from too); the user's config is `make check`'s.
CONFIGS = {
    "example": EXAMPLE_CONFIG,
    "all-features": FIXTURES / "all-features.yaml",
}
# `make check` (tools/check) runs the product's gate tests on one other config, the user's: then
# the session's synthesized stacks are that config's alone, under the label "user".
if os.environ.get(CHECK_CONFIG_ENV_VAR):
    CONFIGS = {"user": Path(os.environ[CHECK_CONFIG_ENV_VAR])}


@pytest.fixture(scope="session")
def stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every stack of both configs, synthesized through the app: {"<config>/<stack>": json}."""
    if os.environ.get(CHECK_OUTDIR_ENV_VAR):  # make check synthesized the user's config already
        return {
            f"user/{n}": d for n, d in read_stacks(Path(os.environ[CHECK_OUTDIR_ENV_VAR])).items()
        }
    return {
        f"{label}/{name}": document
        for label, path in CONFIGS.items()
        for name, document in synthesize(load_config(path), tmp_path_factory.mktemp(label)).items()
    }


def stacks_of(stacks: dict[str, dict[str, Any]], label: str) -> dict[str, dict[str, Any]]:
    """One config's stacks from the `stacks` fixture, by stack name (the app's own names)."""
    return {
        name.removeprefix(f"{label}/"): document
        for name, document in stacks.items()
        if name.startswith(f"{label}/")
    }


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    """The Step Functions engine (tests/support/sfn_engine.py), started once per worker: starting
    it and its first run (the JVM for JSONata) take seconds; each machine is created by
    definition."""
    engine = Engine()
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def jsonata() -> Iterator[Jsonata]:
    """The JSONata library (npm), for the tests that evaluate a definition's expressions."""
    evaluator = Jsonata()
    yield evaluator
    evaluator.close()


@pytest.fixture(scope="session")
def default_config() -> ProjectConfig:
    """The example config (tests/fixtures/example.yaml, the config the project first shipped)."""
    return load_config(EXAMPLE_CONFIG)


@pytest.fixture(scope="session")
def full_config() -> ProjectConfig:
    """Every optional feature switched on."""
    return load_config(FIXTURES / "all-features.yaml")


def _synth_environment(config: ProjectConfig, env: str) -> str:
    from imports.core import Testing
    from modules.stacks.environment import EnvironmentStack

    return Testing.synth(EnvironmentStack(Testing.app(), config.project, config.environments[env]))


@pytest.fixture(scope="session")
def synth_env() -> Callable[[ProjectConfig, str], str]:
    """Synthesized JSON of one environment stack, cached for the session."""
    cache: dict[tuple[int, str], str] = {}

    def synth(config: ProjectConfig, env: str) -> str:
        key = (id(config), env)
        if key not in cache:
            cache[key] = _synth_environment(config, env)
        return cache[key]

    return synth


@pytest.fixture(scope="session")
def dev_json(default_config: ProjectConfig, synth_env: Callable[[ProjectConfig, str], str]) -> str:
    return synth_env(default_config, "dev")


@pytest.fixture(scope="session")
def prod_json(default_config: ProjectConfig, synth_env: Callable[[ProjectConfig, str], str]) -> str:
    return synth_env(default_config, "prod")


@pytest.fixture
def make_config() -> Callable[..., ProjectConfig]:
    """Build a config from the example file with edits applied to the raw document."""
    import yaml

    base = yaml.safe_load(EXAMPLE_CONFIG.read_text())

    def build(edit: Callable[[dict[str, Any]], None] | None = None) -> ProjectConfig:
        raw = json.loads(json.dumps(base))
        if edit is not None:
            edit(raw)
        return parse_config(raw, "test.yaml")

    return build
