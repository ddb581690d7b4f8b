"""Which model made which output: with ``delivery``, a run's transform job tags, manifest and
"ready" event carry the model's identity (the package ARN and version the run resolved, or the
image, its digest and the artifact); without it, neither the tags nor the manifest change.

A mixin of ExecutionTests (tests/test_executions.py): its tests read the class's ``results``.
"""

from __future__ import annotations

import json
from typing import Any

from modules.workflow.model_identity import DIGEST_MARK, TAG_PREFIX, fits_a_tag
from modules.workflow.state_names import PUT_READY_EVENT
from tests.execution_checks.runs import Runs, delivering, only
from tests.support.machines import Machine
from tests.support.mocked_answers import package_arn


def expected_identity(m: Machine) -> dict[str, Any]:
    """The identity a scheduled run reports: the package the registry answered (version 7), the
    configured package, or the configured image and artifact."""
    model = m.pipeline.model
    if model.resolved_per_run:
        return {"package_arn": package_arn(m, 7), "package_version": 7}
    if model.model_package_arn is not None:
        version = int(model.model_package_arn.split("/")[-1])
        return {"package_arn": model.model_package_arn, "package_version": version}
    assert model.image is not None
    identity: dict[str, Any] = {"image": model.image, "artifact_key": model.artifact_key}
    if DIGEST_MARK in model.image:
        identity["image_digest"] = model.image[model.image.index("sha256:") :]
    return identity


def model_tags(request: dict[str, Any]) -> dict[str, str]:
    return {
        tag["Key"].removeprefix(TAG_PREFIX): tag["Value"]
        for tag in request["Tags"]
        if tag["Key"].startswith(TAG_PREFIX)
    }


class ModelIdentityChecks:
    """Which model made which output."""

    def test_a_delivering_runs_tags_manifest_and_event_name_its_model(
        self, results: list[Runs]
    ) -> None:
        for r in delivering(self, results):
            m, run = r.machine, r["scheduled"]
            identity = expected_identity(m)
            jobs = run.requests_of(m.job_state)  # the run's job, or each shard's
            assert jobs if m.sharded else len(jobs) == 1, m.label
            tagged = {k: str(v) for k, v in identity.items() if fits_a_tag(str(v))}
            for job in jobs:
                assert model_tags(job) == tagged, m.label
                assert {"pipeline", "environment"} <= {tag["Key"] for tag in job["Tags"]}
            manifest = run.output.get("manifest")
            if m.pipeline.write_manifest or m.pipeline.notify_on_success:
                assert manifest["model_identity"] == identity, m.label
            [entry] = only(run.requests_of(PUT_READY_EVENT))["Entries"]
            assert json.loads(entry["Detail"])["model"] == identity, m.label
            # Every attempt of the job carries them (a retried one too).
            for name, (_, other) in r.runs.items():
                for sent in other.requests_of(m.job_state):
                    assert model_tags(sent).keys() == tagged.keys(), (m.label, name)

    def test_without_delivery_tags_and_manifest_stay_as_they_were(
        self, results: list[Runs]
    ) -> None:
        for r in results:
            if r.machine.pipeline.delivery is not None:
                continue
            run = r["scheduled"]
            assert model_tags(only(run.requests_of(r.machine.job_state))) == {}
            assert "model_identity" not in run.output.get("manifest", {})
