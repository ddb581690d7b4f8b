"""What the diagram knows about AWS resources: which resource types are helpers folded into their
parent's label (and how they read there), display names, colours, layers, and how a reference is
drawn (edge rules). Anything not listed still appears, with generic labels."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modules.stack_names import PIPELINE_SCOPE_PREFIX

if TYPE_CHECKING:
    from tools.diagram.graph import Reference

Body = Mapping[str, Any]


def _public_access(body: Body) -> str:
    flags = (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    )
    return "public access blocked" if all(body.get(f) is True for f in flags) else "public access"


def _versioning(body: Body) -> str:
    status = str(body.get("versioning_configuration", {}).get("status", "Enabled"))
    return "versioning" if status == "Enabled" else f"versioning {status.lower()}"


def _encryption(body: Body) -> str:
    algorithms = {"aws:kms": "SSE-KMS", "aws:kms:dsse": "DSSE-KMS", "AES256": "SSE-S3"}
    rules = body.get("rule", [])
    rule = rules[0] if isinstance(rules, list) and rules else {}
    algorithm = str(rule.get("apply_server_side_encryption_by_default", {}).get("sse_algorithm"))
    return algorithms.get(algorithm, "encryption")


def _bucket_policy(body: Body) -> str:
    return "TLS-only policy" if "aws:SecureTransport" in str(body.get("policy")) else "policy"


def _ownership(body: Body) -> str:
    owner = str(body.get("rule", {}).get("object_ownership"))
    return "ACLs disabled" if owner == "BucketOwnerEnforced" else "ownership controls"


def _fixed(text: str) -> Callable[[Body], str]:
    return lambda _body: text


@dataclass(frozen=True)
class Helper:
    """A resource type drawn inside its parent's label rather than as a node of its own."""

    feature: Callable[[Body], str]  # how it reads in the parent's label
    # The parent is the resource it references (a bucket's versioning names the bucket), or, for
    # "referrer", the resource that references it (a role is named by what assumes it).
    parent: str = "referenced"


# In the order features are listed in a label.
HELPERS: dict[str, Helper] = {
    "aws_kms_alias": Helper(lambda body: str(body.get("name", "alias"))),
    "aws_s3_bucket_public_access_block": Helper(_public_access),
    "aws_s3_bucket_ownership_controls": Helper(_ownership),
    "aws_s3_bucket_versioning": Helper(_versioning),
    "aws_s3_bucket_server_side_encryption_configuration": Helper(_encryption),
    "aws_s3_bucket_lifecycle_configuration": Helper(_fixed("lifecycle")),
    "aws_s3_bucket_policy": Helper(_bucket_policy),
    "aws_s3_bucket_logging": Helper(_fixed("access logging")),
    "aws_s3_bucket_notification": Helper(_fixed("event notifications")),
    "aws_iam_role": Helper(_fixed("IAM role"), parent="referrer"),
    "aws_iam_role_policy": Helper(_fixed("inline policy")),
    "aws_iam_role_policy_attachment": Helper(_fixed("managed policy")),
    "aws_sns_topic_policy": Helper(_fixed("topic policy")),
    "aws_sqs_queue_policy": Helper(_fixed("queue policy")),
    "aws_cloudwatch_event_target": Helper(_fixed("target")),
    "aws_lambda_permission": Helper(_fixed("invoke permission")),
}

# Top-level attributes holding policy documents: permissions, not flow.
POLICY_ATTRIBUTES = frozenset({"policy", "assume_role_policy", "access_policy"})
# Top-level attributes that are not configuration.
IGNORED_ATTRIBUTES = frozenset(
    {"//", "depends_on", "lifecycle", "provider", "count", "for_each", "tags", "tags_all"}
)

KINDS: dict[str, str] = {
    "aws_cloudwatch_dashboard": "CloudWatch dashboard",
    "aws_cloudwatch_event_rule": "EventBridge rule",
    "aws_cloudwatch_log_group": "Log group",
    "aws_cloudwatch_metric_alarm": "CloudWatch alarm",
    "aws_iam_role": "IAM role",
    "aws_kms_key": "KMS key",
    "aws_s3_bucket": "S3 bucket",
    "aws_sagemaker_model": "SageMaker model",
    "aws_scheduler_schedule": "Schedule",
    "aws_scheduler_schedule_group": "Schedule group",
    "aws_sfn_state_machine": "State machine",
    "aws_sns_topic": "SNS topic",
    "aws_sns_topic_subscription": "SNS subscription",
    "aws_sqs_queue": "SQS queue",
}

# Attributes naming a resource, in order of preference.
NAME_ATTRIBUTES = ("name", "bucket", "alarm_name", "function_name", "dashboard_name", "table_name")

# Node fill colour by service (the second word of the resource type).
SERVICE_COLORS: dict[str, str] = {
    "cloudwatch": "#fde9d9",
    "iam": "#fff2cc",
    "kms": "#fff2cc",
    "s3": "#e2f0d9",
    "sagemaker": "#d9f2f2",
    "scheduler": "#e8e0f5",
    "sfn": "#fce4ec",
    "sns": "#fde2e2",
    "sqs": "#e8e0f5",
}
DEFAULT_NODE_COLOR = "#f2f2f2"


