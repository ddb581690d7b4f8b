"""What a successful run leaves: the manifest and notices, the registry's newest approved
package (and its clean-up), the freshness signal.

A mixin of ExecutionTests (tests/test_executions.py): its tests read the class's ``results``.
"""

from __future__ import annotations

import json

from modules.workflow.state_names import (
    CREATE_RUN_MODEL,
    DELETE_RUN_MODEL,
    DELETE_RUN_MODEL_AFTER_FAILURE,
    FIND_APPROVED_MODEL,
    FIND_APPROVED_MODEL_NEXT_PAGE,
    NOTIFY_SUCCESS,
    RECORD_COMPLETED_TRANSFORM,
    WRITE_MANIFEST,
)
from tests.execution_checks.runs import (
    Runs,
    failure_message,
    only,
)
from tests.support.mocked_answers import NEXT_PAGE_TOKEN, package_arn


class OutcomeChecks:
    """What a successful run leaves."""

    def test_success_writes_the_manifest_and_notifies_where_enabled(
        self, results: list[Runs]
    ) -> None:
        for r in results:
            m, run = r.machine, r["scheduled"]
            p = m.pipeline
            manifest = run.output.get("manifest")
            if p.write_manifest:
                put = only(run.requests_of(WRITE_MANIFEST))
                assert put["Bucket"] == m.output_bucket
                assert put["Key"] == f"{p.run_output_prefix}{run.name}/_manifest.json"
                assert put["ServerSideEncryption"] == "aws:kms"
                assert json.loads(put["Body"]) == manifest
            else:
                assert run.requests_of(WRITE_MANIFEST) == []
            if p.notify_on_success:
                notice = json.loads(only(run.requests_of(NOTIFY_SUCCESS))["Message"])
                assert notice["manifest"] == manifest
                assert (notice["severity"], notice["pipeline"]) == ("notice", m.names.base)
                assert notice["environment"] == m.environment
                assert notice["message"] == f"Run {run.name} succeeded."
            else:
                assert run.requests_of(NOTIFY_SUCCESS) == []
            if manifest is None:
                assert not (p.write_manifest or p.notify_on_success)
                continue
            model = package_arn(m, 7) if p.model.resolved_per_run else m.model_name
            assert manifest["pipeline"] == p.name
            assert manifest["environment"] == m.environment
            assert manifest["run_id"] == run.name
            assert manifest["trigger"] == "schedule"
            assert manifest["model"] == model
            assert (
                manifest["input"] == f"s3://{m.input_bucket}/{r.runs['scheduled'][0].expect_prefix}"
            )
            assert manifest["output"] == m.output_path(run.name)
            if m.sharded:  # its jobs are its shards' (tests/execution_checks/shards.py)
                assert manifest["transform_job"] is None and manifest["rerun_of"] is None
                assert manifest["shards"]["failed"]["count"] == 0
                continue
            # The job that ran is the attempt that was sent, not the run's name.
            sent = only(run.requests_of(m.job_state))["TransformJobName"]
            assert manifest["transform_job"] == sent != m.job_name(run.name)
            assert isinstance(manifest["duration_seconds"], int)

    def test_registry_runs_use_the_newest_approved_package_and_clean_up(
        self, results: list[Runs]
    ) -> None:
        for r in results:
            m = r.machine
            if not m.pipeline.model.resolved_per_run:
                assert CREATE_RUN_MODEL not in m.states
                continue
            run = r["scheduled"]
            job = m.job_name(run.name)
            find = only(run.requests_of(FIND_APPROVED_MODEL))
            assert find["ModelPackageGroupName"] == m.pipeline.model.model_package_group
            assert (find["ModelApprovalStatus"], find["SortBy"], find["SortOrder"]) == (
                "Approved",
                "CreationTime",
                "Descending",
            )
            create = only(run.requests_of(CREATE_RUN_MODEL))
            assert create["ModelName"] == job
            assert create["PrimaryContainer"]["ModelPackageName"] == package_arn(m, 7)
            assert only(run.requests_of(DELETE_RUN_MODEL))["ModelName"] == job
            order = [state for state, *_ in run.requests]
            assert order.index(CREATE_RUN_MODEL) < order.index(m.job_state)
            assert order.index(m.job_state) < order.index(DELETE_RUN_MODEL)
            # On every failure after the model exists, it is deleted too.
            for name, (_, failed) in r.runs.items():
                if failed.status == "FAILED" and failed.requests_of(CREATE_RUN_MODEL):
                    deleted = failed.requests_of(DELETE_RUN_MODEL_AFTER_FAILURE)
                    assert deleted and deleted[0]["ModelName"] == m.job_name(name), name
            none = r["no-approved-package"]
            assert (none.status, none.error) == ("FAILED", "NoApprovedModelPackage")
            assert none.requests_of(CREATE_RUN_MODEL) == none.requests_of(m.job_state) == []
            assert failure_message(none)["error"] == "NoApprovedModelPackage"

    def test_registry_run_follows_next_token_past_an_empty_page(self, results: list[Runs]) -> None:
        registry = self.having(results, "registry", lambda p: p.model.resolved_per_run)
        for r in registry:
            m = r.machine
            run = r["registry-empty-first-page"]
            assert run.status == "SUCCEEDED", (m.label, run.error, run.cause)
            first = only(run.requests_of(FIND_APPROVED_MODEL))
            second = only(run.requests_of(FIND_APPROVED_MODEL_NEXT_PAGE))
            assert "NextToken" not in first
            assert second == {**first, "NextToken": NEXT_PAGE_TOKEN}
            create = only(run.requests_of(CREATE_RUN_MODEL))
            assert create["PrimaryContainer"]["ModelPackageName"] == package_arn(m, 7)
            # One page that holds the package: no second call.
            assert r["scheduled"].requests_of(FIND_APPROVED_MODEL_NEXT_PAGE) == []

    def test_only_a_completed_transform_records_the_freshness_signal(
        self, results: list[Runs]
    ) -> None:
        """The freshness alarm counts TransformsCompleted in the pipeline's namespace: a run that
        found no input, was skipped or failed must not publish it; a completed transform must."""
        for r in results:
            m = r.machine
            record = only(r["scheduled"].requests_of(RECORD_COMPLETED_TRANSFORM))
            assert record == {
                "Namespace": m.names.metric_namespace,
                "MetricData": [{"MetricName": "TransformsCompleted", "Value": 1, "Unit": "Count"}],
            }
            quiet = ["bad-input", "sagemaker-invalid", "transform-fails", "shards-fail"]
            quiet = [name for name in quiet if r.has(name)]
            quiet += ["empty-input"] if m.pipeline.skip_empty_input else []
            quiet += ["overlap"] if m.pipeline.overlap == "skip" else []
            for name in quiet:
                run = r[name]
                assert RECORD_COMPLETED_TRANSFORM not in run.states, (m.label, name)
                assert run.requests_of(RECORD_COMPLETED_TRANSFORM) == [], (m.label, name)
            # Both "did nothing" runs still end as succeeded executions (ExecutionsSucceeded).
            for name in ("empty-input", "overlap"):
                if r.has(name):
                    assert r[name].status == "SUCCEEDED", (m.label, name)
            # Recorded after the job completed, before the run ends.
            order = [state for state, *_ in r["scheduled"].requests]
            assert order.index(m.job_state) < order.index(RECORD_COMPLETED_TRANSFORM)
