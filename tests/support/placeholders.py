"""Turn Terraform references in synthesized JSON into plausible literal values, so that tools that
know nothing of Terraform (IAM linters, ASL validators) can check the documents."""

from __future__ import annotations

import re

ACCOUNT = "123456789012"
REGION = "eu-west-1"
_REFERENCE = re.compile(r"\$\{(?:data\.)?(aws_[a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}")
_ARNS = {
    "aws_kms_key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "aws_s3_bucket": "arn:aws:s3:::placeholder-bucket",
    "aws_sns_topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:placeholder-topic",
    "aws_sfn_state_machine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:placeholder",
    "aws_sqs_queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:placeholder-queue",
    "aws_iam_role": f"arn:aws:iam::{ACCOUNT}:role/placeholder-role",
    "aws_cloudwatch_log_group": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:placeholder",
    "aws_scheduler_schedule": f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/g/placeholder",
    "aws_sagemaker_model": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model/placeholder",
}


def _value(match: re.Match[str]) -> str:
    resource_type, _, attribute = match.groups()
    if attribute == "arn":
        return _ARNS.get(resource_type, f"arn:aws:placeholder:{REGION}:{ACCOUNT}:x")
    if attribute == "account_id":
        return ACCOUNT
    if resource_type == "aws_s3_bucket":
        return "placeholder-bucket"
    return "placeholder"


# A pipeline stack reads the base stack's outputs through ``local.base.<key>`` (modules/stacks/).
_BASE_REFERENCE = re.compile(r"\$\{local\.base\.([a-z_]+)\}")
_BASE_TYPES = {"kms_key": "aws_kms_key", "alert_topic": "aws_sns_topic"}


def _base_value(match: re.Match[str]) -> str:
    key = match.group(1)
    if key.endswith("_arn"):
        stem = key.removesuffix("_arn")
        resource_type = _BASE_TYPES.get(stem, "aws_s3_bucket" if stem.endswith("_bucket") else "")
        return _ARNS.get(resource_type, f"arn:aws:placeholder:{REGION}:{ACCOUNT}:x")
    if key.endswith("_bucket"):
        return "placeholder-bucket"
    return "placeholder"


def resolve(text: str) -> str:
    return _BASE_REFERENCE.sub(_base_value, _REFERENCE.sub(_value, text))


def unresolved(text: str) -> list[str]:
    return re.findall(r"\$\{[^}]*\}", resolve(text))