@dataclass(frozen=True)
class Layer:
    label: str
    color: str


# Cluster labels by construct id (regular expressions; a named group fills the label).
LAYERS: tuple[tuple[str, Layer], ...] = (
    ("storage", Layer("Storage: S3 + KMS", "#f3f9ef")),
    ("alerts", Layer("Alerting: SNS", "#fdf1f1")),
    (f"{PIPELINE_SCOPE_PREFIX}(?P<name>.+)", Layer("Pipeline: {name}", "#f7f7f7")),
    ("scheduler", Layer("EventBridge Scheduler", "#f4f0fa")),
    ("sfn", Layer("Step Functions", "#fdf2f6")),
    ("sagemaker", Layer("SageMaker", "#eff9f9")),
    ("alarms", Layer("Alarms: CloudWatch + EventBridge", "#fef6ee")),
    ("trigger", Layer("Trigger", "#f4f0fa")),
    ("dashboard", Layer("Dashboard", "#fef6ee")),
)
DEFAULT_LAYER_COLOR = "#f7f7f7"


@dataclass(frozen=True)
class EdgeStyle:
    color: str
    style: str = "solid"
    penwidth: str = "1.2"
    weight: str = "1"  # heavier edges are kept shorter and straighter


EDGE_STYLES: dict[str, EdgeStyle] = {
    "flow": EdgeStyle("#1f4e79", penwidth="2", weight="8"),
    "data": EdgeStyle("#2e7d32", penwidth="1.6", weight="2"),
    "alert": EdgeStyle("#c62828", penwidth="1.4"),
    "monitor": EdgeStyle("#e67e22", "dashed"),
    "log": EdgeStyle("#7f7f7f", "dashed"),
    "encrypt": EdgeStyle("#b8860b", "dotted", "1.4"),
    "member": EdgeStyle("#7f7f7f", "dotted"),
    "dashboard": EdgeStyle("#7f7f7f", "dashed"),
    "ref": EdgeStyle("#7f7f7f"),
}


@dataclass(frozen=True)
class EdgeRule:
    """How a reference is drawn: matched on the referencing attribute and the resource types."""

    attribute: str  # regular expression searched in the dotted attribute path
    label: str  # may name the expression's groups: "{state}"
    kind: str  # a key of EDGE_STYLES
    source_type: str | None = None  # type of the resource holding the reference
    target_type: str | None = None
    reverse: bool = False  # draw from the referenced resource to the referencing one
    # "head" or "tail": that end is drawn as its top-level cluster, one arrow per cluster, and
    # not at all inside the other end's own cluster (the key encrypts "pipeline: churn").
    summarize: str = ""

    def label_for(self, ref: Reference, source_type: str, target_type: str) -> str | None:
        """The edge label if the rule applies to the reference, else None."""
        if self.source_type not in (None, source_type):
            return None
        if self.target_type not in (None, target_type):
            return None
        match = re.search(self.attribute, ref.attribute)
        return None if match is None else self.label.format(**match.groupdict())


EVENT_TARGET = "aws_cloudwatch_event_target"
# First match wins; a reference no rule matches is drawn as a plain grey arrow.
EDGE_RULES: tuple[EdgeRule, ...] = (
    EdgeRule("", "encrypts", "encrypt", target_type="aws_kms_key", reverse=True, summarize="head"),
    EdgeRule(r"^dashboard_body\.", "", "dashboard", reverse=True, summarize="tail"),
    EdgeRule(r"^dimensions\.", "metrics", "monitor", reverse=True),
    EdgeRule(r"^(alarm|ok|insufficient_data)_actions$", "alarm", "alert"),
    EdgeRule(r"(^|\.)dead_letter_config\.", "undelivered runs", "alert"),
    EdgeRule(r"^target\.arn$", "starts run", "flow", source_type="aws_scheduler_schedule"),
    EdgeRule(r"^arn$", "notifies", "alert", EVENT_TARGET, target_type="aws_sns_topic"),
    EdgeRule(r"^arn$", "starts run", "flow", EVENT_TARGET, target_type="aws_sfn_state_machine"),
    EdgeRule(r"^event_pattern\.", "watches", "ref"),
    EdgeRule(r"^topic_arn$", "delivers", "alert", "aws_sns_topic_subscription", reverse=True),
    EdgeRule(r"^group_name$", "contains", "member", reverse=True),
    EdgeRule(r"^definition\..*\.ModelName$", "runs transform job", "flow"),
    EdgeRule(r"^definition\..*\.ExecutionRoleArn$", "creates run model", "flow"),
    EdgeRule(r"^definition\..*\.TransformInput\.", "job reads input", "data"),
    EdgeRule(r"^definition\..*\.TransformOutput\.", "job writes predictions", "data"),
    EdgeRule(r"^definition\.States\.(?P<state>[^.]+)\..*\.TopicArn$", "{state}", "alert"),
    EdgeRule(r"^logging_configuration\.", "execution logs", "log"),
    EdgeRule(r"(model_data_url|ModelDataUrl)$", "model artifact", "data"),
    EdgeRule(r"^target_bucket$", "access logs", "log", source_type="aws_s3_bucket_logging"),
)
DEFAULT_RULE = EdgeRule("", "", "ref")

LABEL_WIDTH = 44
