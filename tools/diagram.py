"""Architecture diagram of an environment stack, drawn from its synthesized Terraform JSON.

    make diagram        # = .venv/bin/python tools/diagram.py

synthesizes the default config's dev stack (``mlbatch-dev``) in a temporary directory and writes
``docs/architecture.dot`` (the DOT source: deterministic, checked by ``tests/test_diagram.py``)
and, when Graphviz's ``dot`` is installed, ``docs/architecture.svg`` and ``docs/architecture.png``.

What it draws, all derived from ``cdk.tf.json``:

* clusters from the construct paths: storage, alerting, and per pipeline its SageMaker, Step
  Functions, Scheduler and alarm layers;
* one node per main resource, labelled with its kind and name; guard and helper resources (bucket
  versioning, encryption, lifecycle, policies, IAM roles and their policies, KMS alias, ...) are
  folded into the label of the resource they belong to;
* one arrow per reference (``${aws_type.name.attr}``, also inside JSON-encoded strings such as the
  state machine definition): schedule -> state machine -> model -> buckets, failures and alarms ->
  SNS topic, DLQ -> alarm; references to the KMS key become one "encrypts" arrow per cluster.
  References inside IAM/resource policy documents are permissions, not flow: they are not drawn.

The curated knowledge is small and lives in the tables below: which resource types are helpers (and
how they read in their parent's label), display names of resource types and layers, and the labels
of the key flow edges. Anything new (a resource type, a layer) still appears, with generic labels.

Construct paths come from each resource's ``//.metadata.path``; without metadata (``cdktf
Testing.synth`` strips it) they are recovered from the logical ids, which cdktf builds from the same
path, so both give the same diagram.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import graphviz  # type: ignore[import-untyped]

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
DEFAULT_ENVIRONMENT = "dev"
OUTPUT_STEM = "architecture"

Body = Mapping[str, Any]
StackMap = Mapping[str, str]  # top-level construct (e.g. "pipeline-churn") -> its stack

# --------------------------------------------------------------------------------------------
# Curated knowledge
# --------------------------------------------------------------------------------------------


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
    ("pipeline-(?P<name>.+)", Layer("Pipeline: {name}", "#f7f7f7")),
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

# --------------------------------------------------------------------------------------------
# Reading the stack
# --------------------------------------------------------------------------------------------

_INTERPOLATION = re.compile(r"\$\{([^}]*)\}")
_ADDRESS = re.compile(r"(?<![\w.])((?:data\.)?[a-z][a-z0-9]*(?:_[a-z0-9]+)+\.[A-Za-z_][\w-]*)")
_LOGICAL_ID_HASH = re.compile(r"_[0-9A-F]{8}$")


@dataclass(frozen=True)
class Resource:
    address: str  # "aws_s3_bucket.storage_input_bucket_504CFB3D"
    type: str
    path: tuple[str, ...]  # construct path below the stack, as cdktf names logical ids
    body: Body

    @property
    def node_id(self) -> str:
        return "/".join(self.path)


@dataclass(frozen=True)
class Reference:
    source: str  # address of the resource holding the reference
    target: str  # address of the referenced resource
    attribute: str  # dotted path of the attribute, e.g. "target.dead_letter_config.arn"


def _normalized_path(segments: list[str]) -> tuple[str, ...]:
    """The path as cdktf's logical id spells it (``makeUniqueId``): without ``Default`` and
    ``Resource`` segments, without a segment its predecessor ends with, only ``[A-Za-z0-9_-]``."""
    kept: list[str] = []
    for segment in segments:
        if segment == "Default" or (kept and kept[-1].endswith(segment)):
            continue
        kept.append(segment)
    return tuple(re.sub(r"[^A-Za-z0-9_-]", "", s) for s in kept if s != "Resource")


def _construct_path(logical_id: str, body: Body) -> tuple[str, ...]:
    metadata_path = body.get("//", {}).get("metadata", {}).get("path")
    if isinstance(metadata_path, str):
        return _normalized_path(metadata_path.split("/")[1:])  # below the stack
    if _LOGICAL_ID_HASH.search(logical_id):
        return tuple(_LOGICAL_ID_HASH.sub("", logical_id).split("_"))
    return (logical_id,)


def _resources(stack_json: Mapping[str, Any]) -> dict[str, Resource]:
    found: dict[str, Resource] = {}
    for type_, instances in sorted(stack_json.get("resource", {}).items()):
        for logical_id, body in sorted(instances.items()):
            address = f"{type_}.{logical_id}"
            found[address] = Resource(address, type_, _construct_path(logical_id, body), body)
    return found


def _strings(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every string in a value with its attribute path, descending into JSON-encoded strings."""
    if isinstance(value, Mapping):
        for key in sorted(value):
            yield from _strings(value[key], (*path, str(key)))
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, path)
    elif isinstance(value, str):
        if value.lstrip()[:1] in ("{", "["):
            try:
                decoded = json.loads(value)
            except ValueError:
                pass
            else:
                yield from _strings(decoded, path)
                return
        yield path, value


