"""What changed inside a resource, in the reviewer's terms.

- state machines: the `definition` JSON is decoded and compared state by state (nested Map and
  Parallel states by path), never as one string;
- policies (any `policy` / `assume_role_policy` attribute holding an IAM document: role, key,
  bucket, topic and queue policies, trust policies): statements by `Sid`;
- everything else: changed attributes by path, with sensitive values hidden and unknown values
  shown as "(known after apply)".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tools.plan_review.model import Change

UNKNOWN = "(known after apply)"
SENSITIVE = "(sensitive)"
MAX_VALUE = 100
POLICY_ATTRIBUTES = ("policy", "assume_role_policy")
STATEMENT_FIELDS = (
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
_ABSENT = object()


@dataclass(frozen=True)
class Leaf:
    raw: Any
    shown: str


def show(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = text.replace("\n", " ")
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _mask_at(mask: Any, key: Any) -> Any:
    if isinstance(mask, dict):
        return mask.get(key, False)
    if isinstance(mask, list) and isinstance(key, int) and key < len(mask):
        return mask[key]
    return False


def leaves(
    value: Any, unknown: Any = False, sensitive: Any = False, prefix: str = "", whole: Any = False
) -> dict[str, Leaf]:
    """Flatten a value into path -> leaf; a masked node (unknown/sensitive) is one leaf, and so is
    a node marked in `whole` (the old value of what becomes unknown: compared as one)."""
    if sensitive is True:
        return {prefix: Leaf(value, SENSITIVE)}
    if unknown is True:
        return {prefix: Leaf(_ABSENT, UNKNOWN)}
    if whole is True:
        return {prefix: Leaf(value, show(value))}
    out: dict[str, Leaf] = {}
    if isinstance(value, dict):
        keys = set(value) | (set(unknown) if isinstance(unknown, dict) else set())
        for key in sorted(keys):
            path = f"{prefix}.{key}" if prefix else str(key)
            out.update(
                leaves(
                    value.get(key),
                    _mask_at(unknown, key),
                    _mask_at(sensitive, key),
                    path,
                    _mask_at(whole, key),
                )
            )
        if not keys and prefix:
            out[prefix] = Leaf(value, show(value))
        return out
    if isinstance(value, list) and value:
        for index, item in enumerate(value):
            out.update(
                leaves(
                    item,
                    _mask_at(unknown, index),
                    _mask_at(sensitive, index),
                    f"{prefix}[{index}]",
                    _mask_at(whole, index),
                )
            )
        return out
    return {prefix: Leaf(value, show(value))}


def changed_leaves(before: dict[str, Leaf], after: dict[str, Leaf]) -> list[tuple[str, str, str]]:
    """(path, old, new) where the value differs, unknown values counting as changed."""
    out = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old is not None and new is not None and old.raw == new.raw and old.shown == new.shown:
            continue
        if (old is None or old.raw is None) and (new is None or new.raw is None):
            continue  # null and absent are the same to Terraform
        out.append((path, old.shown if old else "(none)", new.shown if new else "(none)"))
    return out


def _decoded(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return None
    return None


def _attribute(change: Change, side: str, name: str) -> tuple[Any, bool, bool]:
    """(value, unknown, sensitive) of a top-level attribute on one side of a change."""
    values = change.before if side == "before" else change.after
    value = values.get(name) if isinstance(values, dict) else None
    unknown = side == "after" and _mask_at(change.after_unknown, name) is True
    mask = change.before_sensitive if side == "before" else change.after_sensitive
    return value, unknown, _mask_at(mask, name) is True


# ---------------------------------------------------------------------------------------------
# State machine definitions


def _states(machine: dict[str, Any], prefix: str = "") -> dict[str, dict[str, Any]]:
    """Every state by path; a Map's or Parallel's inner states are their own entries."""
    out: dict[str, dict[str, Any]] = {}
    for name, state in (machine.get("States") or {}).items():
        if not isinstance(state, dict):
            continue
        own = dict(state)
        for inner_key in ("ItemProcessor", "Iterator"):
            inner = own.pop(inner_key, None)
            if isinstance(inner, dict):
                own[inner_key] = {k: v for k, v in inner.items() if k != "States"}
                out.update(_states(inner, f"{prefix}{name}/"))
        branches = own.pop("Branches", None)
        if isinstance(branches, list):
            own["Branches"] = len(branches)
            for index, branch in enumerate(branches):
                if isinstance(branch, dict):
                    out.update(_states(branch, f"{prefix}{name}/branch{index + 1}/"))
        out[f"{prefix}{name}"] = own
    return out


def definition_diff(change: Change) -> list[str]:
    """Lines describing what the state machine's definition change does."""
    old_raw, _, _ = _attribute(change, "before", "definition")
    new_raw, new_unknown, _ = _attribute(change, "after", "definition")
    if change.action in ("delete", "no-op"):
        return []
    if new_unknown:
        return [f"definition: {UNKNOWN} (it refers to values of resources not yet created)"]
    old, new = _decoded(old_raw), _decoded(new_raw)
    if not isinstance(new, dict):
        return [] if new_raw == old_raw else ["definition: not JSON, changed"]
    new_states = _states(new)
    if not isinstance(old, dict):
        return [f"definition: {len(new_states)} states: {', '.join(f'`{s}`' for s in new_states)}"]
    old_states = _states(old)
    lines = []
    top_old = {k: v for k, v in old.items() if k != "States"}
    top_new = {k: v for k, v in new.items() if k != "States"}
    for path, before, after in changed_leaves(leaves(top_old), leaves(top_new)):
        lines.append(f"definition `{path}`: `{before}` → `{after}`")
    for name in sorted(new_states.keys() - old_states.keys()):
        lines.append(f"state `{name}` added ({new_states[name].get('Type', '?')})")
    for name in sorted(old_states.keys() - new_states.keys()):
        lines.append(f"state `{name}` removed")
    for name in sorted(new_states.keys() & old_states.keys()):
        fields = changed_leaves(leaves(old_states[name]), leaves(new_states[name]))
        if fields:
            lines.append(f"state `{name}` changed:")
            lines.extend(f"  - `{path}`: `{before}` → `{after}`" for path, before, after in fields)
    return lines


