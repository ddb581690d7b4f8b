"""A helper for the team's own checks in checks/: the synthesized stack of one pipeline, and a
resource matcher that says what is wrong when it fails.

    from tools.check.stack_check import assert_resource, pipeline_stack, user_config

    stack = pipeline_stack("prod", "fraud")  # Terraform JSON (a str), as cdktf.Testing takes
    assert_resource(stack, "aws_scheduler_schedule", {"schedule_expression": "cron(0 3 * * ? *)"})

``assert_resource`` is ``cdktf.Testing.to_have_resource_with_properties``; when no resource
matches, it fails naming the resource of that type that came closest and each property that
differs (expected, then found), instead of ``assert False``. The stacks are synthesized once per
process from the config ``make check`` checks ($MLBATCH_CHECK_CONFIG, else $PIPELINE_CONFIG,
else config/pipelines.yaml).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

from modules.config import ProjectConfig, load_config
from modules.stack_names import stack_holding_pipeline
from tools.check import CHECK_CONFIG_ENV_VAR, CHECK_OUTDIR_ENV_VAR
from tools.synth import read_stacks, synthesize


@functools.cache
def user_config() -> ProjectConfig:
    """The config being checked."""
    return load_config(os.environ.get(CHECK_CONFIG_ENV_VAR) or None)


@functools.cache
def _stacks() -> dict[str, str]:
    outdir = os.environ.get(CHECK_OUTDIR_ENV_VAR)  # make check synthesized it already
    found = read_stacks(Path(outdir)) if outdir else synthesize(user_config())
    return {name: json.dumps(document) for name, document in found.items()}


def pipeline_stack(environment: str, pipeline: str) -> str:
    """The Terraform JSON of the stack that holds ``pipeline`` in ``environment``: its own stack
    (per-pipeline layout) or the environment's one stack (single layout)."""
    config = user_config()
    env = config.environments[environment]
    if pipeline not in [p.name for p in env.pipelines]:
        raise AssertionError(f"{environment} has no (enabled) pipeline {pipeline!r}")
    return _stacks()[stack_holding_pipeline(config.project, env, pipeline)]


def resources(stack: str, resource_type: str) -> dict[str, dict[str, Any]]:
    """The resources of one type in a stack, by logical id."""
    found: dict[str, dict[str, Any]] = json.loads(stack).get("resource", {}).get(resource_type, {})
    return found


def differences(expected: Any, found: Any, path: str = "") -> list[str]:
    """Where ``found`` does not contain ``expected`` (mappings compared key by key, as cdktf's
    matcher does), one sentence per property."""
    if isinstance(expected, dict) and isinstance(found, dict):
        out: list[str] = []
        for key, value in expected.items():
            where = f"{path}.{key}" if path else key
            if key not in found:
                out.append(f"{where}: expected {value!r}, not set")
            else:
                out += differences(value, found[key], where)
        return out
    if isinstance(expected, list) and isinstance(found, list) and len(expected) == len(found):
        return [
            d
            for i, (e, f) in enumerate(zip(expected, found, strict=False))
            for d in differences(e, f, f"{path}[{i}]")
        ]
    return [] if expected == found else [f"{path}: expected {expected!r}, found {found!r}"]


def assert_resource(stack: str, resource_type: str, properties: dict[str, Any]) -> None:
    """Pass when a resource of ``resource_type`` has ``properties`` (cdktf's matcher); else fail
    with the closest resource and what differs."""
    from imports.core import Testing

    if Testing.to_have_resource_with_properties(stack, resource_type, properties):
        return
    candidates = resources(stack, resource_type)
    if not candidates:
        kinds = sorted(json.loads(stack).get("resource", {}))
        raise AssertionError(f"the stack has no {resource_type} (it has: {', '.join(kinds)})")
    diffs = {name: differences(properties, body) for name, body in candidates.items()}
    closest = min(diffs, key=lambda name: len(diffs[name]))
    raise AssertionError(
        f"no {resource_type} has {json.dumps(properties)}; the closest is "
        f"{resource_type}.{closest}, which differs in: " + "; ".join(diffs[closest])
    )
