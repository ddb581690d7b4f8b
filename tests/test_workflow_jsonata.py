"""The JSONata states of the definitions, evaluated by the JSONata library: config values pasted
into them stay literals, and the overlap guard decides by start time."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modules.config import S3_KEY_PREFIX, ProjectConfig
from modules.workflow import build_definition
from modules.workflow.delivery_count import COUNTS, is_input
from modules.workflow.finish import MANIFEST_NAME
from modules.workflow.state_names import (
    BUILD_MANIFEST,
    COUNT_EARLIER_RUNS,
    COUNT_INPUT_PAGE,
    INPUT_FROM_SCHEDULE,
)
from tests.support.jsonata import Jsonata
from tests.support.workflow import TARGETS, pipeline_of

START = "2026-11-27T02:00:00.000Z"


def _with_prefix(make_config: Callable[..., ProjectConfig], prefix: str) -> dict[str, Any]:
    def edit(raw: dict[str, Any]) -> None:
        raw["pipelines"][0]["input_prefix"] = prefix
        raw["pipelines"][0]["output_prefix"] = prefix

    config = make_config(edit)
    pipeline = pipeline_of(config, "prod", "churn")
    return build_definition(pipeline, TARGETS)["States"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(prefix=st.from_regex(S3_KEY_PREFIX.pattern, fullmatch=True).filter(lambda p: len(p) < 200))
def test_any_allowed_prefix_stays_a_jsonata_literal(
    jsonata: Jsonata, make_config: Callable[..., ProjectConfig], prefix: str
) -> None:
    # An apostrophe (allowed in S3 keys) used to end the '...' literal and break the state.
    states = _with_prefix(make_config, prefix)
    out = jsonata.evaluate(
        states[INPUT_FROM_SCHEDULE]["Output"], {"scheduled_time": "2026-11-26T02:00:00Z"}
    )
    assert out["input_prefix"] == f"{prefix}2026-11-26/"
    manifest = jsonata.evaluate(
        states[BUILD_MANIFEST]["Output"],
        {
            "run": {"input_prefix": prefix},
            "transform": {"output_path": "s3://OUT/x/", "job_name": "j"},
        },
        {"Execution": {"Name": "run-1", "StartTime": START}},
    )["manifest"]
    assert manifest["input"] == f"s3://IN/{prefix}"
    assert manifest["model"] == "MODEL" and manifest["pipeline"] == "churn"


def test_an_apostrophe_in_the_prefix(
    jsonata: Jsonata, make_config: Callable[..., ProjectConfig]
) -> None:
    states = _with_prefix(make_config, "o'brien/")
    out = jsonata.evaluate(
        states[INPUT_FROM_SCHEDULE]["Output"], {"scheduled_time": "2026-11-26T02:00:00Z"}
    )
    assert out["input_prefix"] == "o'brien/2026-11-26/"


def _earlier_runs(jsonata: Jsonata, states: dict[str, Any], me: str, running: list[Any]) -> int:
    out = jsonata.evaluate(
        states[COUNT_EARLIER_RUNS]["Output"],
        {"overlap": {"running": running}},
        {"Execution": {"Name": me, "StartTime": START}},
    )
    earlier: int = out["overlap"]["earlier_runs"]
    return earlier


@pytest.fixture(scope="module")
def guarded(default_config: ProjectConfig) -> dict[str, Any]:
    return build_definition(pipeline_of(default_config, "dev", "churn"), TARGETS)["States"]


def test_overlap_guard_skips_only_for_a_run_that_started_earlier(
    jsonata: Jsonata, guarded: dict[str, Any]
) -> None:
    me = {"Name": "b-run", "StartDate": START}
    earlier = {"Name": "z-run", "StartDate": "2026-11-27T01:59:59.000Z"}
    later = {"Name": "a-run", "StartDate": "2026-11-27T02:00:01.000Z"}
    tie_before = {"Name": "a-tie", "StartDate": START}
    tie_after = {"Name": "c-tie", "StartDate": START}
    # Alone, or only later runs: this run goes on (the old "more than one running" skipped it).
    assert _earlier_runs(jsonata, guarded, "b-run", [me]) == 0
    assert _earlier_runs(jsonata, guarded, "b-run", [me, later]) == 0
    assert _earlier_runs(jsonata, guarded, "b-run", []) == 0  # not listed yet
    # A run that started earlier makes it skip; a tie is broken by name.
    assert _earlier_runs(jsonata, guarded, "b-run", [later, me, earlier]) == 1
    assert _earlier_runs(jsonata, guarded, "b-run", [me, tie_before]) == 1
    assert _earlier_runs(jsonata, guarded, "b-run", [me, tie_after]) == 0


def test_two_runs_started_together_never_both_skip(
    jsonata: Jsonata, guarded: dict[str, Any]
) -> None:
    first = {"Name": "run-a", "StartDate": START}
    second = {"Name": "run-b", "StartDate": START}
    skips = [
        _earlier_runs(jsonata, guarded, r["Name"], [first, second]) > 0 for r in (first, second)
    ]
    assert skips == [False, True]


def test_overlap_guard_reads_epoch_timestamps_too(
    jsonata: Jsonata, guarded: dict[str, Any]
) -> None:
    # 2026-11-27T01:59:00Z as epoch seconds and as epoch milliseconds.
    for stamp in (1795744740, 1795744740000):
        listed = [{"Name": "x-run", "StartDate": stamp}]
        assert _earlier_runs(jsonata, guarded, "b-run", listed) == 1


def test_the_count_and_ops_why_agree_on_what_is_input(
    jsonata: Jsonata, full_config: ProjectConfig
) -> None:
    """The input count's JSONata and ``./ops why``'s listing (``is_input``) leave out the same
    objects: folder keys, the marker, a manifest; an empty file, or a key that only ends like the
    marker, is input."""
    pipeline = pipeline_of(full_config, "stage", "scores")
    assert pipeline.trigger is not None and pipeline.delivery is not None
    prefix, marker = pipeline.default_input_prefix, pipeline.trigger.marker
    listed = [
        (prefix, 0),
        (f"{prefix}daily/", 0),
        (f"{prefix}daily/{marker}", 0),
        (f"{prefix}daily/{MANIFEST_NAME}", 420),
        (f"{prefix}daily/a.csv", 10),
        (f"{prefix}daily/empty.csv", 0),
        (f"{prefix}daily/sized/", 5),
        (f"{prefix}daily/not{marker}", 3),
    ]
    fold = build_definition(pipeline, TARGETS)["States"][COUNT_INPUT_PAGE]["Output"]
    zero = {count: 0 for count in COUNTS}
    page = {"Contents": [{"Key": key, "Size": size} for key, size in listed]}
    counted = jsonata.evaluate(fold, {"delivery": zero}, result=page)["delivery"]
    inputs = [(key, size) for key, size in listed if is_input(pipeline, key, size)]
    assert (counted["input_objects"], counted["input_bytes"]) == (
        len(inputs),
        sum(size for _, size in inputs),
    )
    assert len(inputs) == 4
