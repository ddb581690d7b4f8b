"""Dated input folders rendered in Python (tools/ops/folders.py) are the ones the state machine
renders: checked against the JSONata library itself, with the expression InputFromSchedule uses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

from modules.workflow import jsonata_string
from tests.support.jsonata import Jsonata
from tools.ops.folders import FolderError, render, slots

PICTURES = [
    "[Y0001]-[M01]-[D01]",
    "[Y0001]-[M01]-[D01]-[H01]",
    "year=[Y]/month=[M]/day=[D]",
    "dt=[Y0001][M01][D01]",
    "[Y0001]-[M01]",
]
TIMES = [
    datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
    datetime(2026, 11, 26, 23, 59, tzinfo=UTC),
    datetime(2028, 2, 29, 0, 0, tzinfo=UTC),
]


@pytest.fixture(scope="module")
def jsonata() -> Iterator[Jsonata]:
    evaluator = Jsonata()
    yield evaluator
    evaluator.close()


@pytest.mark.parametrize("picture", PICTURES)
def test_rendering_matches_jsonata(jsonata: Jsonata, picture: str) -> None:
    for when in TIMES:
        expression = f"{{% $fromMillis($toMillis($states.input.t), {jsonata_string(picture)}) %}}"
        expected = jsonata.evaluate(expression, {"t": when.strftime("%Y-%m-%dT%H:%M:%SZ")})
        assert render(picture, when) == expected, (picture, when)


def test_slots_are_days_or_hours_and_each_folder_once() -> None:
    week = list(slots("[Y0001]-[M01]-[D01]", date(2026, 11, 20), date(2026, 11, 26)))
    assert [folder for _, folder in week] == [f"2026-11-{d}" for d in range(20, 27)]
    assert all(when.hour == 0 for when, _ in week)
    assert (
        len(list(slots("[Y0001]-[M01]-[D01]-[H01]", date(2026, 11, 20), date(2026, 11, 21)))) == 48
    )
    months = list(slots("[Y0001]-[M01]", date(2026, 11, 20), date(2026, 12, 3)))
    assert [folder for _, folder in months] == ["2026-11", "2026-12"]


def test_pictures_it_cannot_render_and_reversed_dates_are_refused() -> None:
    with pytest.raises(FolderError, match=r"component \[FNn\]"):
        render("[FNn]", TIMES[0])
    with pytest.raises(FolderError, match=r"component \[Y01\]"):
        render("[Y01]", TIMES[0])
    with pytest.raises(FolderError, match="before --from"):
        list(slots("[Y0001]", date(2026, 11, 2), date(2026, 11, 1)))
