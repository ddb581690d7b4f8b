"""The IAM toolkit: policy documents and statements, service roles, and the grants the layers give.

One place for what every layer writes about permissions: ``allow`` (no wildcard actions;
``Resource: "*"`` only for ``UNSCOPED_ACTIONS``), the TLS-only deny and the key administration
statement of resource policies, service trust guarded against confused deputies, ``service_role``
(role + trust + inline policy, exposed for ``depends_on``), and grants on bucket and key ARNs
(list a prefix, read or write under a prefix, use the key).

Needs: an ``AwsContext`` for service principals; values may be Terraform references.
Creates (``service_role`` only): an ``aws_iam_role`` and its ``aws_iam_role_policy``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modules.aws_context import AwsContext
from modules.naming import RoleNames

if TYPE_CHECKING:
    from constructs import Construct

    from imports.aws import IamRolePolicy

Statement = dict[str, Any]


def policy_document(*statements: dict[str, Any]) -> str:
    """An IAM policy document as JSON text; Terraform references stay inside string values."""
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


LOG_DELIVERY_ACTIONS = [
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
]
XRAY_ACTIONS = [
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:PutTelemetryRecords",
    "xray:PutTraceSegments",
]
VPC_NETWORK_ACTIONS = [
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
]

# The only actions an identity policy of this project may grant on Resource "*", each with the
# reason: AWS offers no narrower resource for them. allow() refuses "*" for anything else.
UNSCOPED_ACTIONS: dict[str, str] = {
    **dict.fromkeys(LOG_DELIVERY_ACTIONS, "Step Functions log delivery accepts only '*'"),
    **dict.fromkeys(XRAY_ACTIONS, "X-Ray tracing accepts only '*'"),
    "cloudwatch:PutMetricData": "no resource type; scoped by the cloudwatch:namespace condition",
    "ecr:GetAuthorizationToken": "no resource type: it only issues a registry login token",
    "sagemaker:ListModelPackages": "no resource type; the group is fixed in the definition",
    **dict.fromkeys(
        VPC_NETWORK_ACTIONS,
        "SageMaker VPC placement: Describe* have no resource type, and the network interfaces "
        "SageMaker creates for a job do not exist before it runs",
    ),
}


def allow(sid: str, actions: list[str], resources: list[str] | str, **extra: Any) -> dict[str, Any]:
    """An Allow statement. No wildcard actions; Resource "*" only for UNSCOPED_ACTIONS."""
    wildcards = [a for a in actions if "*" in a]
    if wildcards:
        raise ValueError(f"{sid}: wildcard actions are not allowed: {wildcards}")
    if resources == "*" and "Principal" not in extra:
        scoped = sorted(set(actions) - set(UNSCOPED_ACTIONS))
        if scoped:
            raise ValueError(f"{sid}: {scoped} must name their resources, not '*'")
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": resources,
    }
    statement.update(extra)
    return statement


def service_trust_policy(principal: str, account_id: str, source_arn: str | None = None) -> str:
    """Trust policy letting one AWS service assume a role, guarded against confused deputies:
    only on behalf of this account, and of one resource where the service says which."""
    conditions: dict[str, dict[str, Any]] = {"StringEquals": {"aws:SourceAccount": account_id}}
    if source_arn is not None:
        conditions["ArnLike"] = {"aws:SourceArn": source_arn}
    return policy_document(
        {
            "Sid": "TrustedService",
            "Effect": "Allow",
            "Principal": {"Service": principal},
            "Action": "sts:AssumeRole",
            "Condition": conditions,
        }
    )


# Key policy actions for the account root. Listed instead of "kms:*" so that no statement grants a
# wildcard action; these are every action IAM policies in the account may then be granted.
KEY_ACCOUNT_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]

# What a role needs to read and write objects or messages encrypted with the key.
KEY_USE_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"]


def deny_insecure_transport(action: str, resources: str | list[str]) -> Statement:
    """Resource policies refuse every request not made over TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resources,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def bucket_tls_only(bucket_arn: str) -> Statement:
    return deny_insecure_transport("s3:*", [bucket_arn, f"{bucket_arn}/*"])


def key_admin_statement(partition: str, account_id: str) -> Statement:
    """Key policy: the account administers the key and delegates its use through IAM."""
    return {
        "Sid": "AccountAdministersAndDelegatesThroughIam",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
        "Action": KEY_ACCOUNT_ACTIONS,
        "Resource": "*",  # in a key policy, "*" means this key
    }


# Grants on bucket and key ARNs. Prefixes are object key prefixes ("" for the whole bucket).


def list_prefix(sid: str, bucket_arn: str, prefix: str) -> Statement:
    return allow(
        sid,
        ["s3:ListBucket"],
        bucket_arn,
        Condition={"StringLike": {"s3:prefix": [f"{prefix}*"]}},
    )


def read_objects(sid: str, bucket_arn: str, keys: str) -> Statement:
    """Read the objects whose keys match ``keys`` (a key or a pattern)."""
    return allow(sid, ["s3:GetObject"], f"{bucket_arn}/{keys}")


def write_objects(sid: str, bucket_arn: str, keys: str, *, multipart: bool = True) -> Statement:
    """Write objects whose keys match ``keys``; multipart writers may also abort their uploads."""
    actions = ["s3:AbortMultipartUpload", "s3:PutObject"] if multipart else ["s3:PutObject"]
    return allow(sid, actions, f"{bucket_arn}/{keys}")


def use_key(sid: str, key_arn: str, *, describe: bool = True) -> Statement:
    """Read and write data encrypted with the key (and see the key, for services that check it)."""
    actions = [*KEY_USE_ACTIONS, "kms:DescribeKey"] if describe else KEY_USE_ACTIONS
    return allow(sid, actions, key_arn)


def grant_key_to_aws_resources(sid: str, key_arn: str) -> Statement:
    """Let a service hand the key to the AWS resources it creates (volumes of transform jobs)."""
    return allow(
        sid,
        ["kms:CreateGrant"],
        key_arn,
        Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}},
    )


@dataclass(frozen=True)
class ServiceRole:
    arn: str
    # The inline policy: resources that act with the role depend on it (IAM is eventually
    # consistent, and a role without its policy fails the first call).
    policy: IamRolePolicy


def service_role(
    scope: Construct,
    aws: AwsContext,
    *,
    id: str,
    policy_id: str,
    names: RoleNames,
    description: str,
    service: str,
    source_arn: str | None = None,
    statements: list[Statement],
) -> ServiceRole:
    """A role one AWS service assumes (trust guarded by ``aws:SourceAccount`` and, where the service
    sets it, ``aws:SourceArn``) with one inline policy. Created directly in ``scope`` under the
    given construct ids, so resource addresses are the callers' own."""
    # Imported here: the statements above are plain data, built (by modules.workflow too) without
    # loading the provider.
    from imports.aws import IamRole, IamRolePolicy

    role = IamRole(
        scope,
        id,
        name=names.role,
        description=description,
        assume_role_policy=service_trust_policy(
            aws.service_principal(service), aws.account_id, source_arn
        ),
    )
    policy = IamRolePolicy(
        scope, policy_id, name=names.policy, role=role.id, policy=policy_document(*statements)
    )
    return ServiceRole(arn=role.arn, policy=policy)
