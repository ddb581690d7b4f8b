"""The per-pipeline layout wires each pipeline to the same base resources as the one-stack
layout: every ``local.base.*`` value of a pipeline stack is resolved through the base stack's
remote-state outputs back to the base stack's resource, and then every resource of the split
layout must equal, value by value, the resource at the same address in the one-stack layout.
(A pipeline stack reading the wrong base output, e.g. the models bucket wired to the output
bucket, changes no address and synthesizes cleanly: only this comparison sees it.)"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from modules.config import ProjectConfig
from tests.conftest import stacks_of

_BASE_LOCAL = re.compile(r"\$\{local\.base\.([a-z_]+)\}")
_REMOTE = re.compile(
    r"^\$\{data\.terraform_remote_state\.cross-stack-reference-input-(?P<stack>[\w-]+)"
    r"\.outputs\.(?P<output>[\w-]+)\}$"
)


def resolve_base_references(
    pipeline_stack: dict[str, Any], stacks: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The pipeline stack's resources with each ``${local.base.KEY}`` replaced by the base stack
    resource attribute it stands for (``${aws_s3_bucket.<id>.bucket}``)."""
    resolved: dict[str, str] = {}
    for key, value in pipeline_stack["locals"]["base"].items():
        remote = _REMOTE.match(value)
        assert remote is not None, (key, value)
        output = stacks[remote["stack"]]["output"][remote["output"]]["value"]
        assert re.fullmatch(r"\$\{aws_[a-z0-9_]+\.[\w-]+\.[a-z_]+\}", output), (key, output)
        resolved[key] = output
    text = json.dumps(pipeline_stack["resource"])
    text = _BASE_LOCAL.sub(lambda m: resolved[m[1]], text)
    assert "local.base" not in text and "terraform_remote_state" not in text
    resources: dict[str, Any] = json.loads(text)
    return resources


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_pipeline_stacks_use_the_same_base_resources_as_the_single_layout(
    env: str,
    stacks: dict[str, dict[str, Any]],
    default_config: ProjectConfig,
    synth_env: Callable[[ProjectConfig, str], str],
) -> None:
    single = json.loads(synth_env(default_config, env))["resource"]
    shipped = stacks_of(stacks, "example")
    base = f"mlbatch-{env}"
    pipelines = [p.name for p in default_config.environments[env].pipelines]
    compared: set[str] = set()
    for stack in [base, *(f"{base}-{p}" for p in pipelines)]:
        document = shipped[stack]
        resources = (
            document["resource"] if stack == base else resolve_base_references(document, shipped)
        )
        for resource_type, by_id in resources.items():
            for logical_id, resource in by_id.items():
                where = f"{stack}: {resource_type}.{logical_id}"
                ours = {k: v for k, v in resource.items() if k != "//"}  # cdktf's construct path
                assert ours == single[resource_type][logical_id], where
                compared.add(f"{resource_type}.{logical_id}")
    # Every resource but the dashboard's (which names ARNs instead of referencing them).
    dashboard = shipped[f"{base}-dashboard"]["resource"]
    rest = {f"{t}.{i}" for t, by_id in dashboard.items() for i in by_id}
    assert compared | rest == {f"{t}.{i}" for t, by_id in single.items() for i in by_id}
