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


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_default_config_environment(
    env: str,
    default_config: ProjectConfig,
    synth_env: Callable[[ProjectConfig, str], str],
    snapshot_json: SnapshotAssertion,
) -> None:
    document: dict[str, Any] = json.loads(synth_env(default_config, env))
    assert document == snapshot_json


def test_all_features_environment(
    full_config: ProjectConfig,
    synth_env: Callable[[ProjectConfig, str], str],
    snapshot_json: SnapshotAssertion,
) -> None:
    assert json.loads(synth_env(full_config, "stage")) == snapshot_json
