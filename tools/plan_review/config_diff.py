"""A plan-shaped diff of two synthesized stacks: what `make review` reviews (no AWS account, no
provider, no state), and what tests/test_plan_review_*.py review this project's resources with.

`terraform plan` needs the AWS provider, credentials and state. Instead a plan is computed from
two synthesized stacks (before/after, from two configs or two commits) and written in
Terraform's documented JSON output format (https://developer.hashicorp.com/terraform/internals/
json-format): the resources and values are the app's, only the provider's part is modelled:

- a value from state (`${aws_x.y.arn}`, `${data...}`) is a stand-in string `<aws_x.y.arn>`, the
  same on both sides; a reference to an attribute the config sets resolves to that value;
- a reference to a computed attribute of a resource being created or replaced is unknown
  (absent from `after`, `true` in `after_unknown`), and so is any string that contains one;
- a change to an attribute the AWS provider marks "forces new resource" (FORCE_NEW, from the
  provider's documentation, only for the types and attributes these stacks use) replaces the
  resource; that may make its dependents' values unknown, and so on until nothing changes.

The terraform_data tests prove the reader on real `terraform show -json` output; the plans built
here prove what it says about this project's resource types. What such a diff cannot see: drift
(changes made outside Terraform), values only AWS knows (ids, ARNs: stand-ins), provider defaults
and plan-time errors, and replacements forced by attributes not listed in FORCE_NEW.
"""

from __future__ import annotations

import re
from typing import Any

FORCE_NEW: dict[str, frozenset[str]] = {
    "aws_s3_bucket": frozenset({"bucket", "bucket_prefix"}),
    "aws_s3_bucket_versioning": frozenset({"bucket"}),
    "aws_s3_bucket_policy": frozenset({"bucket"}),
    "aws_s3_bucket_public_access_block": frozenset({"bucket"}),
    "aws_s3_bucket_ownership_controls": frozenset({"bucket"}),
    "aws_s3_bucket_server_side_encryption_configuration": frozenset({"bucket"}),
    "aws_s3_bucket_lifecycle_configuration": frozenset({"bucket"}),
    "aws_s3_bucket_logging": frozenset({"bucket"}),
    "aws_dynamodb_table": frozenset({"name"}),
    "aws_kms_alias": frozenset({"name"}),
    "aws_iam_role": frozenset({"name", "path"}),
    "aws_iam_role_policy": frozenset({"name", "role"}),
    "aws_sfn_state_machine": frozenset({"name"}),
    "aws_sqs_queue": frozenset({"name", "fifo_queue"}),
    "aws_sns_topic": frozenset({"name", "fifo_topic"}),
    "aws_cloudwatch_log_group": frozenset({"name"}),
    "aws_scheduler_schedule": frozenset({"name", "group_name"}),
    "aws_scheduler_schedule_group": frozenset({"name"}),
    "aws_sagemaker_model": frozenset(
        {
            "name",
            "execution_role_arn",
            "primary_container",
            "vpc_config",
            "enable_network_isolation",
        }
    ),
    "aws_cloudwatch_event_rule": frozenset({"name"}),
}
META_ARGUMENTS = {"//", "lifecycle", "depends_on", "provider", "count", "for_each"}
_EXPRESSION = re.compile(r"\$\{([^{}]*)\}")
_REFERENCE = re.compile(r"(?<![\w.])(data\.)?(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)")
_UNKNOWN = object()


def _resources(stack: dict[str, Any] | None) -> dict[str, tuple[str, str, dict[str, Any]]]:
    out = {}
    for rtype, by_name in ((stack or {}).get("resource") or {}).items():
        for name, body in by_name.items():
            attrs = {k: v for k, v in body.items() if k not in META_ARGUMENTS}
            out[f"{rtype}.{name}"] = (rtype, name, attrs)
    return out


