"""Structural invariants of any config's synthesized stacks: what must hold whatever the config.

Each function takes a config and its stacks (``tools.synth.synthesize``: stack name -> Terraform
JSON) and returns the problems it found, one sentence each (an empty list when the invariant
holds), so that the fixtures' tests, the generated-config tests and `make check`'s gate tests
share one definition of each:

- ``name_problems``: every name ``Names`` builds fits its AWS request member (botocore's limits);
- ``partition_problems``: every literal ARN is in the partition of its stack's region;
- ``iam_problems``: no wildcard actions; ``Resource: "*"`` only for the reasoned unscoped actions;
- ``reference_problems``: every Terraform reference resolves within its stack, and every
  cross-stack reference names an output its producer stack has;
- ``backend_problems``: one backend per stack, and no two stacks share a state location;
- ``freshness_problems``: a freshness alarm's window covers the longest time two successful
  runs can be apart, so it never fires while every run succeeds.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator
from typing import Any

from modules.config import ProjectConfig, check_name, partition_of
from modules.iam import UNSCOPED_ACTIONS
from modules.naming import Names
from modules.schedule_window import interval_hours

Stacks = dict[str, dict[str, Any]]
POLICY_ATTRIBUTES = ("policy", "assume_role_policy")
_ARN = re.compile(r"arn:([^:\"$]*):")
_REFERENCE = re.compile(r"\$\{([^}]*)\}")
# A reference's head: a resource (type.id), a data source (data.type.id), a local or a variable.
_ADDRESS = re.compile(
    r"^(data\.[a-z0-9_]+\.[A-Za-z0-9_-]+|local\.[A-Za-z0-9_]+|var\.[A-Za-z0-9_]+|[a-z0-9_]+\.[A-Za-z0-9_-]+)"
)


def name_problems(config: ProjectConfig) -> list[str]:
    problems = []
    for env in config.environments.values():
        names = Names(config.project, env.name)
        limits = names.limits(env.account_id or "0" * 12, env.region)
        for pipeline in env.pipelines:
            limits += names.of_pipeline(pipeline.name).limits()
        for limit in limits:
            try:
                check_name(limit)
            except ValueError as error:
                problems.append(f"{env.name}: {error}")
    return problems


def _region(document: dict[str, Any]) -> str:
    [provider] = document["provider"]["aws"]
    region: str = provider["region"]
    return region


def partition_problems(stacks: Stacks) -> list[str]:
    problems = []
    for name, document in stacks.items():
        expected = partition_of(_region(document))
        text = json.dumps(document)
        found = sorted({m for m in _ARN.findall(text) if m != expected})
        if found:
            problems.append(f"{name}: ARNs in {', '.join(found)}, not its partition {expected}")
    return problems


def policy_documents(stacks: Stacks) -> list[tuple[str, str, dict[str, Any]]]:
    """(where, resource type, document) for every IAM document the stacks hold."""
    found = []
    for stack, document in stacks.items():
        for resource_type, resources in document.get("resource", {}).items():
            for logical_id, resource in resources.items():
                for attribute in POLICY_ATTRIBUTES:
                    if attribute in resource:
                        where = f"{stack}:{resource_type}.{logical_id}.{attribute}"
                        found.append((where, resource_type, json.loads(resource[attribute])))
    return found


def iam_problems(stacks: Stacks) -> list[str]:
    problems = []
    for where, resource_type, document in policy_documents(stacks):
        for stmt in document["Statement"]:
            if stmt["Effect"] != "Allow":
                continue
            actions = [stmt["Action"]] if isinstance(stmt["Action"], str) else stmt["Action"]
            if any("*" in a for a in actions):
                problems.append(f"{where} {stmt.get('Sid')}: a wildcard action")
            # In a key policy, Resource "*" means the key itself.
            if stmt.get("Resource") == "*" and resource_type != "aws_kms_key":
                unscoped = sorted(set(actions) - set(UNSCOPED_ACTIONS))
                if unscoped:
                    problems.append(f"{where} {stmt.get('Sid')}: {unscoped} on Resource '*'")
    return problems


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def _backend(document: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    [(kind, settings)] = document["terraform"]["backend"].items()
    return kind, settings


def _location(stack: str, kind: str, settings: dict[str, Any]) -> tuple[str, ...]:
    """Where a backend keeps the state: an S3 object, or a local file (its path is relative to
    the stack's directory, cdktf.out/stacks/<stack>/)."""
    if kind == "s3":
        return (kind, settings["bucket"], settings["key"])
    return (kind, posixpath.normpath(f"stacks/{stack}/{settings.get('path', 'terraform.tfstate')}"))


def reference_problems(stacks: Stacks) -> list[str]:
    """References within a stack name what it declares; remote state names a stack's backend and
    an output that stack has."""
    by_location = {
        _location(name, *_backend(document)): name
        for name, document in stacks.items()
        if len(document.get("terraform", {}).get("backend", {})) == 1
    }
    problems = []
    for name, document in stacks.items():
        declared = {
            f"{t}.{i}" for t, items in document.get("resource", {}).items() for i in items
        } | {f"data.{t}.{i}" for t, items in document.get("data", {}).items() for i in items}
        declared |= {f"local.{k}" for k in document.get("locals", {})}
        declared |= {f"var.{k}" for k in document.get("variable", {})}
        declared.add("terraform.workspace")
        for text in _strings(document):
            for reference in _REFERENCE.findall(text):
                head = _ADDRESS.match(reference)
                if head is None or head[1] not in declared:
                    problems.append(f"{name}: ${{{reference}}} names nothing the stack declares")
        for remote_id, remote in document.get("data", {}).get("terraform_remote_state", {}).items():
            where = _location(name, remote["backend"], remote["config"])
            producer = by_location.get(where)
            if producer is None:
                problems.append(f"{name}: remote state {remote_id} is no stack's backend")
                continue
            outputs = stacks[producer].get("output", {})
            for text in _strings(document):
                for key in re.findall(
                    rf"data\.terraform_remote_state\.{re.escape(remote_id)}\.outputs\.([A-Za-z0-9_-]+)",
                    text,
                ):
                    if key not in outputs:
                        problems.append(f"{name}: {producer} has no output {key}")
    return problems


def backend_problems(stacks: Stacks) -> list[str]:
    problems, seen = [], {}
    for name, document in stacks.items():
        backends = document.get("terraform", {}).get("backend", {})
        if len(backends) != 1:
            problems.append(f"{name}: {len(backends)} backends")
            continue
        location = _location(name, *_backend(document))
        if location in seen:
            problems.append(f"{name} and {seen[location]} share the state {location}")
        seen[location] = name
    return problems


def freshness_problems(config: ProjectConfig, stacks: Stacks) -> list[str]:
    """Two completions can be the schedule's longest gap, plus a start as late as the flexible
    window, plus a run as long as its timeout apart (an early, fast run, then a late, slow one):
    every freshness alarm must wait at least that long."""
    alarms = {
        alarm["alarm_name"]: alarm
        for document in stacks.values()
        for alarm in document.get("resource", {}).get("aws_cloudwatch_metric_alarm", {}).values()
    }
    problems = []
    for env in config.environments.values():
        names = Names(config.project, env.name)
        for pipeline in env.pipelines:
            alarm_name = names.of_pipeline(pipeline.name).alarms(freshness=True).freshness
            alarm = alarms.get(alarm_name or "")
            interval = interval_hours(pipeline.schedule.expression)
            if alarm is None or interval is None:
                continue
            apart = (
                interval * 3600
                + pipeline.schedule.flexible_window_minutes * 60
                + pipeline.transform.run_timeout_seconds
            )
            waits = alarm["period"] * alarm["evaluation_periods"]
            if waits < apart:
                problems.append(
                    f"{alarm_name} fires after {waits} s without a completed transform, but two "
                    f"successful runs can be {apart} s apart"
                )
    return problems


def all_problems(config: ProjectConfig, stacks: Stacks) -> list[str]:
    """Every invariant above, on one config and its stacks."""
    return [
        *name_problems(config),
        *partition_problems(stacks),
        *iam_problems(stacks),
        *reference_problems(stacks),
        *backend_problems(stacks),
        *freshness_problems(config, stacks),
    ]
