"""`./ops why` and `./ops rerun --failed` of a sharded run (tools/ops/shards.py) against botocore's
Stubber: each failed shard explained from its record and manifest (modules/shard_layout.py), the
failed shards' files, in shard order across the pages of the failed/ listing, written as the new
run's rerun items, the new run started with the input the workflow takes, and the refusals."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from modules.shard_layout import FAILED_FOLDER, rerun_items_key, run_shards, shard_name
from modules.workflow.shards import SHARDS_FAILED_ERROR
from modules.workflow.state_names import NAME_FAILED_SHARDS
from tests.support.ops_cli import (
    FAILED_PAGE,
    FAILED_SHARDS,
    NO_JOB_CAUSE,
    NO_JOB_SHARD,
    SHARDED_RUN,
    expect_failed_shards,
    failed_input_keys,
    invoke,
    refuse_manifest,
    rerun_input,
    rerun_name,
    scenario_rerun,
    scenario_why_sharded,
    shard_failure_reason,
    shard_files,
    shard_job,
    shard_job_name,
    sharded_failed,
    sharded_input_prefix,
    sharded_succeeded,
    using_ops_config,
)
from tests.support.ops_stubs import NOW, OPS_CONFIG, StubbedAws, install, target
from tools.ops.backfill import max_execution_name
from tools.ops.explain import MISSING_SHOWN
from tools.ops.shards import FailedShard
from tools.ops.shards import rerun_name as tool_rerun_name
from tools.ops.target import Target

# tests/fixtures/ops.yaml's environment, its sharded pipeline and one that is not sharded.
ENVIRONMENT = "prod"
SHARDED = "events"
UNSHARDED = "churn"


@pytest.fixture(autouse=True)
def ops_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from using_ops_config(monkeypatch)


@pytest.fixture
def t() -> Target:
    sharded = target(ENVIRONMENT, SHARDED)
    assert sharded.pipeline.transform.shards is not None
    assert target(ENVIRONMENT, UNSHARDED).pipeline.transform.shards is None
    return sharded


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_rerun_writes_the_failed_shards_files_in_order_and_starts_a_run_of_them(t: Target) -> None:
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    scenario_rerun(aws, t, {})
    code, text = invoke(f"./ops rerun {ENVIRONMENT} {SHARDED} {SHARDED_RUN} --failed")
    aws.assert_done()
    assert code == 0, text
    # The failed/ folder was read over more than one page, every record on each.
    listings = [c for c in aws.calls if c.operation == "ListObjectsV2"]
    folder = run_shards(t.pipeline.run_output_prefix, SHARDED_RUN) + FAILED_FOLDER
    assert len(listings) > 1 and {c.params["Prefix"] for c in listings} == {folder}
    assert len(FAILED_SHARDS) > FAILED_PAGE
    # The items written: exactly the failed shards' input keys (prefix + relative key), in
    # shard order, under the new run's rerun items key.
    [put] = [c for c in aws.calls if c.operation == "PutObject"]
    name = rerun_name(SHARDED_RUN)
    assert put.params["Bucket"] == t.output_bucket
    assert put.params["Key"] == rerun_items_key(t.pipeline.run_output_prefix, name)
    written = [item["Key"] for item in json.loads(put.params["Body"])]
    expected = [
        sharded_input_prefix(t) + key for number in FAILED_SHARDS for key in shard_files(t, number)
    ]
    assert written == expected == failed_input_keys(t)
    # The new run: named after the run, started with the input the workflow takes.
    [start] = [c for c in aws.calls if c.operation == "StartExecution"]
    assert start.params["name"] == name
    assert (
        json.loads(start.params["input"])
        == {
            "trigger": "rerun",
            "input_prefix": sharded_input_prefix(t),
            "shard_items": rerun_items_key(t.pipeline.run_output_prefix, name),
            "rerun_of": SHARDED_RUN,
        }
        == rerun_input(t, SHARDED_RUN)
    )
    # The calls come in this order: nothing is written before every record was read.
    order = [c.operation for c in aws.calls]
    assert order.index("PutObject") > max(i for i, o in enumerate(order) if o == "GetObject")
    assert order[-2:] == ["PutObject", "StartExecution"]
    flat, compact = _flat(text), "".join(text.split())
    assert f"started {name}" in flat
    assert f"reruns {len(expected)} files of {len(FAILED_SHARDS)} failed shards" in flat
    assert f"writess3://{t.output_bucket}/{t.pipeline.run_output_prefix}{name}/" in compact
    assert f"readss3://{t.bucket('input')}/{sharded_input_prefix(t)}," in compact


def test_a_rerun_name_is_a_valid_execution_name_for_any_run() -> None:
    # A run's own name at the limit (a backfill of a long folder), and a rerun of a rerun.
    longest = "backfill-" + "dt-2026-11-30-hour-05-" * 4
    longest = longest[: max_execution_name()]
    for run in (SHARDED_RUN, longest, tool_rerun_name(longest, NOW), "run=with/odd chars"):
        name = tool_rerun_name(run, NOW)
        assert len(name) <= max_execution_name(), name
        assert re.fullmatch(r"[0-9A-Za-z_-]+", name), name
        assert name.endswith(f"-rerun-{NOW.strftime('%Y%m%dT%H%M%SZ')}")
    assert tool_rerun_name(SHARDED_RUN, NOW) == rerun_name(SHARDED_RUN)
    assert tool_rerun_name(longest, NOW) != tool_rerun_name(longest + "x", NOW)


@pytest.mark.parametrize(
    ("command", "refusal"),
    [
        pytest.param(
            f"./ops rerun {ENVIRONMENT} {SHARDED} {SHARDED_RUN}",
            "rerun needs --failed",
            id="without --failed",
        ),
        pytest.param(
            f"./ops rerun {ENVIRONMENT} {UNSHARDED} {SHARDED_RUN} --failed",
            f"{target(ENVIRONMENT, UNSHARDED).label} is not sharded",
            id="a pipeline without shards",
        ),
    ],
)
def test_rerun_is_refused_before_any_call(command: str, refusal: str) -> None:
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    code, text = invoke(command)
    aws.assert_done()
    assert code == 2 and refusal in _flat(text) and aws.calls == []
    assert len(text.strip().splitlines()) <= 2  # one line, folded at 80 columns at most


def _refused_after_reading(aws: StubbedAws, refusal: str) -> None:
    code, text = invoke(f"./ops rerun {ENVIRONMENT} {SHARDED} {SHARDED_RUN} --failed")
    aws.assert_done()
    assert code == 2 and refusal in _flat(text), text
    assert not {"PutObject", "StartExecution"} & {c.operation for c in aws.calls}


def _succeeded_without_failed_shards(t: Target) -> StubbedAws:
    """The stubs of a sharded run that succeeded and has no failed shards."""
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    aws.expect(
        "stepfunctions",
        "describe_execution",
        sharded_succeeded(t),
        executionArn=t.execution_arn(SHARDED_RUN),
    )
    expect_failed_shards(aws, t, SHARDED_RUN, shards=())
    return aws


def test_rerun_of_a_run_without_failed_shards_is_refused(t: Target) -> None:
    aws = _succeeded_without_failed_shards(t)
    _refused_after_reading(aws, f"run {SHARDED_RUN} has no failed shards")


def test_rerun_of_a_run_still_running_is_refused(t: Target) -> None:
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    running = sharded_succeeded(t) | {"status": "RUNNING"}
    running.pop("stopDate"), running.pop("output")
    aws.expect(
        "stepfunctions", "describe_execution", running, executionArn=t.execution_arn(SHARDED_RUN)
    )
    _refused_after_reading(aws, f"{SHARDED_RUN} is still running")


def test_rerun_is_refused_when_a_failed_shards_files_are_unknown(t: Target) -> None:
    """A shard that failed before writing its manifest: rerunning the others only would look
    like a full rerun, so nothing is rerun."""
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    aws.expect(
        "stepfunctions",
        "describe_execution",
        sharded_failed(t),
        executionArn=t.execution_arn(SHARDED_RUN),
    )
    expect_failed_shards(aws, t, SHARDED_RUN, no_manifest=(NO_JOB_SHARD,))
    _refused_after_reading(aws, f"failed shards {shard_name(NO_JOB_SHARD)} of {SHARDED_RUN}")


def _shard_sections(text: str) -> dict[str, list[str]]:
    """`why`'s lines, grouped by the failed shard they follow."""
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        matched = re.match(r"shard (\d+)\s", line)
        if matched:
            current = sections.setdefault(matched.group(1), [])
        current.append(" ".join(line.split()))
    return sections