class _Resolver:
    def __init__(self, resources: dict[str, tuple[str, str, dict[str, Any]]], fresh: set[str]):
        self.resources = resources
        self.fresh = fresh  # created or replaced: their computed attributes are unknown

    def reference(self, data: str | None, rtype: str, name: str, attribute: str) -> Any:
        address = f"{rtype}.{name}"
        if not data and address in self.resources:
            configured = self.resources[address][2].get(attribute)
            if isinstance(configured, str | int | bool):
                return self.value(configured)
            if address in self.fresh:
                return _UNKNOWN
        return f"<{data or ''}{address}.{attribute}>"

    def string(self, text: str) -> Any:
        unknown = False

        def expression(match: re.Match[str]) -> str:
            nonlocal unknown
            inner = match.group(1)

            def one(ref: re.Match[str]) -> str:
                nonlocal unknown
                value = self.reference(*ref.groups())
                if value is _UNKNOWN:
                    unknown = True
                    return ""
                return str(value)

            whole = _REFERENCE.fullmatch(inner.strip())
            if whole:
                return one(whole)
            return "<" + _REFERENCE.sub(one, inner) + ">"

        resolved = _EXPRESSION.sub(expression, text)
        return _UNKNOWN if unknown else resolved

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.string(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        return value


def _split_unknown(value: Any) -> tuple[Any, Any]:
    """(value with unknowns left out, after_unknown mask) as Terraform writes them."""
    if value is _UNKNOWN:
        return None, True
    if isinstance(value, dict):
        known, mask = {}, {}
        for key, item in value.items():
            item_value, item_mask = _split_unknown(item)
            if item_mask is True:
                mask[key] = True
            else:
                known[key] = item_value
                if item_mask:
                    mask[key] = item_mask
        return known, mask
    if isinstance(value, list):
        pairs = [_split_unknown(item) for item in value]
        return [p[0] for p in pairs], [p[1] if p[1] else False for p in pairs]
    return value, False


def _actions(
    old: dict[str, Any], new: dict[str, Any], old_values: dict[str, Any], replace: tuple[str, ...]
) -> tuple[dict[str, str], dict[str, Any], dict[str, list[str]]]:
    """Each address's action, its planned values and the attributes forcing its replacement.
    A replacement makes the values that refer to it unknown, which may force others: repeated
    until nothing changes."""
    actions = {a: "delete" for a in old.keys() - new.keys()}
    actions.update({a: "create" for a in new.keys() - old.keys()})
    new_values: dict[str, Any] = {}
    forcing: dict[str, list[str]] = {}
    changed_any = True
    while changed_any:
        fresh = {a for a, act in actions.items() if act in ("create", "replace")}
        planned = _Resolver(new, fresh)
        changed_any = False
        for address in new:
            new_values[address] = planned.value(new[address][2])
            if address not in old:
                continue
            before_values = old_values[address]
            differing = sorted(
                k
                for k in set(before_values) | set(new_values[address])
                if k != "id" and before_values.get(k) != new_values[address].get(k)
            )
            forced = [k for k in differing if k in FORCE_NEW.get(new[address][0], frozenset())]
            action = "replace" if forced or address in replace else "no-op"
            if action == "no-op" and differing:
                action = "update"
            forcing[address] = forced
            if actions.get(address) != action:
                actions[address] = action
                changed_any = True
    return actions, new_values, forcing


def _resource_change(
    address: str,
    action: str,
    resource: tuple[str, str, Any],
    before: dict[str, Any] | None,
    planned: dict[str, Any] | None,
    forced: list[str],
    replace: tuple[str, ...],
) -> dict[str, Any]:
    """One entry of ``resource_changes``, as `terraform show -json` writes it."""
    rtype, name, _ = resource
    change: dict[str, Any] = {
        "actions": {"replace": ["delete", "create"]}.get(action, [action]),
        "before": before,
        "after": None,
        "after_unknown": {},
        "before_sensitive": {} if before is not None else False,
        "after_sensitive": {} if planned is not None else False,
    }
    if planned is not None:
        after_value, mask = _split_unknown(planned)
        if action in ("create", "replace"):
            mask = {**(mask or {}), "id": True}
        else:
            assert before is not None
            after_value["id"] = before["id"]
        change["after"], change["after_unknown"] = after_value, mask or {}
    entry: dict[str, Any] = {
        "address": address,
        "mode": "managed",
        "type": rtype,
        "name": name,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": change,
    }
    if action == "replace":
        change["replace_paths"] = [[k] for k in forced]
        entry["action_reason"] = (
            "replace_by_request" if address in replace else "replace_because_cannot_update"
        )
    if action == "delete":
        entry["action_reason"] = "delete_because_no_resource_config"
    return entry


def build_plan(
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    replace: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A plan taking a stack from `before` to `after` (None: no stack, i.e. create / destroy);
    `replace` are addresses replaced on request, as `terraform plan -replace=ADDRESS` does."""
    old, new = _resources(before), _resources(after)
    prior = _Resolver(old, set())
    old_values = {a: prior.value(attrs) for a, (_, _, attrs) in old.items()}
    for address, values in old_values.items():
        values.update(id=f"<{address}.id>")
    actions, new_values, forcing = _actions(old, new, old_values, replace)
    changes = [
        _resource_change(
            address,
            actions[address],
            new.get(address) or old[address],
            old_values.get(address),
            new_values.get(address) if address in new else None,
            forcing.get(address, []),
            replace,
        )
        for address in sorted(actions)
    ]
    return {
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "planned_values": {"root_module": {}},
        "resource_changes": changes,
        "applyable": True,
        "complete": True,
        "errored": False,
    }
