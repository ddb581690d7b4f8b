"""What a mistyped key or value was probably meant to be: the nearest allowed ones (difflib), and
the keys a place of the schema allows (read from the pydantic models, so it follows the schema).

Needs only the standard library and pydantic; imported by ``loading`` and by validators whose
allowed values are a long list (instance types, time zones, regions).
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

REFERENCE = "docs/config-reference.md"  # lists the long lists whole (tools/config_reference.py)
# Lists up to this long are shown whole; longer ones point to where they are written down.
WHOLE_LIST = 12


def nearest(value: object, choices: Iterable[str], count: int = 3) -> list[str]:
    """The allowed values closest to ``value``, best first (none when nothing is close)."""
    text = str(value)
    options = list(dict.fromkeys(choices))
    found = difflib.get_close_matches(text, options, n=count, cutoff=0.6)
    if not found:  # "europe/paris": case is a typo too
        lowered = {option.lower(): option for option in options}
        found = [lowered[m] for m in difflib.get_close_matches(text.lower(), lowered, count, 0.6)]
    return found


def quoted(values: Iterable[str], last: str = "or") -> str:
    """'a', 'b' or 'c' (``last``: the word before the last one)"""
    items = [repr(v) for v in values]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {last} " + items[-1]


def did_you_mean(value: object, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` or empty."""
    found = nearest(value, choices)
    return f"; did you mean {quoted(found)}?" if found else ""


def allowed(value: object, choices: Iterable[str], what: str, listed_in: str = REFERENCE) -> str:
    """The nearest choices, then every choice when the list is short, else where all of them
    are listed (``what`` names them: "instance types")."""
    options = sorted(dict.fromkeys(choices))
    hint = did_you_mean(value, options)
    if not options:
        return hint
    if len(options) <= WHOLE_LIST:
        return f"{hint}; the {what} are {quoted(options, 'and')}"
    return f"{hint} ({listed_in} lists all {len(options)} {what})"


def _members(annotation: Any) -> list[Any]:
    """The types an annotation may hold (Annotated, Optional and unions unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _step(types_here: list[Any], part: Any) -> list[Any]:
    """The types at ``part`` (a field name, list index or mapping key) below ``types_here``."""
    below: list[Any] = []
    for kind in types_here:
        origin = typing.get_origin(kind)
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            if isinstance(part, str) and part in kind.model_fields:
                below += _members(kind.model_fields[part].annotation)
        elif origin in (list, tuple) and isinstance(part, int):
            below += _members(typing.get_args(kind)[0])
        elif origin is dict:
            below += _members(typing.get_args(kind)[1])
    return below


def allowed_keys(model: type[BaseModel], path: Iterable[Any]) -> list[str]:
    """The keys allowed in the mapping at ``path`` below ``model`` (every member of a union).
    ``path`` is a data path: field names, list indexes and mapping keys."""
    here: list[Any] = [model]
    for part in path:
        here = _step(here, part)
    keys: list[str] = []
    for kind in here:
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            keys += [name for name in kind.model_fields if name not in keys]
    return keys
