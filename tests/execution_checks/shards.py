"""Sharded runs, executed: the Map's listing over pages and its batches, each shard's manifest and
job, the failed shards within and beyond the tolerance, a shard's own retries and fallback
types, and the re-run of failed shards (./ops rerun --failed). Expectations come from the
pipeline's shards settings and modules/shard_layout.py."""

from __future__ import annotations

import json
import math
from typing import Any

from modules.config import PipelineConfig, ShardsConfig
from modules.config.aws_facts import LIST_OBJECTS_MAX_KEYS
from modules.shard_layout import failed_key, manifest_key, run_shards, shard_name
from modules.workflow.delivery_count import is_input
from modules.workflow.shards import (
    NAMED_FAILED_SHARDS,
    SHARDS_FAILED_ERROR,
    THRESHOLD_ERROR,
    reruns_failed_shards,
)
from modules.workflow.state_names import (
    HASH_SHARD_JOB,
    NOTIFY_FAILURE,
    REJECT_SHARD_ITEMS,
    RUN_SHARDS,
    RUN_SHARDS_AGAIN,
    SHARD_WITHOUT_INPUT,
)
from tests.execution_checks.runs import Runs, failure_message
from tests.support.machines import Machine
from tests.support.sfn_engine import Execution
from tests.support.shard_scenarios import (
    SHARD_FAILURE_REASON,
    files_over_pages,
    files_per_job,
    shards_for_one_tolerated,
)

FEATURE = "shards"


def _sharded(pipeline: PipelineConfig) -> bool:
    return pipeline.transform.shards is not None


def _shards(m: Machine) -> ShardsConfig:
    shards = m.pipeline.transform.shards
    assert shards is not None
    return shards


def _manifests(m: Machine, run: Execution) -> dict[str, list[str]]:
    """Each shard's manifest file as the run left it: shard number -> input keys."""
    folder = run_shards(m.pipeline.run_output_prefix, run.name)
    written = run.s3_objects.get(m.output_bucket, {})
    found = {}
    for key, body in written.items():
        shard = key.removeprefix(folder + "manifests/").removesuffix(".manifest")
        if key == manifest_key(folder, shard):
            [head, *relative] = json.loads(body)
            prefix = head["prefix"].removeprefix(f"s3://{m.input_bucket}/")
            found[shard] = [prefix + k for k in relative]
    return found


def _input_keys(m: Machine, run: Execution, prefix: str) -> list[str]:
    listed = run.s3_objects[m.input_bucket]
    return [
        k
        for k in sorted(listed)
        if k.startswith(prefix) and is_input(m.pipeline, k, len(listed[k]))
    ]


