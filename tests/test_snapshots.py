"""Snapshots of the full synthesized Terraform JSON of every stack.

A change to what the app generates shows up here as a reviewable diff. After an intended change:
    .venv/bin/python -m pytest tests/test_snapshots.py --snapshot-update

Attributes that hold a JSON document as a string (state machine definitions, IAM and resource
policies, dashboard bodies, event patterns, ...) are stored decoded, under ``<attribute> (JSON)``,
so that the diff names the state or statement that changed instead of one changed long line.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from modules.config import ProjectConfig


def readable(value: Any) -> Any:
    """``value`` with every string that holds a JSON object or array decoded, recursively.

    A decoded document keeps its own key order (syrupy sorts plain dicts, not OrderedDicts), so
    a definition's states read in the order the definition lists them."""
    if isinstance(value, list):
        return [readable(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = type(value)()
    for key, item in value.items():
        document = _json_document(item)
        if document is None:
            out[key] = readable(item)
        else:
            out[f"{key} (JSON)"] = readable(document)
    return out


def _json_document(value: Any) -> Any:
    if not isinstance(value, str) or value[:1] not in ("{", "["):
        return None
    try:
        document = json.loads(value, object_pairs_hook=OrderedDict)
    except ValueError:
        return None
    return document if isinstance(document, (dict, list)) else None


@pytest.fixture
def snapshot_json(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(JSONSnapshotExtension)


EXAMPLE_STACKS = [
    f"mlbatch-{env}{suffix}"
    for env in ("dev", "prod")
    for suffix in ("", "-churn", "-ltv", "-dashboard")
] + ["mlbatch-state-123456789012-eu-west-1"]


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_default_config_stack(
    stack: str, stacks: dict[str, dict[str, Any]], snapshot_json: SnapshotAssertion
) -> None:
    """Every stack of the example config, tests/fixtures/example.yaml (default per-pipeline
    layout, and the state bootstrap)."""
    assert readable(stacks[f"example/{stack}"]) == snapshot_json


def test_every_example_environment_stack_has_a_snapshot(stacks: dict[str, dict[str, Any]]) -> None:
    example = {n.removeprefix("example/") for n in stacks if n.startswith("example/")}
    assert example == set(EXAMPLE_STACKS)


def test_all_features_environment(
    full_config: ProjectConfig,
    synth_env: Callable[[ProjectConfig, str], str],
    snapshot_json: SnapshotAssertion,
) -> None:
    """The one-stack layout (all-features.yaml chooses it)."""
    assert readable(json.loads(synth_env(full_config, "stage"))) == snapshot_json
