"""Edits of a raw config document (the parsed YAML), for tests that build one mistake at a time:
set or delete a dotted path ('pipelines.0.schedule.expression'), rename a pipeline everywhere it is
named, or apply several edits as one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def set_path(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """An edit that sets a dotted path ('pipelines.0.schedule.expression') in the raw config."""

    def edit(raw: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = raw
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return edit


def edits(*edits: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def edit(raw: dict[str, Any]) -> None:
        for each in edits:
            each(raw)

    return edit


def delete_path(path: str) -> Callable[[dict[str, Any]], None]:
    def edit(raw: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = raw
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]

    return edit


def rename_pipeline(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def edit(raw: dict[str, Any]) -> None:
        next(p for p in raw["pipelines"] if p["name"] == old)["name"] = new
        for env in raw["environments"].values():
            overrides = env.get("pipelines", {})
            if old in overrides:
                overrides[new] = overrides.pop(old)

    return edit