def _references(resource: Resource, known: Mapping[str, Resource]) -> Iterator[Reference]:
    for attribute in sorted(resource.body):
        if attribute in IGNORED_ATTRIBUTES or attribute in POLICY_ATTRIBUTES:
            continue
        for path, text in _strings(resource.body[attribute], (attribute,)):
            for expression in _INTERPOLATION.findall(text):
                for address in _ADDRESS.findall(expression):
                    if address in known and address != resource.address:
                        yield Reference(resource.address, address, ".".join(path))


# --------------------------------------------------------------------------------------------
# The graph model
# --------------------------------------------------------------------------------------------


@dataclass
class Node:
    id: str
    type: str
    cluster: tuple[str, ...]  # path of the innermost cluster; () is the top level
    members: list[Resource]  # several when identical siblings are merged
    features: list[str] = field(default_factory=list)


@dataclass
class Edge:
    tail: str
    head: str
    rule: EdgeRule  # the first in EDGE_RULES among the references it draws
    labels: list[str] = field(default_factory=list)
    lhead: str = ""  # for summaries: the cluster the arrow ends at
    ltail: str = ""  # or starts from
    visible: bool = True  # hidden edges only keep the layout in data-flow order

    @property
    def kind(self) -> str:
        return self.rule.kind


def _common_prefix(a: tuple[str, ...], b: tuple[str, ...]) -> int:
    length = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        length += 1
    return length


def _parents(resources: Mapping[str, Resource], refs: list[Reference]) -> dict[str, str]:
    """Helper address -> the address it folds into (maybe a helper itself, folded in turn)."""

    def closest(address: str, candidates: set[str]) -> str:
        path = resources[address].path
        return min(candidates, key=lambda c: (-_common_prefix(path, resources[c].path), c))

    def folds(address: str, parent: str) -> bool:
        helper = HELPERS.get(resources[address].type)
        return helper is not None and helper.parent == parent

    parents: dict[str, str] = {}
    for address in resources:
        if folds(address, "referenced"):
            targets = {r.target for r in refs if r.source == address}
            if targets:
                parents[address] = closest(address, targets)
    for address, resource in resources.items():
        if folds(address, "referrer"):
            # Only into a referrer of its own construct: a role used from elsewhere stays a node.
            scope = len(resource.path) - 1
            sources = {
                r.source
                for r in refs
                if r.target == address
                and parents.get(r.source) != address  # not its own policy
                and not folds(r.source, "referrer")
                and _common_prefix(resource.path, resources[r.source].path) >= scope
            }
            if sources:
                parents[address] = closest(address, sources)
    return parents


def _root(address: str, parents: Mapping[str, str]) -> str:
    seen = {address}
    while address in parents and parents[address] not in seen:
        address = parents[address]
        seen.add(address)
    return address


def _layer(segment: str) -> Layer | None:
    for pattern, layer in LAYERS:
        match = re.fullmatch(pattern, segment)
        if match:
            return Layer(layer.label.format(**match.groupdict()), layer.color)
    return None


