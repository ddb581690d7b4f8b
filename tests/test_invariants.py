"""Rules that hold for every synthesized stack of both configs (the shipped one and
tests/fixtures/all-features.yaml): each is a property of every resource of a kind, so a one-line
change to any layer that breaks it fails here, not only in a snapshot."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from modules.config import load_config
from tests.conftest import CONFIGS, stacks_of
from tests.support import invariants
from tests.support.invariants import policy_documents


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
    machines = sum(len(d["resource"].get("aws_sfn_state_machine", {})) for d in stacks.values())
    assert len(grants) >= 2 * machines  # the SageMaker and Step Functions role of every pipeline
    for where, stmt in grants:
        assert stmt.get("Condition") == {"Bool": {"kms:GrantIsForAWSResource": "true"}}, where


def test_every_put_metric_data_is_held_to_the_pipelines_namespace(
    stacks: dict[str, dict[str, Any]],
) -> None:
    """PutMetricData takes only Resource "*": the namespace condition is its whole scope."""
    puts = _allow_statements(stacks, "cloudwatch:PutMetricData")
    machines = sum(len(d["resource"].get("aws_sfn_state_machine", {})) for d in stacks.values())
    assert len(puts) == 2 * machines  # the SageMaker and Step Functions role of every pipeline
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


# --------------------------------------------------------------------------------------------
# The structural invariants the generated configs are held to (tests/support/invariants.py):
# they hold for the fixtures, and each one notices the break it is there for.


def _copy(stacks: dict[str, dict[str, Any]], label: str) -> dict[str, dict[str, Any]]:
    return json.loads(json.dumps(stacks_of(stacks, label)))


@pytest.mark.parametrize("label", sorted(CONFIGS))
def test_the_structural_invariants_hold_for_the_fixtures(
    stacks: dict[str, dict[str, Any]], label: str
) -> None:
    own = stacks_of(stacks, label)
    assert own
    assert invariants.all_problems(load_config(CONFIGS[label]), own) == []


def test_each_structural_invariant_notices_its_break(stacks: dict[str, dict[str, Any]]) -> None:
    broken = _copy(stacks, "example")
    base, pipeline = broken["mlbatch-prod"], broken["mlbatch-prod-churn"]
    # An ARN of another partition.
    base["resource"]["aws_sns_topic_policy"] = {"x": {"arn": "arn:aws-us-gov:sns:x"}}
    assert invariants.partition_problems(broken) == [
        "mlbatch-prod: ARNs in aws-us-gov, not its partition aws"
    ]
    # A cross-stack reference to an output the producer does not have.
    read = re.findall(
        r"terraform_remote_state\.[^.]+\.outputs\.([A-Za-z0-9_-]+)", json.dumps(pipeline)
    )
    output = read[0]
    del base["output"][output]
    assert any(f"has no output {output}" in p for p in invariants.reference_problems(broken))
    # A reference to a resource the stack does not declare.
    pipeline["locals"]["x"] = "${aws_s3_bucket.nowhere.arn}"
    assert any("aws_s3_bucket.nowhere.arn" in p for p in invariants.reference_problems(broken))
    # Two stacks in one state.
    pipeline["terraform"]["backend"] = base["terraform"]["backend"]
    assert invariants.backend_problems(broken) == [
        "mlbatch-prod-churn and mlbatch-prod share the state "
        f"('s3', '{base['terraform']['backend']['s3']['bucket']}', 'cdktf/mlbatch-prod.tfstate')"
    ]
    # A wildcard action, and an action on Resource "*" that is not one of the unscoped ones.
    [role_policy] = [
        p for name, p in pipeline["resource"]["aws_iam_role_policy"].items() if "_sfn_" in name
    ]
    document = json.loads(role_policy["policy"])
    document["Statement"][0]["Action"] = "sagemaker:*"
    document["Statement"][1]["Resource"] = "*"
    role_policy["policy"] = json.dumps(document)
    assert len(invariants.iam_problems(broken)) == 2