@pytest.mark.parametrize("status", ["FAILED", "SUCCEEDED"])
def test_why_shows_each_failed_shard_its_job_error_reason_and_files(t: Target, status: str) -> None:
    """A run that failed with ShardsFailed (found as the last failed run), and one that succeeded
    within its tolerance (named): every failed shard, all pages of the failed/ folder."""
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    flags: dict[str, str | bool] = {} if status == "FAILED" else {"run": SHARDED_RUN}
    scenario_why_sharded(status)(aws, t, flags)
    run = "" if status == "FAILED" else f" {SHARDED_RUN}"
    code, text = invoke(f"./ops why {ENVIRONMENT} {SHARDED}{run}")
    aws.assert_done()
    assert code == 0, text
    sections = _shard_sections(text)
    assert list(sections) == [shard_name(n) for n in FAILED_SHARDS]
    for number in FAILED_SHARDS:
        lines = sections[shard_name(number)]
        shown = "\n".join(lines)
        if number == NO_JOB_SHARD:
            assert "job - (none started)" in lines[0]
            assert "error States.Runtime" in shown and _flat(NO_JOB_CAUSE) in _flat(shown)
        else:
            # The job's name from the cause; the record names its stem.
            assert shard_job(t, SHARDED_RUN, number) in shard_job_name(t, SHARDED_RUN, number)
            job = f"shard{shard_name(number)}job{shard_job_name(t, SHARDED_RUN, number)}error"
            assert "".join(shown.split()).startswith(job), shown
            assert "error States.TaskFailed" in shown
            assert f"FailureReason {shard_failure_reason(number)}" in shown
        keys = [sharded_input_prefix(t) + key for key in shard_files(t, number)]
        assert f"input files {len(keys)}" in lines
        assert [line.removeprefix("file ") for line in lines if line.startswith("file ")] == (
            keys[:MISSING_SHOWN]
        )
        more = len(keys) - MISSING_SHOWN
        assert (f"... and {more} more" in shown) == (more > 0)
    flat = _flat(text)
    if status == "FAILED":  # where the run failed, and its own cause, as for any failed run
        assert (
            f"failed state {NAME_FAILED_SHARDS}" in flat and f"error {SHARDS_FAILED_ERROR}" in flat
        )
    assert f"./ops rerun {ENVIRONMENT} {SHARDED} {SHARDED_RUN} --failed" in flat
    assert f"failed shards {len(FAILED_SHARDS)} ({len(failed_input_keys(t))} files)" in flat


