"""Rules that hold for every synthesized stack of both configs (the shipped one and
tests/fixtures/all-features.yaml): each is a property of every resource of a kind, so a one-line
change to any layer that breaks it fails here, not only in a snapshot."""

from __future__ import annotations

import re
from typing import Any

from tests.test_security import policy_documents


def _allow_statements(stacks: dict[str, dict[str, Any]], action: str) -> list[tuple[str, Any]]:
    found = []
    for where, resource_type, document in policy_documents(stacks):
        for stmt in document["Statement"]:
            actions = stmt["Action"] if isinstance(stmt["Action"], list) else [stmt["Action"]]
            if stmt["Effect"] != "Allow" or action not in actions:
                continue
            if resource_type == "aws_kms_key" and str(stmt.get("Principal", {})).endswith(
                ":root'}"
            ):
                continue  # the key policy's account root: it delegates the key's use to IAM
            found.append((f"{where} {stmt.get('Sid')}", stmt))
    return found


def test_every_create_grant_is_only_for_aws_resources(stacks: dict[str, dict[str, Any]]) -> None:
    """Without kms:GrantIsForAWSResource a role could grant the environment key to anyone."""
    grants = _allow_statements(stacks, "kms:CreateGrant")
    assert len(grants) >= 2 * 7  # the SageMaker and Step Functions role of every pipeline
    for where, stmt in grants:
        assert stmt.get("Condition") == {"Bool": {"kms:GrantIsForAWSResource": "true"}}, where


def test_every_put_metric_data_is_held_to_the_pipelines_namespace(
    stacks: dict[str, dict[str, Any]],
) -> None:
    """PutMetricData takes only Resource "*": the namespace condition is its whole scope."""
    puts = _allow_statements(stacks, "cloudwatch:PutMetricData")
    assert len(puts) == 2 * 7  # the SageMaker and Step Functions role of every pipeline
    for where, stmt in puts:
        assert set(stmt) == {"Sid", "Effect", "Action", "Resource", "Condition"}, where
        [(operator, condition)] = stmt["Condition"].items()
        assert operator == "StringEquals", where
        [namespace] = condition.values()
        assert list(condition) == ["cloudwatch:namespace"] and "*" not in namespace, where
        sfn_role = re.search(r"aws_iam_role_policy\.pipeline-([a-z0-9-]+)_sfn", where)
        if sfn_role is not None:  # the run's TransformsCompleted: its own pipeline's namespace
            assert re.fullmatch(rf"BatchInference/[a-z0-9]+-[a-z0-9]+-{sfn_role[1]}", namespace)
        else:  # SageMaker's own transform job metrics
            assert namespace == "/aws/sagemaker/TransformJobs", where


def test_every_bucket_is_versioned(stacks: dict[str, dict[str, Any]]) -> None:
    """Data buckets, logs buckets and state buckets: each has exactly one versioning resource,
    Enabled, on that bucket."""
    buckets = 0
    for stack, document in stacks.items():
        resources = document.get("resource", {})
        versioned: dict[str, list[str]] = {}
        for versioning in resources.get("aws_s3_bucket_versioning", {}).values():
            versioned.setdefault(versioning["bucket"], []).append(
                versioning["versioning_configuration"]["status"]
            )
        for logical_id in resources.get("aws_s3_bucket", {}):
            assert versioned.get(f"${{aws_s3_bucket.{logical_id}.id}}") == ["Enabled"], (
                stack,
                logical_id,
            )
            buckets += 1
    assert buckets == 4 * 3 + 2  # 4 per environment (3 environments), 2 state buckets
