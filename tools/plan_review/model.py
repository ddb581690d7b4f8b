"""Reading `terraform show -json` plans: resource changes, their stack, pipeline and guard status.

Follows Terraform's documented JSON output format (format_version 1.x): `resource_changes[]` with
`change.actions`, `before`/`after`, `after_unknown`, `before_sensitive`/`after_sensitive` and
`replace_paths`. Unknown values are absent from `after` and marked `true` in `after_unknown`;
sensitive values are present in the JSON but marked in the `*_sensitive` masks, and are never
printed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from modules.stack_names import PIPELINE_SCOPE_PREFIX

ACTIONS = ("create", "update", "replace", "delete")

# Deleting or replacing one of these loses data, or the protection of data (the review lists them
# first and fails unless the environment sets allow_destroy).
GUARDED_TYPES: dict[str, str] = {
    "aws_s3_bucket": "bucket: its objects (and every version) go with it",
    "aws_s3_bucket_versioning": "versioning: earlier object versions stop protecting data",
    "aws_s3_bucket_object_lock_configuration": "object lock: retention stops protecting data",
    "aws_kms_key": "KMS key: everything encrypted with it becomes unreadable after the window",
    "aws_cloudwatch_log_group": "log group: its logs are deleted",
    "aws_dynamodb_table": "DynamoDB table: its items are deleted",
    "aws_sqs_queue": "queue: messages waiting in it (dead letters) are lost",
}

# cdktf names a resource after its construct path, segments joined by "_": the pipeline's
# resources live under "pipeline-<name>/..." in whichever stack holds them.
_PIPELINE_IN_NAME = re.compile(rf"^{PIPELINE_SCOPE_PREFIX}([a-z0-9]+(?:-[a-z0-9]+)*)_")


class PlanError(Exception):
    """The input is not a plan this tool can read (one line)."""


@dataclass(frozen=True)
class Change:
    address: str
    type: str
    name: str
    action: (
        str  # create | update | replace | delete | no-op | other actions as Terraform names them
    )
    before: Any
    after: Any
    after_unknown: Any
    before_sensitive: Any
    after_sensitive: Any
    replace_paths: list[list[Any]]
    pipeline: str | None

    @property
    def guard_reason(self) -> str | None:
        if self.action in ("delete", "replace"):
            return GUARDED_TYPES.get(self.type)
        return None


@dataclass
class StackPlan:
    stack: str
    path: Path
    changes: list[Change] = field(default_factory=list)
    environment: str | None = None
    allow_destroy: bool = False
    kind: str = "not in the config"
    own_pipeline: str | None = None

    def counts(self, pipeline: str | None, *, whole_stack: bool = False) -> dict[str, int]:
        chosen = [c for c in self.changes if whole_stack or c.pipeline == pipeline]
        return {action: sum(1 for c in chosen if c.action == action) for action in ACTIONS}

    @property
    def changed(self) -> bool:
        return any(c.action != "no-op" for c in self.changes)

    @property
    def pipelines(self) -> list[str | None]:
        names = {c.pipeline for c in self.changes if c.action != "no-op"}
        return sorted(names, key=lambda n: (n is not None, n or ""))


def _action(actions: list[str]) -> str:
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    return "-".join(actions) if len(actions) != 1 else actions[0]


def stack_name_of(path: Path) -> str:
    """`plans/mlbatch-prod.json` (as `make plan` writes it) is the plan of stack mlbatch-prod."""
    name = path.name
    for suffix in (".json", ".plan", ".tfplan"):
        name = name.removesuffix(suffix)
    return name


def load_plan(path: Path, stack: str | None = None) -> StackPlan:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise PlanError(f"{path}: cannot read it ({reason})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        raise PlanError(f"{path}: not JSON (line {error.lineno}: {error.msg})") from None
    if not isinstance(doc, dict) or "format_version" not in doc:
        raise PlanError(f"{path}: not `terraform show -json` output (no format_version)")
    if not str(doc["format_version"]).startswith("1."):
        raise PlanError(f"{path}: plan format {doc['format_version']} is not supported (1.x is)")
    if "planned_values" not in doc and "resource_changes" not in doc:
        raise PlanError(f"{path}: this is a state, not a plan (run `terraform show -json <plan>`)")
    raw_changes = doc.get("resource_changes") or []
    if not isinstance(raw_changes, list):
        raise PlanError(f"{path}: resource_changes is not a list")

    plan = StackPlan(stack=stack or stack_name_of(path), path=path)
    for index, raw in enumerate(raw_changes):
        try:
            if raw.get("mode", "managed") != "managed":
                continue  # data sources are read, not changed
            change = raw["change"]
            name = str(raw["name"])
            match = _PIPELINE_IN_NAME.match(name)
            plan.changes.append(
                Change(
                    address=str(raw["address"]),
                    type=str(raw["type"]),
                    name=name,
                    action=_action(list(change["actions"])),
                    before=change.get("before"),
                    after=change.get("after"),
                    after_unknown=change.get("after_unknown") or {},
                    before_sensitive=change.get("before_sensitive") or {},
                    after_sensitive=change.get("after_sensitive") or {},
                    replace_paths=list(change.get("replace_paths") or []),
                    pipeline=match.group(1) if match else None,
                )
            )
        except (AttributeError, KeyError, TypeError) as error:
            problem = f"no {error}" if isinstance(error, KeyError) else str(error)
            raise PlanError(f"{path}: resource_changes[{index}] is malformed ({problem})") from None
    return plan


# What a stack is, for the review's labels (the app's stack kinds, see modules/stacks/).
BASE, ENVIRONMENT, PIPELINE, DASHBOARD, BOOTSTRAP, FOREIGN = (
    "base",
    "environment (single stack)",
    "pipeline",
    "dashboard",
    "state bootstrap",
    "not in the config",
)


@dataclass(frozen=True)
class StackRole:
    kind: str
    environment: str | None = None
    allow_destroy: bool = False
    pipeline: str | None = None  # a pipeline stack's own pipeline


def attach_role(plan: StackPlan, roles: dict[str, StackRole], bootstrap_prefix: str) -> None:
    """The role of a plan's stack, by its name among the stacks the config synthesizes; the state
    bootstrap (and any foreign stack) has no environment, so the guard always applies to it."""
    role = roles.get(plan.stack)
    if role is None:
        is_bootstrap = plan.stack == bootstrap_prefix or plan.stack.startswith(
            f"{bootstrap_prefix}-"
        )
        role = StackRole(BOOTSTRAP if is_bootstrap else FOREIGN)
    plan.kind = role.kind
    plan.environment = role.environment
    plan.allow_destroy = role.allow_destroy
    plan.own_pipeline = role.pipeline
    # A stack of its own per pipeline: resources outside a pipeline-<name> path are still its.
    if role.pipeline is not None:
        plan.changes = [
            c if c.pipeline else replace(c, pipeline=role.pipeline) for c in plan.changes
        ]