def test_why_of_a_sharded_run_without_failed_shards_says_none(t: Target) -> None:
    aws = _succeeded_without_failed_shards(t)
    refuse_manifest(aws, t, SHARDED_RUN)
    code, text = invoke(f"./ops why {ENVIRONMENT} {SHARDED} {SHARDED_RUN}")
    aws.assert_done()
    assert code == 0, text
    assert "failed shards none" in _flat(text) and "./ops rerun" not in text


def test_a_failed_shards_job_is_named_from_its_cause_else_its_records_stem() -> None:
    job = json.dumps({"TransformJobName": "stem1", "FailureReason": "ClientError: x"})
    shard = FailedShard("0000001", "stem", "States.TaskFailed", job, "s3://b/k")
    assert (shard.job_shown, shard.failure_reason) == ("job stem1", "ClientError: x")
    timed_out = FailedShard("0000001", "stem", "States.Timeout", "no JSON", "s3://b/k")
    assert (timed_out.job_shown, timed_out.failure_reason) == ("job name stem stem", None)
    unnamed = FailedShard("0000001", None, "States.Runtime", None, "s3://b/k")
    assert unnamed.job_shown == "job - (none started)"


def test_with_delivery_rerun_points_to_a_run_of_the_whole_input(tmp_path: Path) -> None:
    """A pipeline that delivers whole datasets does not run failed shards alone (its workflow
    refuses such a run): rerun says so before any call and names the whole run instead."""
    raw = yaml.safe_load(OPS_CONFIG.read_text())
    [events] = [p for p in raw["pipelines"] if p["name"] == SHARDED]
    events["delivery"] = {}
    events["transform"]["shards"]["tolerated_failed_shards_percent"] = 0
    (tmp_path / "delivering.yaml").write_text(yaml.safe_dump(raw))
    aws = StubbedAws(ENVIRONMENT)
    install(aws)
    config = tmp_path / "delivering.yaml"
    code, text = invoke(
        f"./ops rerun {ENVIRONMENT} {SHARDED} {SHARDED_RUN} --failed --config {config}"
    )
    aws.assert_done()
    flat = _flat(text)
    assert code == 2 and aws.calls == []
    assert "delivers whole datasets" in flat
    assert f"./ops run {ENVIRONMENT} {SHARDED} --input-prefix" in flat
