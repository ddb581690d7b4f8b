"""Storage layer: KMS key and buckets, synthesized on their own."""

from __future__ import annotations

from typing import Any

import pytest

from imports.core import Testing
from modules.config import ProjectConfig
from modules.naming import Names
from modules.storage import Storage
from tests.support.helpers import (
    TEST_AWS,
    layer_stack,
    policy_of,
    resource_named,
    resources,
    statement,
)


def _synth(config: ProjectConfig, env: str) -> str:
    stack = layer_stack()
    Storage(
        stack,
        "storage",
        settings=config.environments[env].storage,
        allow_destroy=config.environments[env].allow_destroy,
        key_deletion_window_days=config.environments[env].kms_deletion_window_days,
        names=Names(config.project, env),
        aws=TEST_AWS,
    )
    return Testing.synth(stack)


@pytest.fixture(scope="module")
def prod(default_config: ProjectConfig) -> str:
    return _synth(default_config, "prod")


@pytest.fixture(scope="module")
def dev(default_config: ProjectConfig) -> str:
    return _synth(default_config, "dev")


def test_customer_managed_key_with_rotation(prod: str) -> None:
    assert Testing.to_have_resource_with_properties(
        prod, "aws_kms_key", {"enable_key_rotation": True, "deletion_window_in_days": 30}
    )
    assert Testing.to_have_resource_with_properties(
        prod, "aws_kms_alias", {"name": "alias/mlbatch-prod"}
    )


def test_key_policy_lets_logs_and_event_triggers_use_the_key(prod: str) -> None:
    [key] = resources(prod, "aws_kms_key").values()
    policy = policy_of(key)
    account = statement(policy, "AccountAdministersAndDelegatesThroughIam")
    assert account["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    assert "kms:PutKeyPolicy" in account["Action"]
    logs = statement(policy, "CloudWatchLogsEncryptsThisEnvironmentsLogGroups")
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert logs["Condition"]["StringLike"]["kms:EncryptionContext:aws:logs:arn"] == (
        "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/vendedlogs/states/mlbatch-prod-*"
    )
    # The event triggers' rules keep undelivered runs in the schedules' encrypted DLQs.
    events = statement(policy, "EventTriggersOfThisEnvironmentKeepTheirDeadLetters")
    assert events["Principal"]["Service"] == "events.amazonaws.com"
    assert set(events["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert events["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "111122223333"},
        "ArnLike": {"aws:SourceArn": "arn:aws:events:eu-west-1:111122223333:rule/mlbatch-prod-*"},
    }
    # Alerts have a key of their own (modules/alerting/topic.py): none for CloudWatch here.
    principals = [s["Principal"] for s in policy["Statement"]]
    assert {"Service": "cloudwatch.amazonaws.com"} not in principals


def test_four_buckets_named_by_project_environment_account_region(prod: str) -> None:
    names = sorted(b["bucket"] for b in resources(prod, "aws_s3_bucket").values())
    assert names == [
        f"mlbatch-prod-{purpose}-111122223333-eu-west-1"
        for purpose in ("input", "logs", "models", "output")
    ]


@pytest.mark.parametrize(
    "resource_type",
    [
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_policy",
    ],
)
def test_every_bucket_has_every_guard(prod: str, resource_type: str) -> None:
    assert len(resources(prod, resource_type)) == 4


def test_public_access_fully_blocked_and_acls_disabled(prod: str) -> None:
    for block in resources(prod, "aws_s3_bucket_public_access_block").values():
        assert all(
            block[flag]
            for flag in (
                "block_public_acls",
                "block_public_policy",
                "ignore_public_acls",
                "restrict_public_buckets",
            )
        )
    assert Testing.to_have_resource_with_properties(
        prod,
        "aws_s3_bucket_ownership_controls",
        {"rule": {"object_ownership": "BucketOwnerEnforced"}},
    )
    assert Testing.to_have_resource_with_properties(
        prod, "aws_s3_bucket_versioning", {"versioning_configuration": {"status": "Enabled"}}
    )


def test_data_buckets_use_the_kms_key_and_logs_bucket_sse_s3(prod: str) -> None:
    algorithms = sorted(
        r["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"]
        for r in resources(prod, "aws_s3_bucket_server_side_encryption_configuration").values()
    )
    assert algorithms == ["AES256", "aws:kms", "aws:kms", "aws:kms"]
    assert Testing.to_have_resource_with_properties(
        prod,
        "aws_s3_bucket_server_side_encryption_configuration",
        {
            "rule": [
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": "${aws_kms_key.storage_key_27F6C14B.arn}",
                    },
                    "bucket_key_enabled": True,
                }
            ]
        },
    )


def test_every_bucket_policy_denies_insecure_transport(prod: str) -> None:
    for bucket_policy in resources(prod, "aws_s3_bucket_policy").values():
        deny = statement(policy_of(bucket_policy), "DenyInsecureTransport")
        assert deny["Effect"] == "Deny"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_access_logs_delivered_only_from_this_environments_buckets(prod: str) -> None:
    assert len(resources(prod, "aws_s3_bucket_logging")) == 3
    logs_policy = next(
        policy_of(p)
        for p in resources(prod, "aws_s3_bucket_policy").values()
        if "S3ServerAccessLogs" in p["policy"]
    )
    delivery = statement(logs_policy, "S3ServerAccessLogsFromThisEnvironmentsBuckets")
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Condition"]["StringEquals"] == {"aws:SourceAccount": "111122223333"}
    assert len(delivery["Condition"]["ArnLike"]["aws:SourceArn"]) == 3


def _rules(synthesized: str) -> list[list[dict[str, Any]]]:
    return [
        r["rule"] for r in resources(synthesized, "aws_s3_bucket_lifecycle_configuration").values()
    ]


def test_lifecycle_rules_have_filters_and_expire_outputs(prod: str) -> None:
    for rules in _rules(prod):
        assert all(rule["filter"] == [{}] and rule["status"] == "Enabled" for rule in rules)
        ids = {rule["id"] for rule in rules}
        assert {"expire-noncurrent-versions", "abort-incomplete-multipart-uploads"} <= ids
    output_rules = resource_named(
        prod,
        "aws_s3_bucket_lifecycle_configuration",
        bucket="${aws_s3_bucket.storage_output_bucket_8AB5F6EE.id}",
    )["rule"]
    expire = next(rule for rule in output_rules if rule["id"] == "expire-objects")
    assert expire["expiration"] == [{"days": 365}]


def test_prod_data_is_protected_from_destroy(prod: str) -> None:
    for bucket in resources(prod, "aws_s3_bucket").values():
        assert bucket["force_destroy"] is False
        assert bucket["lifecycle"] == {"prevent_destroy": True}
    [key] = resources(prod, "aws_kms_key").values()
    assert key["lifecycle"] == {"prevent_destroy": True}


def test_dev_allows_destroy(dev: str) -> None:
    for bucket in resources(dev, "aws_s3_bucket").values():
        assert bucket["force_destroy"] is True
        assert "lifecycle" not in bucket
    [key] = resources(dev, "aws_kms_key").values()
    assert key["deletion_window_in_days"] == 7


def test_input_bucket_sends_events_whether_or_not_a_pipeline_has_a_trigger(
    prod: str, dev: str
) -> None:
    # Always on, so that the shared storage does not change when a pipeline gets a trigger.
    for synthesized in (prod, dev):
        assert Testing.to_have_resource_with_properties(
            synthesized, "aws_s3_bucket_notification", {"eventbridge": True}
        )
        [notification] = resources(synthesized, "aws_s3_bucket_notification").values()
        assert "storage_input_bucket" in notification["bucket"]
