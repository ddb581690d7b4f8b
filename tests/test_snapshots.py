"""Snapshots of the full synthesized Terraform JSON of every stack.

A change to what the app generates shows up here as a reviewable diff. After an intended change:
    .venv/bin/python -m pytest tests/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from modules.config import ProjectConfig


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


SHIPPED_STACKS = [
    f"mlbatch-{env}{suffix}"
    for env in ("dev", "prod")
    for suffix in ("", "-churn", "-ltv", "-dashboard")
]


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_default_config_stack(
    stack: str, stacks: dict[str, dict[str, Any]], snapshot_json: SnapshotAssertion
) -> None:
    """Every stack of the shipped config, in its default per-pipeline layout."""
    assert stacks[f"shipped/{stack}"] == snapshot_json


def test_every_shipped_environment_stack_has_a_snapshot(stacks: dict[str, dict[str, Any]]) -> None:
    shipped = {n.removeprefix("shipped/") for n in stacks if n.startswith("shipped/")}
    assert shipped - {"mlbatch-state"} == set(SHIPPED_STACKS)


def test_all_features_environment(
    full_config: ProjectConfig,
    synth_env: Callable[[ProjectConfig, str], str],
    snapshot_json: SnapshotAssertion,
) -> None:
    """The one-stack layout (all-features.yaml chooses it)."""
    assert json.loads(synth_env(full_config, "stage")) == snapshot_json
