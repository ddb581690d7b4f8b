"""The state bootstrap stacks: where the other stacks keep their remote Terraform state.

``StateBootstrapStack`` creates, per S3 state bucket, the bucket, its KMS key (with the alias
every S3 backend names in ``kms_key_id``, so state, lock file and digest are encrypted with it
rather than SSE-S3) and every DynamoDB lock table the environments name for it. There is one per
pinned account and region (its provider pinned to that account) and one per bucket of an
environment without ``account_id``; named by those facts alone, so adding an environment, account
or region never renames one. It is deployed first with local state; once applied, its state can
move into one of its own buckets (``bootstrap: self-hosted``; tools/state_self_host.py).
``modules.stack_names.state_bootstraps`` groups the config's state buckets into those stacks.

Needs: the project config (its S3 states); nothing of the environment stacks.
"""

from __future__ import annotations

from constructs import Construct

from imports.aws import (
    DataAwsCallerIdentity,
    DynamodbTable,
    DynamodbTableAttribute,
    KmsAlias,
    KmsKey,
)
from imports.core import TerraformStack
from modules.config import LocalState, partition_of
from modules.config.aws_facts import KMS_PENDING_WINDOW_DAYS
from modules.iam import key_admin_statement, policy_document
from modules.naming import Names
from modules.stack_names import Bootstrap, StateStore
from modules.stacks.outputs import bucket_key, export
from modules.stacks.provider import (
    MANAGED_BY,
    aws_provider,
    local_backend,
    require_terraform,
    s3_backend,
)
from modules.storage import SecureBucket, lifecycle_rule, protect

STATE_NONCURRENT_VERSION_DAYS = 90


class StateBootstrapStack(TerraformStack):
    """The S3 buckets (and DynamoDB tables) of one bootstrap, created by a provider pinned to its
    account (``account_id``; None for an unpinned environment's bucket, whose account is the
    credentials'). Its own state: a local file, or its host bucket's key once self-hosted.
    Outputs: each bucket's name."""

    def __init__(self, scope: Construct, project: str, bootstrap: Bootstrap) -> None:
        name, region = bootstrap.name, bootstrap.region
        super().__init__(scope, name)
        require_terraform(self)
        if bootstrap.host is None:
            local_backend(self, name, LocalState(backend="local"))
        else:
            s3_backend(self, name, bootstrap.host, region, bootstrap.account_id)
        tags = {"project": project, "managed-by": MANAGED_BY, "purpose": "terraform-state"}
        aws_provider(self, region, bootstrap.account_id, tags)
        account_id = DataAwsCallerIdentity(self, "current").account_id
        for store in bootstrap.stores:
            self._state_store(store, account_id, partition_of(region))

    def _state_store(self, store: StateStore, account_id: str, partition: str) -> None:
        scope = Construct(self, f"state-{store.bucket}")
        key = KmsKey(
            scope,
            "key",
            description=f"Encrypts Terraform state in {store.bucket}",
            enable_key_rotation=True,
            deletion_window_in_days=KMS_PENDING_WINDOW_DAYS[1],
            policy=policy_document(key_admin_statement(partition, account_id)),
            lifecycle=protect(False),
        )
        KmsAlias(
            scope, "key-alias", name=Names.state_key_alias(store.bucket), target_key_id=key.key_id
        )
        secure = SecureBucket(
            scope,
            "bucket",
            name=store.bucket,
            kms_key_arn=key.arn,
            allow_destroy=False,
            lifecycle_rules=[
                lifecycle_rule(
                    "expire-noncurrent-state-versions",
                    noncurrent_days=STATE_NONCURRENT_VERSION_DAYS,
                ),
                lifecycle_rule("abort-incomplete-multipart-uploads", abort_multipart_days=1),
            ],
        )
        export(
            self, "{bucket_key}_bucket", secure.bucket.bucket, bucket_key=bucket_key(store.bucket)
        )
        for table in store.lock_tables:
            # Environments sharing the bucket may each name their own table: create every one.
            _lock_table(scope, store, table, key.arn)


def _lock_table(scope: Construct, store: StateStore, table: str, key_arn: str) -> None:
    DynamodbTable(
        scope,
        "lock-table" if table == store.lock_tables[0] else f"lock-table-{table}",
        name=table,
        billing_mode="PAY_PER_REQUEST",
        hash_key="LockID",
        attribute=[DynamodbTableAttribute(name="LockID", type="S")],
        server_side_encryption={"enabled": True, "kms_key_arn": key_arn},
        point_in_time_recovery={"enabled": True},
        deletion_protection_enabled=True,
        lifecycle=protect(False),
    )
