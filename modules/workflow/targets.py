"""``WorkflowTargets``: where a run reads, writes and reports, as the workflow's steps get it.

Needs the AWS context and the pipeline's names (modules/naming.py); the values may be Terraform
references (bucket names, ARNs), which stay inside string values of the definition.
"""

from __future__ import annotations

from dataclasses import dataclass

from modules.aws_context import AwsContext
from modules.naming import PipelineNames


@dataclass(frozen=True)
class WorkflowTargets:
    """Where a run reads, writes and reports; values may be Terraform references."""

    aws: AwsContext
    environment: str
    names: PipelineNames
    model_name: str | None  # None: a model is created per run from the registry
    execution_role_arn: str
    input_bucket: str
    input_bucket_arn: str
    output_bucket: str
    output_bucket_arn: str
    state_machine_arn: str
    kms_key_arn: str
    alert_topic_arn: str