class ShardChecks:
    """transform.shards, on the pipelines that have it."""

    having: Any  # ExecutionTests.having

    def _runs(self, results: list[Runs]) -> list[Runs]:
        found: list[Runs] = self.having(results, FEATURE, _sharded)
        return found

    def test_a_listing_over_pages_is_split_into_shards_of_files_per_job(
        self, results: list[Runs]
    ) -> None:
        for r in self._runs(results):
            if not r.has("shards-over-pages"):  # more than MAX_SHARDS shards: not run
                assert files_over_pages(_shards(r.machine)) is None
                continue
            m, (scenario, run) = r.machine, r.runs["shards-over-pages"]
            assert run.status == "SUCCEEDED", (m.label, run.error, run.cause)
            prefix = scenario.expect_prefix or m.pipeline.default_input_prefix
            # The ItemReader paged (S3 gives 1,000 keys a page) and every key became an item.
            listings = [q for q in run.s3_requests if q["op"] == "ListObjectsV2"]
            listed = [q for q in listings if q["params"].get("Bucket") == m.input_bucket]
            assert len(listed) >= 2 and "ContinuationToken" in listed[-1]["params"]
            items = len(run.s3_objects[m.input_bucket])
            assert len(run.children) == math.ceil(items / files_per_job(m))
            # Each input file in exactly one shard, in listing order; no folder key, no marker.
            manifests = _manifests(m, run)
            assert [k for s in sorted(manifests) for k in manifests[s]] == _input_keys(
                m, run, prefix
            )
            assert len(_input_keys(m, run, prefix)) == LIST_OBJECTS_MAX_KEYS + 1
            assert all(len(keys) <= files_per_job(m) for keys in manifests.values())
            # One job a shard, on its manifest, named by its shard, into the run's one folder.
            jobs = run.requests_of(m.job_state)
            assert len(jobs) == len(manifests)
            folder = run_shards(m.pipeline.run_output_prefix, run.name)
            for shard, job in zip(sorted(manifests), jobs, strict=True):
                assert job["TransformJobName"].startswith(m.run_prefix + shard + "-")
                source = job["TransformInput"]["DataSource"]["S3DataSource"]
                assert source["S3Uri"] == f"s3://{m.output_bucket}/{manifest_key(folder, shard)}"
                assert job["TransformOutput"]["S3OutputPath"] == m.output_path(run.name)
            # The Map's results, under the run's shards folder.
            results_written = [k for k in run.s3_objects[m.output_bucket] if "/results/" in k]
            assert any(k.startswith(folder + "results/") for k in results_written)
            assert any(k.endswith("/manifest.json") for k in results_written)
            assert run.output["transform"]["output_path"] == m.output_path(run.name)

    def test_a_shard_of_only_folder_keys_and_the_marker_starts_no_job(
        self, results: list[Runs]
    ) -> None:
        for r in self._runs(results):
            run = r["shard-without-input"]
            assert run.status == "SUCCEEDED", (r.machine.label, run.error, run.cause)
            # (One shard, or, with fewer files a job than the folder key and marker, one each.)
            assert run.child_runs
            assert all(child.states[-1] == SHARD_WITHOUT_INPUT for child in run.child_runs)
            assert run.requests_of(r.machine.job_state) == []

    def test_a_failed_shard_within_the_tolerance_is_listed_and_the_run_succeeds(
        self, results: list[Runs]
    ) -> None:
        for r in self._runs(results):
            m = r.machine
            shards = _shards(m)
            if not r.has("shard-fails-tolerated"):
                assert shards_for_one_tolerated(shards) is None, m.label
                continue
            run = r["shard-fails-tolerated"]
            assert run.status == "SUCCEEDED", (m.label, run.error, run.cause)
            assert [c["status"] for c in run.children].count("FAILED") == 1
            folder = run_shards(m.pipeline.run_output_prefix, run.name)
            record_key = failed_key(folder, shard_name(1))
            failed = {"count": 1, "records": [record_key], "more": False}
            assert run.output["shards"]["failed"] == failed
            if m.pipeline.write_manifest or m.pipeline.notify_on_success:
                assert run.output["manifest"]["shards"]["failed"] == failed
            record = json.loads(run.s3_objects[m.output_bucket][record_key])
            assert record["shard"] == shard_name(1) and record["error"] == "States.TaskFailed"
            assert json.loads(record["cause"])["FailureReason"] == SHARD_FAILURE_REASON
            assert record["job"] and record["job"].startswith(m.run_prefix + shard_name(1))
            assert record["manifest"] == f"s3://{m.output_bucket}/" + manifest_key(
                folder, shard_name(1)
            )

    def test_shards_failing_beyond_the_tolerance_fail_the_run_with_one_page_naming_them(
        self, results: list[Runs]
    ) -> None:
        for r in self._runs(results):
            m = r.machine
            shards = _shards(m)
            if not shards.can_exceed_tolerance:
                assert not r.has("shards-fail")
                continue
            run = r["shards-fail"]
            assert (run.status, run.error) == ("FAILED", SHARDS_FAILED_ERROR)
            message = failure_message(run)
            assert len(run.requests_of(NOTIFY_FAILURE)) == 1
            assert (message["error"], message["cause"]) == (SHARDS_FAILED_ERROR, run.cause)
            failed = [c for c in run.children if c["status"] == "FAILED"]
            assert failed
            for child in failed[:NAMED_FAILED_SHARDS]:
                shard = child["input"]["Items"][0]["Index"] // files_per_job(m)
                assert f"shard {shard_name(shard)} (job {m.run_prefix}{shard_name(shard)}-" in (
                    run.cause or ""
                )
            assert SHARD_FAILURE_REASON in (run.cause or "")
            folder = run_shards(m.pipeline.run_output_prefix, run.name)
            assert (run.cause or "").endswith(f"s3://{m.output_bucket}/{folder}failed/")
            # Unreadable records: the run fails all the same, with the Map's own error.
            unreadable = r["failed-shards-unreadable"]
            assert (unreadable.status, unreadable.error) == ("FAILED", THRESHOLD_ERROR)
            assert failure_message(unreadable)["error"] == THRESHOLD_ERROR

    def test_a_shards_job_keeps_the_runs_retries_and_fallback_types(
        self, results: list[Runs]
    ) -> None:
        for r in self._runs(results):
            m = r.machine
            # The call's own transient error: the same entry, the next retry count.
            run = r["shard-throttled"]
            assert run.status == "SUCCEEDED", (m.label, run.error)
            first, second, *_ = run.requests_of(m.job_state)
            assert first["TransformJobName"][:-1] == second["TransformJobName"][:-1]
            assert (first["TransformJobName"][-1], second["TransformJobName"][-1]) == ("0", "1")
            # The generic error with a transient cause: a new entry, a new hash.
            run = r["shard-sagemaker-throttled"]
            assert run.status == "SUCCEEDED", (m.label, run.error)
            first, second, *_ = run.requests_of(m.job_state)
            assert first["TransformJobName"] != second["TransformJobName"]
            working = [c for c in run.child_runs if c.requests_of(m.job_state)]
            assert working and all(c.states.count(HASH_SHARD_JOB) == 2 for c in working)
            assert run.retry_waits == [60.0] * len(working)  # each shard's Wait, once
            # Parameters SageMaker refuses: the shard fails at once.
            run = r["shard-sagemaker-invalid"]
            working = [c for c in run.child_runs if c.requests_of(m.job_state)]
            assert working and all(
                len(c.requests_of(m.job_state)) == 1 and c.status == "FAILED" for c in working
            )
            types = list(m.pipeline.transform.instance_types)
            if len(types) == 1:
                assert not r.has("shard-capacity-then-fallback")
                continue
            run = r["shard-capacity-then-fallback"]
            assert run.status == "SUCCEEDED", (m.label, run.error)
            first, second, *_ = run.requests_of(m.job_state)
            assert first["TransformResources"]["InstanceType"] == types[0]
            assert second["TransformResources"]["InstanceType"] == types[1]
            assert first["TransformJobName"] != second["TransformJobName"]
            run = r["shard-capacity-on-every-type"]
            record_keys = [k for k in run.s3_objects[m.output_bucket] if "/failed/" in k]
            assert record_keys, run.states
            record = json.loads(run.s3_objects[m.output_bucket][sorted(record_keys)[0]])
            assert json.loads(record["cause"])["InstanceTypesTried"] == types

    def test_a_rerun_runs_exactly_the_listed_files_into_its_own_folder(
        self, results: list[Runs]
    ) -> None:
        for r in self._runs(results):
            refused = r["rerun-elsewhere"]  # a list outside the shards folder; any, with delivery
            assert (refused.status, refused.error) == ("FAILED", "InvalidRunInput")
            assert refused.states[-1] == REJECT_SHARD_ITEMS
            if not reruns_failed_shards(r.machine.pipeline):
                assert not r.has("rerun-failed-shards") and RUN_SHARDS_AGAIN not in r.machine.states
                continue
            m, (scenario, run) = r.machine, r.runs["rerun-failed-shards"]
            assert run.status == "SUCCEEDED", (m.label, run.error, run.cause)
            assert RUN_SHARDS_AGAIN in run.states and RUN_SHARDS not in run.states
            manifests = _manifests(m, run)
            assert [k for s in sorted(manifests) for k in manifests[s]] == scenario.notes["files"]
            for job in run.requests_of("Rerun" + m.job_state):
                assert job["TransformOutput"]["S3OutputPath"] == m.output_path(run.name)
            if m.pipeline.write_manifest or m.pipeline.notify_on_success:
                assert run.output["manifest"]["rerun_of"] == json.loads(scenario.input)["rerun_of"]
            missing = r["rerun-items-missing"]
            assert (missing.status, missing.error) == ("FAILED", "States.ItemReaderFailed")
            assert failure_message(missing)["error"] == "States.ItemReaderFailed"
            unlisted = r["shards-input-unlisted"]
            assert (unlisted.status, unlisted.error) == ("FAILED", "States.ItemReaderFailed")

    def test_every_shard_write_is_encrypted_and_under_the_runs_shards_folder(
        self, results: list[Runs]
    ) -> None:
        for r in self._runs(results):
            m = r.machine
            for name, (_, run) in r.runs.items():
                folder = run_shards(m.pipeline.run_output_prefix, name)
                for state, resource_type, resource, params in run.requests:
                    if (resource_type, resource) != ("aws-sdk:s3", "putObject"):
                        continue
                    if state.endswith("WriteManifest"):
                        continue  # the run's own manifest, beside its output
                    assert params["Key"].startswith(folder), (name, state, params["Key"])
                    assert params["ServerSideEncryption"] == "aws:kms", (name, state)
                    assert params["SSEKMSKeyId"], (name, state)
