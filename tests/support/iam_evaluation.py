"""A small evaluator of one IAM identity policy: is a request (action, resource, context) allowed?

Written for the operator policy's test (tests/test_ops_operator_policy.py) because no maintained
Python library evaluates a policy offline: parliament lints, policyuniverse and policy_sentry
expand or write policies, principalmapper's local simulator has had no release since 2022, and
the evaluators that are kept up (iam-simulate, iam-lens) are Node packages.

What it evaluates, as IAM does (the IAM User Guide's policy evaluation logic, one identity policy
of one account, no boundaries, SCPs or resource policies):

- an explicit Deny wins over any Allow; no matching Allow is an implicit deny;
- ``Action`` (string or list) matches case-insensitively with ``*`` and ``?`` wildcards;
- ``Resource`` (string or list) matches case-sensitively with ``*`` and ``?``, which may span
  ``:`` and ``/``;
- ``Condition`` operators ``StringEquals``, ``StringLike``, ``ArnLike`` and ``Bool``, every key
  of every operator must hold, any of a key's values may match, and a key the request lacks
  fails the condition.

Anything else (``NotAction``, ``NotResource``, ``Principal``, other operators, ``...IfExists``,
``ForAllValues``) raises ``Unsupported``, so a policy that starts using it cannot pass here
unexamined.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = "Allow", "ExplicitDeny", "ImplicitDeny"


class Unsupported(ValueError):
    """A policy element this evaluator does not evaluate."""


@dataclass(frozen=True)
class Request:
    action: str  # service:Operation, e.g. s3:GetObject
    resource: str  # the ARN the service authorizes the call on
    context: Mapping[str, str] = field(default_factory=dict)  # condition keys, e.g. kms:ViaService


def _matches(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=0 if case_sensitive else re.IGNORECASE) is not None


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _condition_holds(operator: str, key: str, expected: list[str], request: Request) -> bool:
    actual = request.context.get(key)
    if actual is None:
        return False
    if operator == "StringEquals":
        return actual in expected
    if operator in ("StringLike", "ArnLike"):
        return any(_matches(p, actual, case_sensitive=True) for p in expected)
    if operator == "Bool":
        return actual.lower() in (e.lower() for e in expected)
    raise Unsupported(f"condition operator {operator}")


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    unsupported = {"NotAction", "NotResource", "Principal", "NotPrincipal"} & statement.keys()
    if unsupported:
        raise Unsupported(f"{statement.get('Sid')}: {sorted(unsupported)}")
    if not any(
        _matches(a, request.action, case_sensitive=False) for a in _listed(statement["Action"])
    ):
        return False
    if not any(
        _matches(r, request.resource, case_sensitive=True) for r in _listed(statement["Resource"])
    ):
        return False
    return all(
        _condition_holds(operator, key, _listed(values), request)
        for operator, block in statement.get("Condition", {}).items()
        for key, values in block.items()
    )


def decision(policy: Mapping[str, Any], request: Request) -> str:
    """ALLOW, EXPLICIT_DENY or IMPLICIT_DENY for ``request`` under ``policy``."""
    applying = [s for s in _listed_statements(policy) if _applies(s, request)]
    if any(s["Effect"] == "Deny" for s in applying):
        return EXPLICIT_DENY
    return ALLOW if any(s["Effect"] == "Allow" for s in applying) else IMPLICIT_DENY


def _listed_statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = policy["Statement"]
    return [statements] if isinstance(statements, dict) else list(statements)
