"""Storage layer: the environment's KMS key and its S3 buckets.

Creates
- one customer-managed KMS key (rotation on, deletion window from config) with an alias; its key
  policy lets the account's IAM policies use it and lets the services that are not our roles use
  it, each under a condition: CloudWatch Logs (this environment's log groups) and EventBridge
  (this environment's event-trigger rules, for the schedules' dead-letter queues). The alerts
  have a key of their own (modules/alerting/topic.py);
- data buckets ``input``, ``output`` and ``models``: SSE-KMS with that key, versioning, public
  access fully blocked, bucket-owner-enforced ownership, a TLS-only bucket policy, lifecycle rules
  (noncurrent versions and incomplete uploads everywhere; old outputs expire), access logging;
  EventBridge notifications on the input bucket (for pipelines' event triggers);
- an access-log bucket (``logs``, SSE-S3 because S3 server access logging cannot write to SSE-KMS).

Needs: the environment's storage settings, ``allow_destroy`` and key deletion window, ``Names``
and an ``AwsContext``. In an environment without
``allow_destroy``, buckets and the key carry ``prevent_destroy`` and buckets no ``force_destroy``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from constructs import Construct

from imports.aws import (
    KmsAlias,
    KmsKey,
    S3Bucket,
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
    S3BucketLoggingA,
    S3BucketNotification,
    S3BucketOwnershipControls,
    S3BucketPolicy,
    S3BucketPublicAccessBlock,
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketVersioningA,
)
from imports.core import TerraformResourceLifecycle
from modules.aws_context import AwsContext
from modules.config import StorageSettings
from modules.iam import (
    KEY_USE_ACTIONS,
    allow,
    bucket_tls_only,
    key_admin_statement,
    policy_document,
)
from modules.naming import DATA_BUCKETS, LOGS_BUCKET, Names


@dataclass(frozen=True)
class BucketRef:
    """A bucket as the layers name it: its name and ARN."""

    name: str
    arn: str


@dataclass(frozen=True)
class StorageOutputs:
    """What the other layers use of the storage: the key and every bucket by purpose."""

    key_arn: str
    key_alias: str
    input: BucketRef
    output: BucketRef
    models: BucketRef
    logs: BucketRef


def protect(allow_destroy: bool) -> TerraformResourceLifecycle | None:
    """``prevent_destroy`` for data that must outlive a mistaken ``terraform destroy``."""
    return None if allow_destroy else TerraformResourceLifecycle(prevent_destroy=True)


def lifecycle_rule(
    rule_id: str,
    *,
    expire_days: int | None = None,
    noncurrent_days: int | None = None,
    abort_multipart_days: int | None = None,
) -> S3BucketLifecycleConfigurationRule:
    """One enabled rule over the whole bucket."""
    return S3BucketLifecycleConfigurationRule(
        id=rule_id,
        status="Enabled",
        # Provider 6 wants a filter on every rule; an empty one applies the rule to all objects.
        filter=[S3BucketLifecycleConfigurationRuleFilter()],
        expiration=(
            [S3BucketLifecycleConfigurationRuleExpiration(days=expire_days)]
            if expire_days
            else None
        ),
        noncurrent_version_expiration=(
            [
                S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                    noncurrent_days=noncurrent_days
                )
            ]
            if noncurrent_days
            else None
        ),
        abort_incomplete_multipart_upload=(
            [
                S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                    days_after_initiation=abort_multipart_days
                )
            ]
            if abort_multipart_days
            else None
        ),
    )


class SecureBucket(Construct):
    """An S3 bucket with every guard on: encryption, versioning, no public access,
    bucket-owner-enforced ownership, TLS-only policy, lifecycle rules, optional access logging."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        kms_key_arn: str | None,
        allow_destroy: bool,
        lifecycle_rules: list[S3BucketLifecycleConfigurationRule],
        access_log_bucket_id: str | None = None,
        access_log_prefix: str = "",
        extra_policy_statements: Callable[[str], list[dict[str, object]]] | None = None,
    ) -> None:
        super().__init__(scope, id)
        bucket = S3Bucket(
            self,
            "bucket",
            bucket=name,
            force_destroy=allow_destroy,
            lifecycle=protect(allow_destroy),
        )
        self.bucket = bucket
        # Each attribute read is a jsii round trip: read once, pass the same reference on.
        bucket_id, bucket_arn = bucket.id, bucket.arn
        self._guard_access(bucket_id)
        self._version_and_encrypt(bucket_id, kms_key_arn)
        S3BucketLifecycleConfiguration(self, "lifecycle", bucket=bucket_id, rule=lifecycle_rules)
        if access_log_bucket_id is not None:
            S3BucketLoggingA(
                self,
                "access-logging",
                bucket=bucket_id,
                target_bucket=access_log_bucket_id,
                target_prefix=access_log_prefix,
            )
        statements = [bucket_tls_only(bucket_arn)]
        if extra_policy_statements is not None:
            statements += extra_policy_statements(bucket_arn)
        S3BucketPolicy(self, "policy", bucket=bucket_id, policy=policy_document(*statements))

    def _guard_access(self, bucket_id: str) -> None:
        """No public access, and the bucket owner owns every object (ACLs off)."""
        S3BucketPublicAccessBlock(
            self,
            "public-access-block",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        S3BucketOwnershipControls(
            self,
            "ownership",
            bucket=bucket_id,
            rule={"object_ownership": "BucketOwnerEnforced"},
        )

    def _version_and_encrypt(self, bucket_id: str, kms_key_arn: str | None) -> None:
        """Versioning, and default encryption with the key (or SSE-S3 without one)."""
        S3BucketVersioningA(
            self,
            "versioning",
            bucket=bucket_id,
            versioning_configuration={"status": "Enabled"},
        )
        encryption = (
            {"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key_arn}
            if kms_key_arn
            else {"sse_algorithm": "AES256"}
        )
        S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=bucket_id,
            rule=[
                S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=encryption,
                    bucket_key_enabled=kms_key_arn is not None,
                )
            ],
        )


