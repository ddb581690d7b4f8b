"""The run slots (days or hours) a backfill walks through, each with its dated input folder.

The folder of a time is rendered by the product's one renderer of ``schedule.input_folder``
pictures (modules/config/folders.py), the same one the config checks pictures with and the
execution tests expect the state machine to read; a backfill run is started with that same
``scheduled_time``, so the folder it reads is the state machine's own rendering.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from modules.config.folders import FolderError, is_hourly, render

__all__ = ["FolderError", "render", "slots"]


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