# ---------------------------------------------------------------------------------------------
# Policies


def _statements(document: Any) -> dict[str, dict[str, Any]] | None:
    if not isinstance(document, dict) or "Statement" not in document:
        return None
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    out: dict[str, dict[str, Any]] = {}
    for index, statement in enumerate(statements if isinstance(statements, list) else []):
        if isinstance(statement, dict):
            out[str(statement.get("Sid") or f"#{index + 1} (no Sid)")] = statement
    return out


def _as_set(value: Any) -> set[str] | None:
    if isinstance(value, str):
        return {value}
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return set(value)
    return None


def _summary(statement: dict[str, Any]) -> str:
    parts = [str(statement.get("Effect", "?"))]
    for key in ("Principal", "Action", "NotAction", "Resource", "NotResource"):
        if key in statement:
            values = _as_set(statement[key])
            parts.append(
                f"{key} "
                + (", ".join(sorted(values)) if values is not None else show(statement[key]))
            )
    if "Condition" in statement:
        parts.append(f"Condition {show(statement['Condition'])}")
    return "; ".join(parts)


def _field_change(key: str, old: Any, new: Any) -> str:
    old_set, new_set = _as_set(old), _as_set(new)
    if old_set is not None and new_set is not None:
        added = [f"+ `{v}`" for v in sorted(new_set - old_set)]
        removed = [f"- `{v}`" for v in sorted(old_set - new_set)]
        return f"{key}: " + ", ".join(added + removed)
    was = show(old) if old is not None else "(none)"
    becomes = show(new) if new is not None else "(none)"
    return f"{key}: `{was}` → `{becomes}`"


def policy_diff(change: Change) -> tuple[list[str], set[str]]:
    """Lines for each policy attribute, and which attributes were handled here."""
    lines: list[str] = []
    handled: set[str] = set()
    for attribute in POLICY_ATTRIBUTES:
        old_raw, _, _ = _attribute(change, "before", attribute)
        new_raw, new_unknown, _ = _attribute(change, "after", attribute)
        if old_raw is None and new_raw is None and not new_unknown:
            continue
        old = _statements(_decoded(old_raw)) if change.action != "create" else {}
        if new_unknown:
            handled.add(attribute)
            if change.action != "delete":
                lines.append(f"{attribute}: {UNKNOWN}")
            continue
        new = _statements(_decoded(new_raw)) if change.action != "delete" else {}
        if old is None or new is None:
            continue
        handled.add(attribute)
        if change.action == "delete":
            continue
        label = "trust policy" if attribute == "assume_role_policy" else "policy"
        if change.action == "create":
            lines.append(f"{label}: statements {', '.join(f'`{sid}`' for sid in new)}")
            continue
        for sid in sorted(new.keys() - old.keys()):
            lines.append(f"{label} statement `{sid}` added: {_summary(new[sid])}")
        for sid in sorted(old.keys() - new.keys()):
            lines.append(f"{label} statement `{sid}` removed: {_summary(old[sid])}")
        for sid in sorted(new.keys() & old.keys()):
            fields = [
                _field_change(key, old[sid].get(key), new[sid].get(key))
                for key in STATEMENT_FIELDS
                if old[sid].get(key) != new[sid].get(key)
                and not (
                    _as_set(old[sid].get(key)) is not None
                    and _as_set(old[sid].get(key)) == _as_set(new[sid].get(key))
                )
            ]
            if fields:
                lines.append(f"{label} statement `{sid}` changed: " + "; ".join(fields))
    return lines, handled


# ---------------------------------------------------------------------------------------------
# Everything else


def attribute_diff(change: Change, skip: set[str]) -> list[str]:
    """Changed attributes of an update or replace (paths that force the replacement marked)."""
    if change.action not in ("update", "replace"):
        return []
    before = change.before if isinstance(change.before, dict) else {}
    after = change.after if isinstance(change.after, dict) else {}
    forcing = {_path_text(path) for path in change.replace_paths}
    unknown = change.after_unknown if isinstance(change.after_unknown, dict) else {}
    if change.action == "replace":
        skip = skip | {"id"}  # a new object always has a new id
    old = leaves(
        {k: v for k, v in before.items() if k not in skip},
        sensitive=change.before_sensitive,
        whole=unknown,
    )
    new = leaves(
        {k: v for k, v in after.items() if k not in skip},
        unknown={k: v for k, v in unknown.items() if k not in skip},
        sensitive=change.after_sensitive,
    )
    lines = []
    for path, was, becomes in changed_leaves(old, new):
        marker = " (forces replacement)" if any(_within(path, f) for f in forcing) else ""
        lines.append(f"`{path}`: `{was}` → `{becomes}`{marker}")
    return lines


def _path_text(path: list[Any]) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def _within(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def describe(change: Change) -> list[str]:
    """Everything worth reading about one change, most specific first."""
    lines: list[str] = []
    skip: set[str] = set()
    if change.type == "aws_sfn_state_machine":
        lines += definition_diff(change)
        skip.add("definition")
    policy_lines, handled = policy_diff(change)
    lines += policy_lines
    skip |= handled
    lines += attribute_diff(change, skip)
    return lines