class Storage(Construct):
    """The environment's KMS key and buckets. Inputs: the storage settings (lifecycle days),
    ``allow_destroy``, the key's deletion window, names and context. Outputs: ``outputs``
    (``StorageOutputs``: key ARN and alias, each bucket's name and ARN)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: StorageSettings,
        allow_destroy: bool,
        key_deletion_window_days: int,
        names: Names,
        aws: AwsContext,
    ) -> None:
        super().__init__(scope, id)
        self._settings = settings
        self._allow_destroy = allow_destroy
        self._names = names
        self._aws = aws

        key = KmsKey(
            self,
            "key",
            description=f"Encrypts data, logs and queues of {names.prefix}",
            enable_key_rotation=True,
            deletion_window_in_days=key_deletion_window_days,
            policy=self._key_policy(),
            lifecycle=protect(allow_destroy),
        )
        alias = KmsAlias(self, "key-alias", name=names.key_alias, target_key_id=key.key_id)
        self._key_arn = key.arn

        self._bucket_names = names.buckets(aws.account_id, aws.region)
        logs = self._bucket(LOGS_BUCKET, kms=False)
        self._logs_bucket_id = logs.id  # one jsii round trip, not one per data bucket
        buckets = {purpose: self._bucket(purpose, kms=True) for purpose in DATA_BUCKETS}
        # Event triggers match "Object Created" events of the input bucket in EventBridge. Always
        # on (AWS service events to the default bus cost nothing unmatched), so that the shared
        # storage does not change when a pipeline gets a trigger.
        S3BucketNotification(self, "input-events", bucket=buckets["input"].id, eventbridge=True)

        self.outputs = StorageOutputs(
            key_arn=self._key_arn,
            key_alias=alias.name,
            input=BucketRef(buckets["input"].bucket, buckets["input"].arn),
            output=BucketRef(buckets["output"].bucket, buckets["output"].arn),
            models=BucketRef(buckets["models"].bucket, buckets["models"].arn),
            logs=BucketRef(logs.bucket, logs.arn),
        )

    def _key_policy(self) -> str:
        aws = self._aws
        log_groups = aws.arn("logs", f"log-group:{self._names.state_machine_log_groups}")
        return policy_document(
            key_admin_statement(aws.partition, aws.account_id),
            {
                "Sid": "CloudWatchLogsEncryptsThisEnvironmentsLogGroups",
                "Effect": "Allow",
                "Principal": {"Service": aws.service_principal("logs")},
                "Action": [
                    "kms:Decrypt",
                    "kms:Encrypt",
                    "kms:GenerateDataKey",
                    "kms:GenerateDataKeyWithoutPlaintext",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                ],
                "Resource": "*",
                "Condition": {"StringLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
            },
            {
                # The event triggers' rules keep the runs they could not start in the schedules'
                # dead-letter queues, which this key encrypts; on behalf of this environment's
                # rules only. (Alerts have a key of their own: modules/alerting/topic.py.)
                "Sid": "EventTriggersOfThisEnvironmentKeepTheirDeadLetters",
                "Effect": "Allow",
                "Principal": {"Service": aws.service_principal("events")},
                "Action": KEY_USE_ACTIONS,
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": aws.account_id},
                    "ArnLike": {
                        "aws:SourceArn": aws.arn("events", f"rule/{self._names.pipelines_pattern}")
                    },
                },
            },
        )

    def _bucket(self, purpose: str, *, kms: bool) -> S3Bucket:
        secure = SecureBucket(
            self,
            purpose,
            name=self._bucket_names[purpose],
            kms_key_arn=self._key_arn if kms else None,
            allow_destroy=self._allow_destroy,
            lifecycle_rules=self._lifecycle_rules(purpose),
            access_log_bucket_id=self._logs_bucket_id if kms else None,
            access_log_prefix=f"{purpose}/",
            extra_policy_statements=None if kms else self._log_delivery_statements,
        )
        return secure.bucket

    def _lifecycle_rules(self, purpose: str) -> list[S3BucketLifecycleConfigurationRule]:
        storage = self._settings
        rules = [
            lifecycle_rule(
                "expire-noncurrent-versions",
                noncurrent_days=storage.noncurrent_version_expiration_days,
            ),
            lifecycle_rule(
                "abort-incomplete-multipart-uploads",
                abort_multipart_days=storage.abort_incomplete_multipart_days,
            ),
        ]
        expire_after = {
            "output": storage.output_expiration_days,
            LOGS_BUCKET: storage.access_log_expiration_days,
        }.get(purpose)
        if expire_after is not None:
            rules.append(lifecycle_rule("expire-objects", expire_days=expire_after))
        return rules

    def _log_delivery_statements(self, logs_arn: str) -> list[dict[str, object]]:
        aws = self._aws
        sources = [
            aws.arn("s3", self._bucket_names[p], region=False, account=False) for p in DATA_BUCKETS
        ]
        return [
            allow(
                "S3ServerAccessLogsFromThisEnvironmentsBuckets",
                ["s3:PutObject"],
                f"{logs_arn}/*",
                Principal={"Service": aws.service_principal("logging.s3")},
                Condition={
                    "StringEquals": {"aws:SourceAccount": aws.account_id},
                    "ArnLike": {"aws:SourceArn": sources},
                },
            )
        ]
