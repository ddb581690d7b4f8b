"""What every layer needs to know about where it is deployed, and how things are named.

``AwsContext`` carries the account, region and partition (the account may be a Terraform
reference to ``aws_caller_identity`` when the config does not pin one) and builds ARNs from them.
``Names`` derives every resource name from project, environment and pipeline, so names are
predictable, carry all three, and are checked for length in one place (see ``modules.config``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AwsContext:
    account_id: str
    region: str
    partition: str

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return ":".join(
            [
                "arn",
                self.partition,
                service,
                self.region if region else "",
                self.account_id if account else "",
                resource,
            ]
        )

    def service_principal(self, service: str) -> str:
        """The service principal of one of the services this project trusts, looked up per
        partition (never derived by a string rule: in aws-cn most principals keep
        ``amazonaws.com``, some do not)."""
        return SERVICE_PRINCIPALS[self.partition][service].format(region=self.region)


# Service principals of the services this project names in trust, key, topic and queue policies,
# per partition. AWS documents them per service; in the commercial and GovCloud partitions all of
# these are <service>.amazonaws.com (CloudWatch Logs is regional). China regions (aws-cn) are
# refused by the config (modules/config.py, SUPPORTED_PARTITIONS) rather than guessed here.
_COMMERCIAL_PRINCIPALS = {
    "cloudwatch": "cloudwatch.amazonaws.com",
    "events": "events.amazonaws.com",
    "logging.s3": "logging.s3.amazonaws.com",
    "logs": "logs.{region}.amazonaws.com",
    "sagemaker": "sagemaker.amazonaws.com",
    "scheduler": "scheduler.amazonaws.com",
    "sns": "sns.amazonaws.com",
    "states": "states.amazonaws.com",
}
SERVICE_PRINCIPALS: dict[str, dict[str, str]] = {
    "aws": _COMMERCIAL_PRINCIPALS,
    "aws-us-gov": _COMMERCIAL_PRINCIPALS,
}

# The AWS console per partition (links in failure notifications).
_CONSOLE_HOSTS = {
    "aws": "https://{region}.console.aws.amazon.com",
    "aws-us-gov": "https://console.amazonaws-us-gov.com",
}


def console_url(partition: str, region: str, path: str) -> str:
    """A console page in the given partition and region."""
    return f"{_CONSOLE_HOSTS[partition].format(region=region)}/{path}?region={region}"


@dataclass(frozen=True)
class Names:
    project: str
    environment: str

    @property
    def prefix(self) -> str:
        """<project>-<environment>: shared resources of the environment."""
        return f"{self.project}-{self.environment}"

    def pipeline(self, pipeline: str) -> str:
        """<project>-<environment>-<pipeline>: at most 30 characters (checked by the config)."""
        return f"{self.prefix}-{pipeline}"

    def bucket(self, purpose: str, account_id: str, region: str) -> str:
        # S3 names are global: account and region make them unique without random suffixes.
        return f"{self.prefix}-{purpose}-{account_id}-{region}"

    @staticmethod
    def state_key_alias(bucket: str) -> str:
        """KMS alias of the key that encrypts the state in a bootstrap state bucket (bucket names
        are unique; alias names allow no dots)."""
        return f"alias/tfstate/{bucket.replace('.', '-')}"


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
