"""Turn Terraform references in synthesized JSON into plausible literal values, so that tools that
know nothing of Terraform (IAM linters, ASL validators) can check the documents.

The values are placed where the stack deploys (``AwsContext``: its partition, region and account),
so a GovCloud stack's placeholders are GovCloud ARNs; without one, a generic commercial account.
"""

from __future__ import annotations

import re

from modules.aws_context import AwsContext
from modules.config import partition_of

GENERIC = AwsContext(account_id="123456789012", region="us-east-1", partition="aws")
_REFERENCE = re.compile(r"\$\{(?:data\.)?(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}")
# Resource type -> (service, resource, whether the ARN names the region and account).
_ARNS = {
    "aws_kms_key": ("kms", "key/1234abcd-12ab-34cd-56ef-1234567890ab", True),
    "aws_s3_bucket": ("s3", "placeholder-bucket", False),
    "aws_sns_topic": ("sns", "placeholder-topic", True),
    "aws_sfn_state_machine": ("states", "stateMachine:placeholder", True),
    "aws_sqs_queue": ("sqs", "placeholder-queue", True),
    "aws_iam_role": ("iam", "role/placeholder-role", None),
    "aws_cloudwatch_log_group": ("logs", "log-group:placeholder", True),
    "aws_scheduler_schedule": ("scheduler", "schedule/g/placeholder", True),
    "aws_sagemaker_model": ("sagemaker", "model/placeholder", True),
}
# A pipeline stack reads the base stack's outputs through ``local.base.<key>`` (modules/stacks/).
_BASE_REFERENCE = re.compile(r"\$\{local\.base\.([a-z_]+)\}")
_BASE_TYPES = {
    "kms_key": "aws_kms_key",
    "alert_key": "aws_kms_key",
    "alert_topic": "aws_sns_topic",
}


def context_of(stack: dict[str, object]) -> AwsContext:
    """Where a synthesized stack deploys, from its AWS provider (the generic account)."""
    [provider] = stack["provider"]["aws"]  # type: ignore[index]
    region = str(provider["region"])
    return AwsContext(GENERIC.account_id, region, partition_of(region))


def _arn(resource_type: str, aws: AwsContext) -> str:
    service, resource, regional = _ARNS.get(resource_type, ("placeholder", "x", True))
    if regional is None:  # IAM: global, in the account
        return aws.arn(service, resource, region=False)
    return aws.arn(service, resource, region=regional, account=regional)


def resolve(text: str, aws: AwsContext = GENERIC) -> str:
    def value(match: re.Match[str]) -> str:
        resource_type, _, attribute = match.groups()
        if attribute == "arn":
            return _arn(resource_type, aws)
        if attribute == "account_id":
            return aws.account_id
        if resource_type == "aws_s3_bucket":
            return "placeholder-bucket"
        return "placeholder"

    def base_value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key.endswith("_arn"):
            stem = key.removesuffix("_arn")
            bucket = "aws_s3_bucket" if stem.endswith("_bucket") else ""
            return _arn(_BASE_TYPES.get(stem, bucket), aws)
        if key.endswith("_bucket"):
            return "placeholder-bucket"
        return "placeholder"

    return _BASE_REFERENCE.sub(base_value, _REFERENCE.sub(value, text))


def unresolved(text: str) -> list[str]:
    return re.findall(r"\$\{[^}]*\}", resolve(text))
