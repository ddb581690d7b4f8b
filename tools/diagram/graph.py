"""Reading synthesized stacks into a graph: resources with their construct paths, the references
between them, helpers folded into their parents, identical siblings merged, clusters; and merging an
environment's stacks into one document whose cross-stack references point at the real resources."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from tools.diagram.rules import (
    DEFAULT_RULE,
    EDGE_RULES,
    HELPERS,
    IGNORED_ATTRIBUTES,
    LAYERS,
    POLICY_ATTRIBUTES,
    Body,
    EdgeRule,
    Layer,
)

StackMap = Mapping[str, str]  # top-level construct (e.g. "pipeline-churn") -> its stack


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
