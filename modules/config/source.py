"""The config file as written: its YAML parsed with the line of every key and list item, and the
keys given twice in one mapping (YAML lets the last one win silently; here it is a mistake).

A hostile or broken file is refused here, in time linear in its size, before anything is built
from it: YAML aliases (which let a few lines stand for ~10^8 values), nesting deeper than
``MAX_DEPTH``, and characters YAML does not allow (NUL, control characters). The file's size and
encoding are checked by ``modules.config.loading``, which reads it.

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

# The schema's deepest setting is 8 levels down (environments.<env>.pipelines.<name>.model.vpc.
# subnet_ids[0]); a schedule payload may nest a little JSON of its own. Every later step (the
# merge, pydantic, json.dumps of the payload) recurses per level, so this bound also keeps them
# far from Python's recursion limit (libyaml's own limit, 1000 levels, is not enough for that).
MAX_DEPTH = 32


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
    """A parsed document, the 1-based line where each path is written, the duplicate keys
    (one sentence each, naming both lines), and ``refused``: why the document was not even
    constructed (aliases, too deep; then ``document`` is None)."""

    document: Any
    lines: dict[Path, int] = field(default_factory=dict)
    duplicates: list[Mistake] = field(default_factory=list)
    refused: list[Mistake] = field(default_factory=list)

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


def too_deep(line: int | None, path: Path) -> Mistake:
    """The value at the start of ``path`` nests deeper than MAX_DEPTH (named by its first two
    parts: the whole path would be a line of dozens of parts)."""
    return Mistake(
        line,
        shown_path(path[:2]),
        f"nested more than {MAX_DEPTH} levels deep; no setting of the config is nearly that deep",
    )


def _first_alias(text: str) -> tuple[int, str]:
    """The line and name of the document's first alias, from the parser's events (a composed
    node keeps only its anchor's position). Read again only to word this one refusal."""
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent) and event.start_mark is not None:
            return event.start_mark.line + 1, str(event.anchor)
    raise AssertionError("no alias event in a document with an alias")


def _alias(text: str, path: Path, anchor_line: int, more: int) -> Mistake:
    line, name = _first_alias(text)
    others = f" (and {more} more alias{'es' if more > 1 else ''} in the file)" if more else ""
    return Mistake(
        line,
        shown_path(path),
        f"the YAML alias *{name} repeats the value anchored on line {anchor_line}{others}; "
        "aliases are not allowed: a config is short, and an alias hides what an environment "
        "really gets (and lets a few lines stand for millions of values). Write the value out, "
        "or share it through defaults and the shared pipeline definitions",
    )


def _walk(root: yaml.Node, source: Source) -> list[tuple[Path, int]]:
    """Record every key's and item's line and the duplicate keys; refuse aliases and nesting
    deeper than MAX_DEPTH. Each node is visited once (an explicit stack, no recursion), so the
    walk is linear in the document's size however it nests or repeats itself.

    An alias is the same node object met a second time (the composer resolves ``*name`` to the
    anchored node): walking it again is what made a "billion laughs" file cost minutes. The
    first meeting is the anchor's, as the walk follows the document's order. Returns each
    alias's path and its anchor's line."""
    seen: set[int] = set()
    aliases: list[tuple[Path, int]] = []
    deep: list[Mistake] = []
    stack: list[tuple[yaml.Node, Path]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            aliases.append((path, node.start_mark.line + 1))
            continue
        seen.add(id(node))
        if len(path) > MAX_DEPTH:
            deep.append(too_deep(source.line_of(path), path))
            continue
        children: list[tuple[yaml.Node, Path]] = []
        if isinstance(node, yaml.MappingNode):
            first_line: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                line = key_node.start_mark.line + 1
                if key is not None and key in first_line:
                    source.duplicates.append(
                        Mistake(
                            line,
                            shown_path((*path, key)),
                            f"the key is given twice, on lines {first_line[key]} and {line}; YAML "
                            "would silently keep only the last one, so remove or merge one of them",
                        )
                    )
                # A key is a node too (an alias may stand for one): walked, at its mapping's path.
                children.append((key_node, path))
                if key is not None:
                    first_line[key] = line
                    source.lines[(*path, key)] = line
                    children.append((value_node, (*path, key)))
                else:
                    children.append((value_node, path))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                source.lines[(*path, index)] = item.start_mark.line + 1
                children.append((item, (*path, index)))
        stack.extend(reversed(children))  # popped in the document's order
    source.refused += deep[:1]
    return aliases


def read_source(text: str) -> Source:
    """Parse YAML text (raises ``yaml.YAMLError`` when it is not YAML). A document with aliases
    or nested too deeply is not constructed: ``refused`` says why."""
    loader = _Loader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:  # the pure-Python composer recurses per level (libyaml: 1000)
            source = Source(None)
            source.refused.append(too_deep(None, ()))
            return source
        if node is None:
            return Source(None)
        # Walked before it is constructed: the constructor follows aliases too (merge keys, <<,
        # copy the aliased mapping's entries once per use: exponential in a crafted file).
        source = Source(None)
        aliases = _walk(node, source)
        if aliases:  # one line: every alias is the same mistake, and a bomb has dozens
            path, anchor_line = aliases[0]
            source.refused.insert(0, _alias(text, path, anchor_line, len(aliases) - 1))
        if not source.refused:
            source.document = loader.construct_document(node)
    finally:
        loader.dispose()
    return source
