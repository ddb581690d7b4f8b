"""Dated input folders: the one definition of a ``schedule.input_folder`` picture, its check, its
rendering for a given time, and the longest folder it can name.

The state machine renders the picture itself from a run's ``scheduled_time`` with JSONata's
``$fromMillis(ms, picture)`` (modules/workflow/run_input.py). Everything else that needs the folder
of a time renders it here: the config's bound on the input location, ``./ops`` (which names,
shows and resumes backfill runs) and the execution tests (which check the folder a scheduled run
reads). tests/test_folders.py holds this rendering to the JSONata library itself.

A picture is folders separated by ``/`` (none leading, trailing or doubled), each made of literal
letters, digits and ``_ . = -`` and of date parts in decimal digits: ``[Y0001]``/``[Y]`` (year),
``[M01]``/``[M]`` (month), ``[D01]``/``[D]`` (day) and ``[H01]``/``[H]`` (hour of the day, UTC).
That is the whole of what is accepted: names of months or days, ordinals and minutes are refused by
the config rather than rendered differently by two engines.

Needs nothing but the standard library.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import NamedTuple

# Date parts: the letter, the widths accepted for it (zero-padded to the width) and the attribute
# of a datetime it reads. [Y] renders the year unpadded, like [Y0001] for every year from 1000.
_PARTS = {
    "Y": ("year", ("", "0001")),
    "M": ("month", ("", "01")),
    "D": ("day", ("", "01")),
    "H": ("hour", ("", "01")),
}
_PART = re.compile(r"\[([^\]]*)\]")
_LITERAL = re.compile(r"[A-Za-z0-9_.=-]+")
# The widest rendering of each part: a year has four digits until 9999; the others two.
_WIDEST = {"year": 4, "month": 2, "day": 2, "hour": 2}

RULE = (
    "an input folder is made of letters, digits, `_ . = -`, `/` between folders (none at the "
    "start or end, never two together) and date parts [Y0001] or [Y] (year), [M01] or [M] "
    "(month), [D01] or [D] (day), [H01] or [H] (hour, UTC)"
)
EXAMPLE = "dt=[Y0001]-[M01]-[D01]/hour=[H01]"


def date_parts() -> dict[str, list[str]]:
    """Every date part a picture may hold, by what it names: {"year": ["[Y]", "[Y0001]"], ...}."""
    return {
        attribute: [f"[{letter}{width}]" for width in widths]
        for letter, (attribute, widths) in _PARTS.items()
    }


class FolderError(ValueError):
    """A picture that is not a dated folder (the message says what is wrong, in words)."""


class _Part(NamedTuple):
    attribute: str
    width: int


def _parse(picture: str) -> list[str | _Part]:
    """The picture as literal text and date parts, or FolderError naming what is wrong."""
    if not picture:
        raise FolderError(f"is empty; {RULE}, e.g. {EXAMPLE}")
    if picture.startswith("/") or picture.endswith("/") or "//" in picture:
        raise FolderError(f"{picture!r} has an empty folder; {RULE}, e.g. {EXAMPLE}")
    pieces: list[str | _Part] = []
    for folder in picture.split("/"):
        at = 0
        for part in _PART.finditer(folder):
            pieces += _literal(picture, folder[at : part.start()])
            pieces.append(_date_part(picture, part[1]))
            at = part.end()
        pieces += _literal(picture, folder[at:])
        pieces.append("/")
    return pieces[:-1]


def _literal(picture: str, text: str) -> list[str | _Part]:
    if not text:
        return []
    if _LITERAL.fullmatch(text) is None:
        bad = sorted({c for c in text if _LITERAL.fullmatch(c) is None})
        raise FolderError(
            f"{picture!r} has {' '.join(repr(c) for c in bad)} outside a date part; "
            f"{RULE}, e.g. {EXAMPLE}"
        )
    return [text]


def _date_part(picture: str, body: str) -> _Part:
    letter, width = body[:1], body[1:]
    if letter not in _PARTS or width not in _PARTS[letter][1]:
        raise FolderError(f"{picture!r} has the date part [{body}]; {RULE}, e.g. {EXAMPLE}")
    attribute, _ = _PARTS[letter]
    return _Part(attribute, len(width) or 1)


def check(picture: str) -> str:
    """``picture`` when it is a dated folder, else FolderError saying why in words."""
    _parse(picture)
    return picture


def render(picture: str, when: datetime) -> str:
    """The folder of ``when`` (UTC), as ``$fromMillis(ms, picture)`` gives it."""
    utc = when.astimezone(UTC)
    return "".join(
        piece if isinstance(piece, str) else str(getattr(utc, piece.attribute)).zfill(piece.width)
        for piece in _parse(picture)
    )


def is_hourly(picture: str) -> bool:
    """Whether the picture names the hour (a folder per hour rather than per day or coarser)."""
    return any(isinstance(p, _Part) and p.attribute == "hour" for p in _parse(picture))


def longest(picture: str) -> str:
    """A string as long as the longest folder the picture can name (for length limits)."""
    return "".join(
        piece if isinstance(piece, str) else "9" * max(piece.width, _WIDEST[piece.attribute])
        for piece in _parse(picture)
    )