def _clusters(mains: list[Resource]) -> set[tuple[str, ...]]:
    """Path prefixes drawn as clusters: known layers, and any prefix holding two main nodes."""
    counts: dict[tuple[str, ...], int] = {}
    for resource in mains:
        for depth in range(1, len(resource.path)):
            prefix = resource.path[:depth]
            counts[prefix] = counts.get(prefix, 0) + 1
    return {p for p, count in counts.items() if count >= 2 or _layer(p[-1]) is not None}


def _rule(ref: Reference, resources: Mapping[str, Resource]) -> tuple[EdgeRule, str]:
    source, target = resources[ref.source].type, resources[ref.target].type
    for rule in EDGE_RULES:
        label = rule.label_for(ref, source, target)
        if label is not None:
            return rule, label
    return DEFAULT_RULE, ""


@dataclass
class Model:
    nodes: dict[str, Node]
    edges: list[Edge]
    clusters: set[tuple[str, ...]]


def build_model(stack_json: Mapping[str, Any]) -> Model:
    """Nodes (helpers folded, identical siblings merged), edges and clusters of a stack."""
    resources = _resources(stack_json)
    refs = [ref for r in resources.values() for ref in _references(r, resources)]
    parents = _parents(resources, refs)
    mains = [r for r in resources.values() if r.address not in parents]
    clusters = _clusters(mains)

    nodes: dict[str, Node] = {}
    node_of: dict[str, str] = {}  # resource address -> node id
    for resource in mains:
        node_id = resource.node_id if resource.node_id not in nodes else resource.address
        cluster = max((p for p in clusters if resource.path[: len(p)] == p), key=len, default=())
        nodes[node_id] = Node(node_id, resource.type, cluster, [resource])
        node_of[resource.address] = node_id
    order = {type_: index for index, type_ in enumerate(HELPERS)}
    for address in sorted(parents, key=lambda a: (order[resources[a].type], a)):
        node = nodes[node_of[_root(address, parents)]]
        feature = HELPERS[resources[address].type].feature(resources[address].body)
        if feature not in node.features:
            node.features.append(feature)
        node_of[address] = node.id

    edges = _edges(refs, resources, node_of)
    _merge_siblings(nodes, edges)
    return Model(nodes, _summarize(edges, nodes), clusters)


def _edges(
    refs: list[Reference], resources: Mapping[str, Resource], node_of: Mapping[str, str]
) -> list[Edge]:
    """One edge per pair of nodes, styled by the best rule among its references."""
    rank = {rule: index for index, rule in enumerate((*EDGE_RULES, DEFAULT_RULE))}
    found: dict[tuple[str, str], list[tuple[int, EdgeRule, str]]] = {}
    for ref in refs:
        source, target = node_of[ref.source], node_of[ref.target]
        if source != target:
            rule, label = _rule(ref, resources)
            ends = (target, source) if rule.reverse else (source, target)
            found.setdefault(ends, []).append((rank[rule], rule, label))
    edges: list[Edge] = []
    for (tail, head), matches in found.items():
        matches.sort(key=lambda match: match[0])  # stable: labels of one rule keep their order
        labels = list(dict.fromkeys(label for _, _, label in matches if label))
        edges.append(Edge(tail, head, matches[0][1], labels))
    return edges


def _merge_siblings(nodes: dict[str, Node], edges: list[Edge]) -> None:
    """Merge nodes of one type in one cluster whose arrows and features are all the same."""

    def signature(node: Node) -> tuple[Any, ...]:
        ends = sorted(
            (e.tail == node.id, e.head if e.tail == node.id else e.tail, e.kind, tuple(e.labels))
            for e in edges
            if node.id in (e.tail, e.head)
        )
        return (node.cluster, node.type, tuple(node.features), tuple(ends))

    groups: dict[tuple[Any, ...], list[str]] = {}
    for node_id in sorted(nodes):
        groups.setdefault(signature(nodes[node_id]), []).append(node_id)
    renamed: dict[str, str] = {}
    for ids in groups.values():
        if len(ids) < 2:
            continue
        first = nodes[ids[0]]
        merged_id = f"{ids[0]}+{len(ids) - 1}"
        members = [r for node_id in ids for r in nodes.pop(node_id).members]
        nodes[merged_id] = Node(merged_id, first.type, first.cluster, members, first.features)
        renamed.update(dict.fromkeys(ids, merged_id))
    unique: dict[tuple[str, str], Edge] = {}
    for edge in edges:
        edge.tail, edge.head = renamed.get(edge.tail, edge.tail), renamed.get(edge.head, edge.head)
        unique.setdefault((edge.tail, edge.head), edge)
    edges[:] = unique.values()


