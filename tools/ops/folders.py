"""Dated input folders: a pipeline's ``schedule.input_folder`` picture rendered in Python, and the
run slots (days or hours) a backfill walks through.

The state machine renders the picture itself from a run's ``scheduled_time`` with JSONata's
``$fromMillis`` (modules/workflow/, InputFromSchedule); a backfill run is started with that same
``scheduled_time``, so the folder it reads is the state machine's own rendering. This module
renders it again only to name, show and resume runs, for the picture components a dated folder
uses: ``[Y0001]``/``[Y]`` (year), ``[M01]``/``[M]`` (month), ``[D01]``/``[D]`` (day), ``[H01]``/
``[H]`` (hour), each in decimal digits. Other components are refused with a message, not guessed.
tests/test_ops_folders.py checks the rendering against the JSONata library itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

# One component: its letter and the optional width picture (0001, 01, 1).
_COMPONENT = re.compile(r"\[([^\]]*)\]")
_SUPPORTED = re.compile(r"^(?P<letter>[YMDH])(?P<width>0*1)?$")
_FIELDS = {"Y": "year", "M": "month", "D": "day", "H": "hour"}


class FolderError(ValueError):
    """A picture this tool cannot render (the message says which component and why)."""


def _check(picture: str) -> list[re.Match[str]]:
    components = list(_COMPONENT.finditer(picture))
    for component in components:
        body = component[1]
        match = _SUPPORTED.match(body)
        if match is None or (match["letter"] == "Y" and match["width"] not in (None, "0001")):
            raise FolderError(
                f"input_folder {picture!r}: component [{body}] is not one a backfill renders "
                "([Y0001] or [Y], [M01] or [M], [D01] or [D], [H01] or [H]); start single runs "
                "with `run --input-prefix` instead"
            )
    return components


def render(picture: str, when: datetime) -> str:
    """The folder name of ``when`` (UTC), as ``$fromMillis(ms, picture)`` gives it."""
    _check(picture)
    utc = when.astimezone(UTC)

    def component(match: re.Match[str]) -> str:
        parsed = _SUPPORTED.match(match[1])
        assert parsed is not None  # _check
        value = getattr(utc, _FIELDS[parsed["letter"]])
        return str(value).zfill(len(parsed["width"] or "1"))

    return _COMPONENT.sub(component, picture)


def is_hourly(picture: str) -> bool:
    return any(m[1].startswith("H") for m in _check(picture))


def slots(picture: str, first: date, last: date) -> Iterator[tuple[datetime, str]]:
    """(scheduled time, folder) for each distinct folder from ``first`` to ``last`` inclusive:
    one per day, or per hour when the picture names the hour; a picture coarser than a day
    (a month folder) gives each folder once, at its first day."""
    if last < first:
        raise FolderError(f"--to {last} is before --from {first}")
    step = timedelta(hours=1) if is_hourly(picture) else timedelta(days=1)
    when = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    seen: set[str] = set()
    while when < end:
        folder = render(picture, when)
        if folder not in seen:
            seen.add(folder)
            yield when, folder
        when += step
