"""`make plan-review` at scale: one pipeline's change among 50 stacks fits one screen (the
unchanged stacks in one line), and a review longer than a GitHub comment holds is cut at a line,
with a note, the data guard first so it is never the part cut."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.plan_review import (
    Review,
    config_dict,
    env_plans,
    example_raw_config,
    reviewer,
    row,
    synthesizer,
)


@pytest.fixture
def review(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Review]:
    return reviewer(tmp_path, capsys)


@pytest.fixture(scope="module")
def raw_config() -> dict[str, Any]:
    return example_raw_config()


@pytest.fixture(scope="module")
def synth(
    tmp_path_factory: pytest.TempPathFactory, raw_config: dict[str, Any]
) -> Callable[..., dict[str, dict[str, Any]]]:
    return synthesizer(tmp_path_factory, raw_config)


MANY = 48  # pipelines: with dev's base and dashboard stacks, 50 stacks


def _many_pipelines(raw: dict[str, Any]) -> None:
    churn = raw["pipelines"][0]
    raw["pipelines"] += [
        {
            "name": f"p{index:02}",
            "model": {"image": churn["model"]["image"], "artifact_key": f"p{index:02}/m.tar.gz"},
            "schedule": {"expression": "rate(1 day)"},
            "transform": {"instance_type": "ml.m5.large", "content_type": "text/csv"},
        }
        for index in range(MANY - len(raw["pipelines"]))
    ]


@pytest.fixture(scope="module")
def many(
    synth: Callable[..., dict[str, dict[str, Any]]],
    raw_config: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, dict[str, Any]], Path]:
    """dev with 48 pipelines, one stack each (50 stacks), and that config as a file."""
    config = tmp_path_factory.mktemp("many") / "many.yaml"
    config.write_text(yaml.safe_dump(config_dict(raw_config, _many_pipelines)))
    return synth(_many_pipelines, ["dev"]), config


def test_one_pipeline_change_among_50_stacks_fits_one_screen(
    synth: Callable[..., dict[str, dict[str, Any]]],
    many: tuple[dict[str, dict[str, Any]], Path],
    review: Callable[..., Review],
) -> None:
    before, config = many

    def edit(raw: dict[str, Any]) -> None:
        _many_pipelines(raw)
        raw["environments"]["dev"]["pipelines"]["churn"]["transform"]["instance_count"] = 2

    plans = env_plans(before, synth(edit, ["dev"]), "dev")
    assert len(plans) == 50
    result = review(plans, "--config", str(config))
    assert result.status == 0
    lines = result.out.splitlines()
    assert len(lines) <= 20, result.out
    assert "**50 stacks: 0 to create, 1 to update, 0 to replace, 0 to delete.**" in lines
    assert result.out.count("\n| `") == 1  # one table row: the changed pipeline's stack
    assert row("churn", 0, 1, 0, 0).search(result.out)
    assert result.out.count("### Stack") == 1
    # every other stack in one line, by kind, the 47 pipeline stacks elided after five names
    unchanged = next(line for line in lines if "unchanged:" in line)
    assert unchanged.startswith(
        "49 stacks unchanged: base `mlbatch-dev`; pipeline `mlbatch-dev-ltv`, `mlbatch-dev-p00`, "
    )
    assert unchanged.endswith(" and 42 more; dashboard `mlbatch-dev-dashboard`.")
    assert "(environment" not in result.out


def test_review_fits_a_github_comment(
    many: tuple[dict[str, dict[str, Any]], Path], review: Callable[..., Review]
) -> None:
    """Creating 48 pipelines from nothing is a long review: it is cut at a line, with a note,
    to what a GitHub comment holds; the data guard comes first, so it is never the part cut."""
    stacks, config = many
    plans = env_plans({}, stacks, "dev")
    full = review(plans, "--config", str(config), "--max-chars", "0")
    assert len(full.out) > 65_536
    result = review(plans, "--config", str(config))
    assert result.status == full.status == 0
    assert len(result.out) <= 65_536
    body, note = result.out.rsplit("\n\n", 1)
    assert full.out.startswith(body)
    assert re.fullmatch(
        r"\*\*Review truncated\*\* at [0-9,]+ of [0-9,]+ characters \(a GitHub comment holds "
        r"65,536\): run `python -m tools.plan_review` on the plans for the rest\.\n",
        note,
    ), note
    assert f"of {len(full.out):,} characters" in note
