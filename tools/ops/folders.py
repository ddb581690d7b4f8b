"""The run slots (days or hours) a backfill walks through, each with its dated input folder, and
the slot of one date, time or folder (``run --date/--folder``).

The folder of a time is rendered by the product's one renderer of ``schedule.input_folder``
pictures (modules/config/folders.py), the same one the config checks pictures with and the
execution tests expect the state machine to read; a backfill run is started with that same
``scheduled_time``, so the folder it reads is the state machine's own rendering.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from modules.config.folders import FolderError, date_parts, is_hourly, render

__all__ = ["FolderError", "render", "slot_of", "slot_of_folder", "slots"]


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


def slot_of(picture: str, moment: datetime) -> datetime:
    """The start of the slot ``moment`` falls in: its hour for a picture that names the hour,
    else its day (UTC)."""
    utc = moment.astimezone(UTC)
    start = utc.replace(minute=0, second=0, microsecond=0)
    return start if is_hourly(picture) else start.replace(hour=0)


def slot_of_folder(picture: str, folder: str) -> datetime:
    """The slot whose folder is ``folder``: the picture read backwards (each date part a number),
    then rendered again, so that only a folder the picture really names is accepted."""
    parts = {part: attribute for attribute, found in date_parts().items() for part in found}
    pieces = [piece for piece in re.split(r"(\[[A-Z0-9]+\])", picture) if piece]
    attributes = [parts.get(piece) for piece in pieces]
    pattern = "".join(
        "([0-9]+)" if attribute else re.escape(piece)
        for piece, attribute in zip(pieces, attributes, strict=True)
    )
    matched = re.fullmatch(pattern, folder)
    when = None
    if matched is not None:
        # A part named twice is read from its first place; the rendering checks the others.
        numbers: dict[str, int] = {}
        for attribute, value in zip(filter(None, attributes), matched.groups(), strict=True):
            numbers.setdefault(attribute, int(value))
        try:
            when = datetime(
                numbers.get("year", 1970),
                numbers.get("month", 1),
                numbers.get("day", 1),
                numbers.get("hour", 0),
                tzinfo=UTC,
            )
        except ValueError:
            when = None
    if when is None or render(picture, when) != folder:
        raise FolderError(f"{folder!r} is not a folder of the picture {picture!r}")
    return when
