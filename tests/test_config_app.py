"""The app on a config it cannot use: unreadable or missing files, exit 2 with one line and nothing
written, dates Scheduler refuses, an unknown environment, and validation before cdktf loads."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from imports.engine import ENGINES
from modules.config import (
    ConfigError,
    ProjectConfig,
    load_config,
)
from modules.naming import Names
from tests.conftest import EXAMPLE_CONFIG, REPO
from tests.support.config_edits import set_path
from tools.synth import read_stacks


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("project: [unclosed", r"c.yaml:2: not valid YAML \(column 1\)"),
        ("- a list", "top level must be a mapping"),
        ("", "top level must be a mapping"),
    ],
)
def test_unreadable_files(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        load_config(path)


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config("/nonexistent/config.yaml")


def run_app(tmp_path: Path, config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "main.py")],
        cwd=tmp_path,
        env={**os.environ, "PIPELINE_CONFIG": str(config), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_app_exits_2_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE_CONFIG.read_text().replace("ml.m5.2xlarge", "ml.huge"))
    result = run_app(tmp_path, bad)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    line = bad.read_text().splitlines().index("      instance_type: ml.huge") + 1
    assert result.stderr.startswith(
        f"config error: {bad}:{line}: pipelines[ltv].transform.instance_type"
    )
    assert not (tmp_path / "cdktf.out").exists()


def test_a_passed_start_date_is_left_out_and_said_once(tmp_path: Path) -> None:
    """Scheduler refuses a start date more than 5 minutes past on every update: an unchanged
    config whose start date has passed still synthesizes, without it, and says so once (the
    pipeline is in every environment, the line is one)."""
    config = tmp_path / "started.yaml"
    config.write_text(
        EXAMPLE_CONFIG.read_text().replace(
            "flexible_window_minutes: 15",
            "flexible_window_minutes: 15\n      start_date: 2025-06-01",
        )
    )
    result = run_app(tmp_path, config, CDKTF_OUTDIR=str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    notices = [line for line in result.stderr.splitlines() if line.startswith("config notice:")]
    line = config.read_text().splitlines().index("      start_date: 2025-06-01") + 1
    assert notices == [
        f"config notice: {config}:{line}: pipelines[churn].schedule.start_date: "
        "2025-06-01T00:00:00Z has passed: synthesized without it (it no longer holds runs back, "
        "and EventBridge Scheduler refuses a start date more than 5 minutes in the past); "
        "remove it from the config when convenient"
    ]
    parsed = load_config(config)
    schedules = [
        schedule
        for stack in read_stacks(tmp_path / "out").values()
        for schedule in stack.get("resource", {}).get("aws_scheduler_schedule", {}).values()
    ]
    churns = [
        (Names(parsed.project, name).of_pipeline("churn").schedule, pipeline)
        for name, env in parsed.environments.items()
        for pipeline in env.pipelines
        if pipeline.name == "churn"
    ]
    started = [s for s in schedules if s["name"] in {name for name, _ in churns}]
    assert len(started) == len(churns) > 1 and all("start_date" not in s for s in started)
    # Once started, a schedule is no longer "dated": its freshness alarm is back.
    assert all(pipeline.freshness_window_hours is not None for _, pipeline in churns)


def test_a_passed_end_date_is_refused(make_config: Callable[..., ProjectConfig]) -> None:
    with pytest.raises(ConfigError, match="end_date 2025-06-01T00:00:00Z has passed: the "):
        make_config(set_path("pipelines.0.schedule.end_date", "2025-06-01T00:00:00Z"))


def test_a_future_start_date_is_kept(make_config: Callable[..., ProjectConfig]) -> None:
    config = make_config(set_path("pipelines.0.schedule.start_date", "2099-01-01T00:00:00Z"))
    schedule = config.environments["prod"].pipelines[0].schedule
    assert schedule.pending_start_date is not None and not config.notices


def test_app_rejects_unknown_environment_selection(tmp_path: Path) -> None:
    result = run_app(tmp_path, EXAMPLE_CONFIG, PIPELINE_ENVIRONMENTS="staging")
    assert result.returncode == 2
    assert "no environment staging" in result.stderr
    assert not (tmp_path / "cdktf.out").exists()


def test_validation_runs_before_cdktf_or_the_provider_is_loaded() -> None:
    engines = [name for engine in ENGINES.values() for name in (engine.core, engine.provider)]
    probe = (
        "import sys; from modules.config import load_config; "
        f"load_config({str(EXAMPLE_CONFIG)!r}); "
        "loaded = [m for m in sys.modules if m.split('.')[0] in "
        f"{(*engines, 'jsii')!r}]; print(loaded)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# Fields whose values are not plain strings but reach Terraform JSON, with the check that covers
# them instead of the TfStr type.
