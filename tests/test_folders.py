"""Dated input folders (modules/config/folders.py, the one renderer the config, ./ops and the
execution tests share) are the ones the state machine renders: checked against the JSONata library
itself, with the expression InputFromSchedule uses; pictures outside the rule are refused in words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from modules.config import ConfigError, ProjectConfig
from modules.config.folders import EXAMPLE, FolderError, check, date_parts, longest, render
from modules.workflow import jsonata_string
from tests.support.jsonata import Jsonata
from tools.ops.folders import slots

PICTURES = [
    "[Y0001]-[M01]-[D01]",
    "[Y0001]-[M01]-[D01]-[H01]",
    "year=[Y]/month=[M]/day=[D]",
    "dt=[Y0001][M01][D01]",
    "[Y0001]-[M01]",
    EXAMPLE,
    "[Y0001]/[M01]/[D01]/[H01]",
    "v1.2_[H]",
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
        assert len(render(picture, when)) <= len(longest(picture))


def test_slots_are_days_or_hours_and_each_folder_once() -> None:
    week = list(slots("[Y0001]-[M01]-[D01]", date(2026, 11, 20), date(2026, 11, 26)))
    assert [folder for _, folder in week] == [f"2026-11-{d}" for d in range(20, 27)]
    assert all(when.hour == 0 for when, _ in week)
    two_days = list(slots(EXAMPLE, date(2026, 11, 20), date(2026, 11, 21)))
    assert len(two_days) == 48
    assert two_days[25][1] == "dt=2026-11-21/hour=01"
    months = list(slots("[Y0001]-[M01]", date(2026, 11, 20), date(2026, 12, 3)))
    assert [folder for _, folder in months] == ["2026-11", "2026-12"]


@pytest.mark.parametrize(
    ("picture", "said"),
    [
        ("[FNn]", "the date part [FNn]"),
        ("[Y01]", "the date part [Y01]"),
        ("[m01]", "the date part [m01]"),
        ("/[Y0001]", "an empty folder"),
        ("[Y0001]/", "an empty folder"),
        ("[Y0001]//[M01]", "an empty folder"),
        ("day [D01]", "' ' outside a date part"),
        ("[Y0001]*", "'*' outside a date part"),
        ("", "is empty"),
    ],
)
def test_pictures_outside_the_rule_are_refused_in_words(picture: str, said: str) -> None:
    with pytest.raises(FolderError) as refused:
        check(picture)
    message = str(refused.value)
    assert said in message
    assert f"e.g. {EXAMPLE}" in message
    assert "^" not in message and "\\" not in message  # words, not a regular expression


def test_reversed_dates_are_refused() -> None:
    with pytest.raises(FolderError, match="before --from"):
        list(slots("[Y0001]", date(2026, 11, 2), date(2026, 11, 1)))


def test_the_config_takes_nested_folders_and_refuses_others_in_words(
    make_config: Callable[..., ProjectConfig],
) -> None:
    def folder(picture: str) -> Callable[[dict[str, Any]], None]:
        def edit(raw: dict[str, Any]) -> None:
            raw["pipelines"][0]["schedule"]["input_folder"] = picture

        return edit

    config = make_config(folder(EXAMPLE))
    assert config.environments["dev"].pipelines[0].schedule.input_folder == EXAMPLE
    with pytest.raises(ConfigError) as refused:
        make_config(folder("dt=[Y0001]-[M01]-[D01]//[H01]"))
    [line] = refused.value.lines
    assert ".schedule.input_folder: " in line
    assert "an empty folder" in line and f"e.g. {EXAMPLE}" in line


def test_a_payload_prefix_with_a_dated_folder_is_refused(
    make_config: Callable[..., ProjectConfig],
) -> None:
    """Found by the generated configs: with both, every scheduled run read the payload's prefix
    and the dated folder was silently never read."""

    def both(raw: dict[str, Any]) -> None:
        raw["pipelines"][0]["schedule"]["payload"] = {"input_prefix": "churn/backfill/"}

    with pytest.raises(ConfigError) as refused:
        make_config(both)
    [line] = refused.value.lines
    assert ".schedule.input_folder: would never be read: schedule.payload.input_prefix" in line


def test_every_date_part_offered_is_one_the_check_takes() -> None:
    parts = date_parts()
    assert set(parts) == {"year", "month", "day", "hour"}
    for offered in parts.values():
        for part in offered:
            assert check(f"x{part}") == f"x{part}"
