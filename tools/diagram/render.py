"""Drawing the graph model as Graphviz DOT: node labels, cluster boxes, one dashed box per stack,
edge styles."""

from __future__ import annotations

import html
import textwrap
from collections.abc import Mapping
from typing import Any

import graphviz  # type: ignore[import-untyped]

from tools.diagram.graph import (
    _INTERPOLATION,
    Node,
    Resource,
    StackMap,
    _cluster_name,
    _common_prefix,
    _layer,
    build_model,
)
from tools.diagram.rules import (
    DEFAULT_LAYER_COLOR,
    DEFAULT_NODE_COLOR,
    EDGE_STYLES,
    KINDS,
    LABEL_WIDTH,
    NAME_ATTRIBUTES,
    SERVICE_COLORS,
    Layer,
)


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


def title_for(stack: str) -> str:
    return f"{stack}: scheduled batch inference, one box per stack (from cdk.tf.json; make diagram)"
