"""Readers for synthesized Terraform JSON, and a stack for testing one layer on its own.

The resources of one type in a stack come from ``tools.check.stack_check.resources``, the reader
the team's own checks use too (by logical id: ``.values()`` for the resources alone)."""

from __future__ import annotations

import json
from typing import Any

from modules.aws_context import AwsContext
from modules.storage import BucketRef, StorageOutputs
from tools.check.stack_check import resources

TEST_AWS = AwsContext(account_id="111122223333", region="eu-west-1", partition="aws")


def fake_storage_outputs() -> StorageOutputs:
    def bucket(name: str) -> BucketRef:
        return BucketRef(name, f"arn:aws:s3:::{name}")

    return StorageOutputs(
        key_arn="arn:aws:kms:eu-west-1:111122223333:key/test-key",
        key_alias="alias/test",
        input=bucket("test-input"),
        output=bucket("test-output"),
        models=bucket("test-models"),
        logs=bucket("test-logs"),
    )


def layer_stack(name: str = "layer-test") -> Any:
    """A stack with an AWS provider, on a fresh test app, for one layer."""
    from imports.aws import AwsProvider
    from imports.core import TerraformStack, Testing

    stack = TerraformStack(Testing.app(), name)
    AwsProvider(stack, "aws", region=TEST_AWS.region)
    return stack


def resource_named(synthesized: str, resource_type: str, **match: Any) -> dict[str, Any]:
    found = [r for r in resources(synthesized, resource_type).values() if _matches(r, match)]
    assert len(found) == 1, f"expected one {resource_type} with {match}, found {len(found)}"
    return found[0]


def reference(synthesized: str, resource_type: str, attribute: str, **match: Any) -> str:
    """The Terraform reference to one resource's attribute, as it appears in synthesized JSON."""
    found = [
        logical_id
        for logical_id, r in resources(synthesized, resource_type).items()
        if _matches(r, match)
    ]
    assert len(found) == 1, f"expected one {resource_type} with {match}, found {len(found)}"
    return f"${{{resource_type}.{found[0]}.{attribute}}}"


def _matches(resource: dict[str, Any], match: dict[str, Any]) -> bool:
    return all(resource.get(key) == value for key, value in match.items())


def policy_of(resource: dict[str, Any], attribute: str = "policy") -> dict[str, Any]:
    return json.loads(resource[attribute])


def role_policy(synthesized: str) -> dict[str, Any]:
    """The policy document of the only inline role policy of a layer synthesized alone."""
    [resource] = resources(synthesized, "aws_iam_role_policy").values()
    return policy_of(resource)


def statement(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    found = [s for s in policy["Statement"] if s.get("Sid") == sid]
    assert len(found) == 1, f"no statement {sid} in {[s.get('Sid') for s in policy['Statement']]}"
    return found[0]


def actions(stmt: dict[str, Any]) -> set[str]:
    value = stmt["Action"]
    return {value} if isinstance(value, str) else set(value)


def all_actions(policy: dict[str, Any]) -> set[str]:
    return {a for s in policy["Statement"] if s["Effect"] == "Allow" for a in actions(s)}