def _summarize(edges: list[Edge], nodes: Mapping[str, Node]) -> list[Edge]:
    """Replace the edges of summarizing rules by one arrow per (node, top-level cluster)."""
    kept: list[Edge] = []
    summaries: dict[tuple[str, str, str], Edge] = {}
    for edge in sorted(edges, key=lambda e: (e.tail, e.head)):
        side = edge.rule.summarize
        if not side:
            kept.append(edge)
            continue
        hub, other = (edge.tail, edge.head) if side == "head" else (edge.head, edge.tail)
        top, hub_top = nodes[other].cluster[:1], nodes[hub].cluster[:1]
        if not top:
            kept.append(edge)
        elif top == hub_top:  # said in the node's label (SSE-KMS): hidden, for the layout only
            kept.append(Edge(edge.tail, edge.head, edge.rule, visible=False))
        else:
            cluster = _cluster_name(top)
            summary = Edge(edge.tail, edge.head, edge.rule, edge.labels)
            if side == "head":
                summary.lhead = cluster
            else:
                summary.ltail = cluster
            summaries.setdefault((hub, side, cluster), summary)
    return kept + list(summaries.values())


# --------------------------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------------------------


def _kind(type_: str) -> str:
    return KINDS.get(type_, type_.removeprefix("aws_").replace("_", " ").capitalize())


def _display(text: str) -> str:
    """Interpolations cut to their attribute: ``${data.x.y.account_id}`` -> ``{account_id}``"""
    return _INTERPOLATION.sub(lambda m: "{" + m.group(1).rsplit(".", 1)[-1] + "}", text)


def _name(resource: Resource) -> str:
    body = resource.body
    if resource.type == "aws_sns_topic_subscription":
        return f"{body.get('protocol')}: {body.get('endpoint')}"
    for attribute in NAME_ATTRIBUTES:
        if isinstance(body.get(attribute), str):
            return _display(body[attribute])
    leaf = resource.path[-1]
    return "" if _kind(resource.type).lower().endswith(leaf.lower()) else leaf  # not "KMS key: key"


def _details(resource: Resource) -> list[str]:
    body = resource.body
    lines: list[str] = []
    if resource.type == "aws_scheduler_schedule":
        timezone = body.get("schedule_expression_timezone", "UTC")
        lines.append(f"{body.get('schedule_expression')} {timezone}")
    elif isinstance(body.get("retention_in_days"), int):
        lines.append(f"retention {body['retention_in_days']} days")
    if isinstance(body.get("description"), str):
        lines.append(_display(body["description"]))
    if _disabled(resource):
        lines.append("DISABLED")
    return lines


def _disabled(resource: Resource) -> bool:
    return resource.body.get("state") == "DISABLED" or resource.body.get("is_enabled") is False


def _common_words(names: list[str]) -> str:
    """The longest common prefix of names that ends at a '-' (e.g. "mlbatch-dev-churn-")."""
    prefix = names[0]
    for name in names[1:]:
        prefix = prefix[: _common_prefix(tuple(prefix), tuple(name))]
    return prefix[: prefix.rfind("-") + 1]


def _wrap(text: str) -> list[str]:
    return textwrap.wrap(text, LABEL_WIDTH, break_on_hyphens=False) or [""]


