"""The state machine definition as data, its flow and run identity: every transition exists and
every state is reachable (in every variant of the fixtures), the transform job runs synchronously,
its job name is valid for any execution name and new on every retry and re-entry, and each run
writes under its own run id."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest

from modules.config import PipelineConfig, ProjectConfig
from modules.workflow import build_definition
from modules.workflow.state_names import (
    RUN_TRANSFORM_JOB,
    USE_DEFAULT_INPUT,
)
from tests.support.workflow import TARGETS, pipeline_of


@pytest.fixture(scope="module")
def definition(default_config: ProjectConfig) -> dict[str, Any]:
    """dev's churn: defaults for every switch (no trigger, no notifications)."""
    return build_definition(pipeline_of(default_config, "dev", "churn"), TARGETS)


def _next_states(state: dict[str, Any]) -> set[str]:
    found = {state[k] for k in ("Next", "Default") if k in state}
    found |= {c["Next"] for c in state.get("Choices", [])}
    found |= {c["Next"] for c in state.get("Catch", [])}
    return found


def test_every_transition_exists_and_every_state_is_reachable(definition: dict[str, Any]) -> None:
    states = definition["States"]
    reachable, todo = set(), [definition["StartAt"]]
    while todo:
        name = todo.pop()
        if name in reachable:
            continue
        reachable.add(name)
        assert name in states
        todo.extend(_next_states(states[name]))
    assert reachable == set(states)


def test_runs_the_sync_transform_job(definition: dict[str, Any]) -> None:
    task = definition["States"][RUN_TRANSFORM_JOB]
    assert task["Resource"] == "arn:aws:states:::sagemaker:createTransformJob.sync"
    assert task["Parameters"]["ModelName"] == "MODEL"
    assert task["TimeoutSeconds"] == 180 * 60
    assert definition["TimeoutSeconds"] > task["TimeoutSeconds"]


def test_job_name_is_valid_for_any_execution_name(definition: dict[str, Any]) -> None:
    expression = definition["States"][RUN_TRANSFORM_JOB]["Parameters"]["TransformJobName.$"]
    assert expression == (
        f"States.Format('{TARGETS.names.run_prefix}{{}}', "
        "States.Hash(States.Format('{}/{}/{}', "
        "$$.Execution.Name, $$.State.EnteredTime, $$.State.RetryCount), 'MD5'))"
    )
    # What Step Functions computes, for the longest and strangest execution names allowed.
    for execution_name in ("a" * 80, "backfill_2024-01-01!", "9f1c1e1e-uuid-like-name"):
        seed = f"{execution_name}/2026-11-27T02:00:00.123Z/0"
        job = TARGETS.names.run_prefix + hashlib.md5(seed.encode()).hexdigest()
        assert len(job) <= 63
        assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", job)


def test_retries_and_re_entries_get_a_new_job_name(definition: dict[str, Any]) -> None:
    # A deterministic name per execution collides ("already exists") when CreateTransformJob is
    # retried after it succeeded, or the state is entered again: every attempt names a new job.
    expression = definition["States"][RUN_TRANSFORM_JOB]["Parameters"]["TransformJobName.$"]
    # A Retry keeps the state entered and counts RetryCount; the CheckSageMakerError loop enters
    # the state again, at a later EnteredTime.
    for part in ("$$.State.EnteredTime", "$$.State.RetryCount"):
        assert part in expression
    entered = ["2026-11-27T02:00:00.123Z", "2026-11-27T02:01:00.456Z", "2026-11-28T09:00:00.000Z"]
    names = {
        hashlib.md5(f"run-1/{when}/{retry}".encode()).hexdigest()
        for when in entered
        for retry in range(4)
    }
    assert len(names) == 3 * 4
    assert definition["States"][USE_DEFAULT_INPUT]["Parameters"]["attempt"] == 0


def test_each_run_writes_under_its_own_run_id(definition: dict[str, Any]) -> None:
    params = definition["States"][RUN_TRANSFORM_JOB]["Parameters"]
    assert params["TransformOutput"]["S3OutputPath.$"] == (
        "States.Format('s3://OUT/churn/{}/', $.run.run_id)"
    )
    assert definition["States"][USE_DEFAULT_INPUT]["Parameters"]["run_id.$"] == "$$.Execution.Name"


def _all_pipelines(*configs: ProjectConfig) -> list[PipelineConfig]:
    return [p for c in configs for env in c.environments.values() for p in env.pipelines]


def test_every_variant_is_fully_connected(
    default_config: ProjectConfig, full_config: ProjectConfig
) -> None:
    for pipeline in _all_pipelines(default_config, full_config):
        test_every_transition_exists_and_every_state_is_reachable(
            build_definition(pipeline, TARGETS)
        )
