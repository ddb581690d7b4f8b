"""Any config the schema accepts, not only the fixtures: configs drawn by Hypothesis
(tests/support/config_strategy/) are accepted, and one mistake made in any of them is refused
in one readable line, fast.

How many: twice ``GENERATED_EXAMPLES`` (environment variable, default 100) through validation,
and ``GENERATED_EXAMPLES`` mutated ones; `make test-deep` raises it. Synth and the structural
invariants: tests/test_generated_synth.py; the engine: tests/test_executions_generated*.py.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from modules.config import ConfigError, ProjectConfig, load_config
from modules.config.aws_facts import KMS_PENDING_WINDOW_DAYS
from modules.config.schedule import FLEXIBLE_WINDOW, RETRY_ATTEMPTS
from tests.conftest import REPO
from tests.support.config_strategy import drawn, valid_configs

EXAMPLES = int(os.environ.get("GENERATED_EXAMPLES", "100"))
# Reproducible in CI and on every worker; a failure is shrunk to a small document.
VALIDATION = settings(
    max_examples=2 * EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def write(raw: Any, directory: Path) -> Path:
    path = directory / "generated.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def load(raw: dict[str, Any], directory: Path) -> ProjectConfig:
    """The document written as a YAML file and loaded the way the app loads it."""
    return load_config(write(raw, directory))


@VALIDATION
@given(raw=valid_configs())
def test_every_generated_config_is_accepted(
    tmp_path_factory: pytest.TempPathFactory, raw: Any
) -> None:
    config = load(raw, tmp_path_factory.mktemp("config"))
    assert config.project == raw["project"]
    assert set(config.environments) == set(raw["environments"])
    for name, env in config.environments.items():
        overrides = raw["environments"][name].get("pipelines", {})
        disabled = {p for p, o in overrides.items() if o.get("enabled") is False}
        assert [p.name for p in env.pipelines] == [
            p["name"] for p in raw["pipelines"] if p["name"] not in disabled
        ]


# --------------------------------------------------------------------------------------------
# One mistake in a valid config: (what is done, the field the error must name).


def _first_env(raw: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    name = next(iter(raw["environments"]))
    return name, raw["environments"][name]


def unknown_key(raw: dict[str, Any]) -> str:
    raw["pipelines"][0]["schedule"]["colour"] = "blue"
    return f"pipelines[{raw['pipelines'][0]['name']}].schedule.colour"


def out_of_bounds(raw: dict[str, Any]) -> str:
    raw["pipelines"][-1]["schedule"]["flexible_window_minutes"] = FLEXIBLE_WINDOW["max"] + 1
    return f"pipelines[{raw['pipelines'][-1]['name']}].schedule.flexible_window_minutes"


def retry_out_of_bounds(raw: dict[str, Any]) -> str:
    raw["pipelines"][0]["schedule"]["retry"] = {"max_attempts": RETRY_ATTEMPTS["max"] + 1}
    return f"pipelines[{raw['pipelines'][0]['name']}].schedule.retry.max_attempts"


def key_window_out_of_bounds(raw: dict[str, Any]) -> str:
    name, env = _first_env(raw)
    env["kms_deletion_window_days"] = KMS_PENDING_WINDOW_DAYS[1] + 1
    return f"environments.{name}.kms_deletion_window_days"


def wrong_region(raw: dict[str, Any]) -> str:
    name, env = _first_env(raw)
    env["region"] = "eu-nowhere-1"
    return f"environments.{name}.region"


def project_name_too_long(raw: dict[str, Any]) -> str:
    raw["project"] = "p" * 13
    return "project"


def duplicate_pipeline(raw: dict[str, Any]) -> str:
    raw["pipelines"].append(dict(raw["pipelines"][0]))
    return "pipelines"


MUTATIONS: list[Callable[[dict[str, Any]], str]] = [
    unknown_key,
    out_of_bounds,
    retry_out_of_bounds,
    key_window_out_of_bounds,
    wrong_region,
    project_name_too_long,
    duplicate_pipeline,
]


def refused(raw: dict[str, Any], directory: Path) -> list[str]:
    path = write(raw, directory)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    for line in error.value.lines:
        assert line.startswith(f"{path}:"), line
        assert "\n" not in line and "Traceback" not in line, line
    return error.value.lines


@settings(VALIDATION, max_examples=EXAMPLES)
@given(raw=valid_configs(), mutate=st.sampled_from(MUTATIONS))
def test_one_mistake_in_a_generated_config_is_one_line(
    tmp_path_factory: pytest.TempPathFactory,
    raw: dict[str, Any],
    mutate: Callable[[dict[str, Any]], str],
) -> None:
    field = mutate(raw)
    started = time.perf_counter()
    lines = refused(raw, tmp_path_factory.mktemp("mistake"))
    assert time.perf_counter() - started < 1.0
    assert len(lines) == 1, lines
    assert f": {field}" in lines[0], lines


@pytest.mark.parametrize("mutate", MUTATIONS, ids=lambda m: m.__name__)
def test_the_app_exits_2_on_one_mistake_and_writes_nothing(
    tmp_path: Path, mutate: Callable[[dict[str, Any]], str]
) -> None:
    [raw] = drawn(valid_configs(), 1)
    mutate(raw)
    config = write(raw, tmp_path)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = subprocess.run(
        [sys.executable, "-O", str(REPO / "main.py")],
        cwd=tmp_path,
        env={**os.environ, "PIPELINE_CONFIG": str(config)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The app's own CPU time: what it costs, whatever else the machine is doing meanwhile.
    assert (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime) < 1.0
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"config error: {config}:"), line
    assert not (tmp_path / "cdktf.out").exists()