def _label(node: Node) -> str:
    first = node.members[0]
    if len(node.members) == 1:
        title = _kind(node.type)
        names = _wrap(_name(first)) if _name(first) else []
        details = [line for detail in _details(first) for line in _wrap(detail)]
    else:
        title = f"{_kind(node.type)} \u00d7{len(node.members)}"  # multiplication sign
        all_names = [_name(r) for r in node.members]
        prefix = _common_words(all_names)
        names = ([prefix + "…"] if prefix else []) + _wrap(
            ", ".join(name.removeprefix(prefix) for name in all_names)
        )
        details = []
    features = _wrap("+ " + ", ".join(node.features)) if node.features else []
    rows = [f"<b>{html.escape(title)}</b>"] + [html.escape(line) for line in names]
    rows += [f'<font point-size="9">{html.escape(line)}</font>' for line in details]
    rows += [
        f'<font point-size="9" color="#555555">{html.escape(line)}</font>' for line in features
    ]
    return "<" + "<br/>".join(rows) + ">"


def _cluster_name(path: tuple[str, ...]) -> str:
    return "cluster_" + "/".join(path)


_REMOTE_OUTPUT = re.compile(r"^\$\{data\.terraform_remote_state\.[\w-]+\.outputs\.([\w-]+)\}$")
_LOCAL_BASE = re.compile(r"\$\{local\.base\.(\w+)\}")


def _imported(imports: Mapping[str, str], match: re.Match[str]) -> str:
    return imports[match.group(1)]


def merge_stacks(documents: Mapping[str, Mapping[str, Any]]) -> tuple[dict[str, Any], StackMap]:
    """One document of an environment's stacks, with each cross-stack reference
    (``${local.base.<key>}`` -> remote state output -> base resource) replaced by the reference it
    stands for, so arrows cross stack boundaries; and which stack each top-level construct is in.
    """
    outputs = {
        name: output["value"]
        for document in documents.values()
        for name, output in document.get("output", {}).items()
    }
    merged: dict[str, dict[str, Any]] = {}
    stack_of: dict[str, str] = {}
    for stack, document in documents.items():
        imports: dict[str, str] = {}
        for key, value in document.get("locals", {}).get("base", {}).items():
            match = _REMOTE_OUTPUT.match(value)
            imports[key] = outputs[match.group(1)] if match else value
        resources = document.get("resource", {})
        if imports:
            text = _LOCAL_BASE.sub(partial(_imported, imports), json.dumps(resources))
            resources = json.loads(text)
        for type_, instances in resources.items():
            merged.setdefault(type_, {}).update(instances)
            for logical_id, body in instances.items():
                stack_of.setdefault(_construct_path(logical_id, body)[0], stack)
    return {"resource": merged}, stack_of


