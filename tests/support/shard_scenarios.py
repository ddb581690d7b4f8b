"""The run paths of a sharded pipeline (``transform.shards``), for tests/support/executions.py: the
input files the engine's memory S3 holds, which shard's job fails and how, and re-runs.

Every count is derived from the pipeline's shards settings: a listing one page longer than S3's
page, enough shards for one failed shard to stay within the tolerance, every shard failing.
Needs the deployed machine and the mocked answers (tests/support/mocked_answers.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from modules.config import ShardsConfig
from modules.config.aws_facts import LIST_OBJECTS_MAX_KEYS
from modules.shard_layout import rerun_items_key, shard_name
from modules.workflow.shards import SHARDS_FAILED_ERROR, reruns_failed_shards
from modules.workflow.state_names import (
    LIST_FAILED_SHARDS,
    READ_FAILED_SHARD,
    RECORD_SHARD_FAILURE,
    RERUN_PREFIX,
    RUN_SHARD_TRANSFORM_JOB,
    WRITE_SHARD_MANIFEST,
)
from tests.support.machines import Machine
from tests.support.mocked_answers import (
    CAPACITY_ERROR,
    happy_mocks,
    job_failure,
    throw,
)
from tools.ops.shards import RERUN_TRIGGER, Rerun

# A failed shard's job: SageMaker's reason, as a page should quote it.
SHARD_FAILURE_REASON = "ClientError: bad input in a shard"
# The most shards a scenario starts (a config with a tiny tolerance would need many more for one
# failed shard to stay within it: that scenario is then left out, and the check says so).
MAX_SHARDS = 12
# A re-run's original run, and the marker/folder keys a listing holds beside the input.
EARLIER_RUN = "earlier-run"
FOLDER_KEY = "folder/"

Add = Callable[..., None]
# The re-runs (started by hand, as ./ops rerun --failed does).
RERUNS = ("rerun-failed-shards", "rerun-fails", "rerun-items-missing", "rerun-elsewhere")


def files_per_job(machine: Machine) -> int:
    shards = machine.pipeline.transform.shards
    assert shards is not None
    return shards.files_per_job


def input_keys(prefix: str, count: int) -> list[str]:
    return [f"{prefix}part-{n:05d}.csv" for n in range(count)]


def input_files(machine: Machine, prefix: str, count: int, *extra: str) -> dict[str, Any]:
    """The memory S3: ``count`` input files under ``prefix`` (and ``extra`` keys), an empty
    output bucket."""
    keys = [*input_keys(prefix, count), *extra]
    # (A "folder" key is an empty object whose key ends with "/", as the console creates them.)
    bodies = {k: "" if k.endswith("/") else f"row of {k}\n" for k in keys}
    return {machine.input_bucket: bodies, machine.output_bucket: {}}


def shard_job_named(machine: Machine, shard: int) -> str:
    """A glob of one shard's job names (ByRequest's When)."""
    return f"{machine.run_prefix}{shard_name(shard)}-*"


def failing_shards(machine: Machine, shards: list[int], answer: dict[str, Any]) -> dict[str, Any]:
    """The shard job's mock: these shards' jobs answer ``answer``, the others complete."""
    completes = happy_mocks(machine, "any")[RUN_SHARD_TRANSFORM_JOB]
    return {
        "ByRequest": [
            {"When": {"TransformJobName": shard_job_named(machine, n)}, "Answer": answer}
            for n in shards
        ],
        "Otherwise": completes,
    }


def shards_failing(machine: Machine, mocks: dict[str, Any]) -> dict[str, Any]:
    """A run that fails: every shard's job fails (beyond any tolerance but 100 %, where failed
    shards never fail the run: then the listing of failed shards is refused)."""
    shards = machine.pipeline.transform.shards
    assert shards is not None
    if shards.can_exceed_tolerance:
        return {**mocks, RUN_SHARD_TRANSFORM_JOB: job_failure(SHARD_FAILURE_REASON)}
    return {**mocks, LIST_FAILED_SHARDS: throw("S3.AccessDeniedException", "Access Denied")}


def failing_error(machine: Machine) -> str:
    """The error of a run ``shards_failing`` (or, unsharded, a failed job) makes fail."""
    shards = machine.pipeline.transform.shards
    if shards is None:
        return "States.TaskFailed"
    return SHARDS_FAILED_ERROR if shards.can_exceed_tolerance else "S3.AccessDeniedException"


def files_over_pages(shards: ShardsConfig) -> int | None:
    """The files of a listing one page longer than S3's, or None where they would make more than
    MAX_SHARDS shards (that scenario is then left out)."""
    files = LIST_OBJECTS_MAX_KEYS + 1
    return files if math.ceil(files / shards.files_per_job) <= MAX_SHARDS else None


def shards_for_one_tolerated(shards: ShardsConfig) -> int | None:
    """How many shards a run needs for one failed shard to stay within the tolerance, or None
    where there is no tolerance or that would be more than MAX_SHARDS."""
    if not shards.tolerated_failed_shards_percent:
        return None
    count = max(2, math.ceil(100 / shards.tolerated_failed_shards_percent))
    return count if count <= MAX_SHARDS else None


def shard_inputs(machine: Machine, prefix: str) -> dict[str, Any]:
    """A failing scenario's files under ``prefix``: two shards' worth (its page names two)."""
    if not machine.sharded:
        return {}
    return {"s3": input_files(machine, prefix, 2 * files_per_job(machine))}


def rerun_input(machine: Machine, run: str, prefix: str) -> dict[str, Any]:
    """What ``./ops rerun --failed`` starts a run with (tools/ops/shards.py's Rerun)."""
    items = rerun_items_key(machine.pipeline.run_output_prefix, run)
    rerun = Rerun(of=EARLIER_RUN, name=run, input_prefix=prefix, keys=(), shards=0,
                  items_key=items, output_folder="")  # fmt: skip
    return rerun.run_input


def _with_items(machine: Machine, run: str, prefix: str, keys: list[str]) -> dict[str, Any]:
    """A re-run's memory S3: the run's input files, and the list of those to run again."""
    files = input_files(machine, prefix, len(keys) + 1)
    items = rerun_input(machine, run, prefix)["shard_items"]
    files[machine.output_bucket][items] = json.dumps([{"Key": k} for k in keys])
    return files


def rerun_scenarios(machine: Machine, add: Add, prefix: str) -> None:
    """Runs started as ``./ops rerun --failed`` starts them, on the pipeline's default prefix."""
    shards = machine.pipeline.transform.shards
    assert shards is not None
    again = input_keys(prefix, shards.files_per_job + 1)[1:]  # two shards' worth of a run's files

    def add_rerun(name: str, **more: Any) -> None:
        add(name, rerun_input(machine, name, prefix), trigger=RERUN_TRIGGER, expect_prefix=prefix,
            **more)  # fmt: skip

    add_rerun("rerun-failed-shards", s3=_with_items(machine, "rerun-failed-shards", prefix, again),
              notes={"files": again})  # fmt: skip
    if shards.can_exceed_tolerance:
        failing = happy_mocks(machine, "rerun-fails")
        failing[RERUN_PREFIX + RUN_SHARD_TRANSFORM_JOB] = job_failure(SHARD_FAILURE_REASON)
        add_rerun(
            "rerun-fails", mocks=failing, s3=_with_items(machine, "rerun-fails", prefix, again)
        )
    add_rerun("rerun-items-missing")  # no list where the run input says


def shard_scenarios(machine: Machine, add: Add, scheduled: str) -> None:
    """Every path of a shard, and of the run around them (``scheduled``: the prefix a scheduled
    run reads; the re-runs read the pipeline's default prefix)."""
    p = machine.pipeline
    shards = p.transform.shards
    assert shards is not None
    per_job, prefix = shards.files_per_job, p.default_input_prefix
    happy = happy_mocks  # (named for the scenarios below)
    not_input = [scheduled + FOLDER_KEY] + ([scheduled + p.trigger.marker] if p.trigger else [])

    def add_with(name: str, files: int, job: dict[str, Any] | None = None, **more: Any) -> None:
        mocks = happy(machine, name)
        if job is not None:
            mocks[RUN_SHARD_TRANSFORM_JOB] = job
        mocks.update(more.pop("mocks", {}))
        add(name, mocks=mocks, s3=input_files(machine, scheduled, files, *not_input), **more)

    # More files than one listing page (the Map's ItemReader pages), with a "folder" key and the
    # marker beside them: left out of every shard (where that is at most MAX_SHARDS shards).
    if (over_pages := files_over_pages(shards)) is not None:
        add_with("shards-over-pages", over_pages)
    # Only a folder key (and the marker) in a shard: nothing to transform.
    add("shard-without-input", s3=input_files(machine, scheduled, 0, *not_input))
    # One failed shard of enough shards to stay within the tolerance.
    if (count := shards_for_one_tolerated(shards)) is not None:
        failure = job_failure(SHARD_FAILURE_REASON)
        add_with("shard-fails-tolerated", count * per_job, failing_shards(machine, [1], failure))
    if shards.can_exceed_tolerance:
        add_with("shards-fail", 2 * per_job, job_failure(SHARD_FAILURE_REASON))
        # The failed shards' records cannot be read: the run still fails, with the Map's error.
        unreadable = {READ_FAILED_SHARD: throw("S3.AccessDeniedException", "Access Denied")}
        add_with("failed-shards-unreadable", per_job, job_failure(SHARD_FAILURE_REASON),
                 mocks=unreadable)  # fmt: skip
    # The input cannot be listed (the Map's ItemReader fails: States.ItemReaderFailed).
    add("shards-input-unlisted", s3={machine.output_bucket: {}})
    # A shard's own S3 writes failing: its manifest (the shard fails), its failure record (the
    # shard fails with its own error all the same).
    denied = throw("S3.AccessDeniedException", "Access Denied")
    add_with("shard-manifest-unwritable", per_job, mocks={WRITE_SHARD_MANIFEST: denied})
    add_with("failure-record-unwritable", per_job, job_failure(SHARD_FAILURE_REASON),
             mocks={RECORD_SHARD_FAILURE: denied})  # fmt: skip
    # The job's transient errors: the call's own (Retry: same entry, next retry count) and the
    # generic error with a transient cause (a Wait, then a new entry: a new hash).
    completed = happy(machine, "any")[RUN_SHARD_TRANSFORM_JOB]["0"]
    throttled = {"Throw": {"Error": "SageMaker.ThrottlingException", "Cause": "Rate exceeded"}}
    add_with("shard-throttled", per_job, {"0": throttled, "1": completed})
    generic = "SageMaker.AmazonSageMakerException"
    transient = {"Throw": {"Error": generic, "Cause": "Rate exceeded (ThrottlingException)"}}
    add_with("shard-sagemaker-throttled", per_job, {"0": transient, "1": completed})
    add_with("shard-sagemaker-invalid", per_job, throw(generic, "ValidationException: bad"))
    if p.transform.fallback_instance_types:
        fallback = {**job_failure(CAPACITY_ERROR, "0"), "1": completed}
        add_with("shard-capacity-then-fallback", per_job, fallback)
        add_with("shard-capacity-on-every-type", per_job, job_failure(CAPACITY_ERROR))
    # ./ops rerun --failed: the run reads its files from the list under the shards folder (not
    # where the pipeline delivers whole datasets: such a list is refused, as any elsewhere).
    if reruns_failed_shards(p):
        rerun_scenarios(machine, add, prefix)
    elsewhere = {**rerun_input(machine, "x", prefix), "shard_items": "elsewhere/items.json"}
    add("rerun-elsewhere", elsewhere, trigger=RERUN_TRIGGER, expect_prefix=prefix)
