"""The config file as written: its YAML parsed with the line of every key and list item, and the
keys given twice in one mapping (YAML lets the last one win silently; here it is a mistake).

Needs PyYAML only (its C parser where installed). Paths are tuples of mapping keys and list
indexes, the way the document nests: ``("environments", "prod", "state", "backend")``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml

Path = tuple[Any, ...]
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Mistake(NamedTuple):
    """One thing wrong with the config: where it is written (line, path as written) and why."""

    line: int | None
    where: str
    message: str

    def render(self, file: str) -> str:
        at = f"{file}:{self.line}" if self.line is not None else file
        return f"{at}: {self.where}: {self.message}"


@dataclass
class Source:
    """A parsed document, the 1-based line where each path is written, and the duplicate keys
    (one sentence each, naming both lines)."""

    document: Any
    lines: dict[Path, int] = field(default_factory=dict)
    duplicates: list[Mistake] = field(default_factory=list)

    def line_of(self, path: Path) -> int | None:
        """The line of ``path``, or of the nearest enclosing path that is written in the file."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


def shown_key(name: object) -> str:
    """A user-given key or name as it may appear in a one-line message."""
    text = str(name)
    return text if re.fullmatch(r"[\w.@/-]+", text) else repr(text)


def shown_path(path: Path) -> str:
    """A path as a user reads it: ``environments.prod.pipelines.churn``, ``pipelines[0]``."""
    out = ""
    for part in path:
        key = shown_key(part)
        out += f"[{part}]" if isinstance(part, int) else (f".{key}" if out else key)
    return out or "(top level)"


def _walk(node: yaml.Node, path: Path, source: Source) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if key is not None and key in seen:
                source.duplicates.append(
                    Mistake(
                        line,
                        shown_path((*path, key)),
                        f"the key is given twice, on lines {seen[key]} and {line}; YAML would "
                        "silently keep only the last one, so remove or merge one of them",
                    )
                )
            if key is not None:
                seen[key] = line
                source.lines[(*path, key)] = line
                _walk(value_node, (*path, key), source)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            source.lines[(*path, index)] = item.start_mark.line + 1
            _walk(item, (*path, index), source)


def read_source(text: str) -> Source:
    """Parse YAML text (raises ``yaml.YAMLError`` when it is not YAML)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Source(None)
        source = Source(loader.construct_document(node))
    finally:
        loader.dispose()
    _walk(node, (), source)
    return source