def build_diagram(
    stack_json: Mapping[str, Any], *, title: str = "", stacks: StackMap | None = None
) -> graphviz.Digraph:
    """The architecture diagram of one synthesized stack (the parsed ``cdk.tf.json``), or of an
    environment's stacks merged by ``merge_stacks``: then each stack is a box of its own."""
    model = build_model(stack_json)
    graph = graphviz.Digraph("architecture")
    graph.attr(
        rankdir="LR",
        compound="true",
        newrank="true",
        nodesep="0.3",
        ranksep="0.6",
        fontname="Helvetica",
        fontsize="16",
        labelloc="t",
        label=title,
    )
    graph.attr("node", shape="box", style="rounded,filled", fontname="Helvetica", fontsize="11")
    graph.attr("edge", fontname="Helvetica", fontsize="9", arrowsize="0.7")

    def draw(scope: graphviz.Digraph, cluster: tuple[str, ...], stack: str | None = None) -> None:
        def in_stack(top: str) -> bool:
            return stack is None or (stacks or {}).get(top) == stack

        for node in sorted(model.nodes.values(), key=lambda n: n.id):
            if node.cluster == cluster and in_stack(node.members[0].path[0]):
                color = SERVICE_COLORS.get(node.type.split("_")[1], DEFAULT_NODE_COLOR)
                style = "rounded,filled"
                if all(_disabled(member) for member in node.members):
                    style += ",dashed"
                scope.node(node.id, _label(node), fillcolor=color, style=style)
        for child in sorted(c for c in model.clusters if c[:-1] == cluster and in_stack(c[0])):
            layer = _layer(child[-1]) or Layer(child[-1], DEFAULT_LAYER_COLOR)
            with scope.subgraph(name=_cluster_name(child)) as sub:
                sub.attr(label=layer.label, style="rounded,filled", fillcolor=layer.color)
                sub.attr(color="#999999", fontsize="13" if len(child) == 1 else "11")
                draw(sub, child)

    if stacks is None:
        draw(graph, ())
    for stack in sorted(set((stacks or {}).values())):
        with graph.subgraph(name=f"cluster_stack_{stack}") as box:
            box.attr(label=f"stack {stack} (own state)", style="dashed", color="#333333")
            box.attr(fontsize="14", fillcolor="white")
            draw(box, (), stack)
    for edge in sorted(model.edges, key=lambda e: (e.tail, e.head)):
        if not edge.visible:  # same rank at most: a hub sits next to what it serves
            graph.edge(edge.tail, edge.head, style="invis", minlen="0")
            continue
        style = EDGE_STYLES[edge.kind]
        attrs = {"color": style.color, "fontcolor": style.color, "style": style.style}
        attrs.update(penwidth=style.penwidth, weight=style.weight)
        tail, head = model.nodes[edge.tail], model.nodes[edge.head]
        if tail.cluster[:1] != head.cluster[:1]:
            attrs["minlen"] = "2"  # room for the labels between the layers
        if edge.lhead:  # a summary from a hub: it must not pull the hub before the layers
            attrs.update(lhead=edge.lhead, constraint="false")
        if edge.ltail:  # a summary into a hub: it places the hub after them
            attrs["ltail"] = edge.ltail
        graph.edge(edge.tail, edge.head, label=", ".join(edge.labels), **attrs)
    return graph


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def synthesize(environment: str = DEFAULT_ENVIRONMENT) -> tuple[str, dict[str, dict[str, Any]]]:
    """Synthesize one environment of the default config: (its base stack's name, every stack's
    parsed cdk.tf.json by stack name).

    Always ``config/pipelines.yaml`` ($PIPELINE_CONFIG is ignored): the committed diagram is the
    one the test suite checks against that file.
    """
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from imports.runtime import configure_jsii_runtime
    from modules.config import load_config

    configure_jsii_runtime()
    from modules.stack import build_app, stack_name

    config = load_config(REPO / "config" / "pipelines.yaml")
    stack = stack_name(config.project, environment)
    with tempfile.TemporaryDirectory() as outdir:
        build_app(config, outdir=outdir, environments=[environment]).synth()
        documents = {
            path.parent.name: json.loads(path.read_text())
            for path in sorted(Path(outdir, "stacks").glob("*/cdk.tf.json"))
        }
    return stack, documents


def title_for(stack: str) -> str:
    return f"{stack}: scheduled batch inference, one box per stack (from cdk.tf.json; make diagram)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--environment", default=DEFAULT_ENVIRONMENT)
    parser.add_argument("--outdir", type=Path, default=DOCS)
    args = parser.parse_args(argv)

    stack, documents = synthesize(args.environment)
    merged, stacks = merge_stacks(documents)
    graph = build_diagram(merged, title=title_for(stack), stacks=stacks)
    args.outdir.mkdir(parents=True, exist_ok=True)
    dot_file = args.outdir / f"{OUTPUT_STEM}.dot"
    dot_file.write_text(graph.source, encoding="utf-8")
    written = [dot_file]
    if shutil.which("dot"):
        for fmt in ("svg", "png"):
            target = args.outdir / f"{OUTPUT_STEM}.{fmt}"
            target.write_bytes(graph.pipe(format=fmt))
            written.append(target)
    else:
        print("Graphviz 'dot' not found: wrote the DOT source only", file=sys.stderr)
    print(
        "Wrote",
        " ".join(str(p.relative_to(REPO) if p.is_relative_to(REPO) else p) for p in written),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
