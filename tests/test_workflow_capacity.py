"""Fallback instance types as data: the capacity check's JSONata, evaluated by the JSONata library,
starts the job again only for a job SageMaker could not provision and while a type is left, and
the run's error then names every type tried (the engine runs the paths: tests/execution_checks/
capacity.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from modules.config import ProjectConfig
from modules.workflow import build_definition
from modules.workflow.state_names import (
    CHECK_CAPACITY_ERROR,
    FIRST_INSTANCE_TYPE,
    NO_CAPACITY_ON_ANY_TYPE,
    RUN_TRANSFORM_JOB,
)
from tests.support.jsonata import Jsonata
from tests.support.mocked_answers import CAPACITY_ERROR
from tests.support.workflow import TARGETS, pipeline_of, states_of


@pytest.fixture(scope="module")
def states(full_config: ProjectConfig) -> dict[str, Any]:
    return states_of(full_config, "stage", "scores")


@pytest.fixture(scope="module")
def types(full_config: ProjectConfig) -> list[str]:
    return list(pipeline_of(full_config, "stage", "scores").transform.instance_types)


def _description(reason: str, **more: Any) -> str:
    return json.dumps({"TransformJobName": "job-1", "FailureReason": reason, **more})


# Causes of a caught error, and whether each is a job SageMaker could not provision.
CAUSES = [
    ("the failed job's description", _description(CAPACITY_ERROR), True),
    ("compact JSON", _description(CAPACITY_ERROR).replace(": ", ":"), True),
    ("another reason", _description("ClientError: bad input"), False),
    (
        "capacity named later in another reason",
        _description(f"AlgorithmError: {CAPACITY_ERROR}"),
        False,
    ),
    (
        "the words inside another member's text",
        _description(
            "InternalServerError", Environment={"NOTE": '"FailureReason": "CapacityError'}
        ),
        False,
    ),
    ("not JSON", "CapacityError: Unable to provision", False),
    ("a timeout", "", False),
]


@pytest.mark.parametrize(("cause", "capacity"), [c[1:] for c in CAUSES], ids=[c[0] for c in CAUSES])
def test_only_a_capacity_error_starts_the_job_on_the_next_type(
    jsonata: Jsonata, states: dict[str, Any], types: list[str], cause: str, capacity: bool
) -> None:
    next_type, exhausted = states[CHECK_CAPACITY_ERROR]["Choices"]
    error = {"error": {"Error": "States.TaskFailed", "Cause": cause}}
    first = {"instance_types": types, "instance_type_index": 0, "instance_type": types[0]}
    assert jsonata.evaluate(next_type["Condition"], error, variables=first) is capacity
    if capacity:
        assigned = {
            name: jsonata.evaluate(value, error, variables=first)
            for name, value in next_type["Assign"].items()
        }
        assert assigned == {"instance_type_index": 1, "instance_type": types[1]}
    last = {**first, "instance_type_index": len(types) - 1, "instance_type": types[-1]}
    assert jsonata.evaluate(next_type["Condition"], error, variables=last) is False
    assert jsonata.evaluate(exhausted["Condition"], error, variables=last) is capacity


def test_an_error_without_a_cause_goes_to_the_failure_handling(
    jsonata: Jsonata, states: dict[str, Any], types: list[str]
) -> None:
    # A Choice whose condition fails cannot be caught: a missing cause must read as "not capacity".
    variables = {"instance_types": types, "instance_type_index": 0}
    for rule in states[CHECK_CAPACITY_ERROR]["Choices"]:
        assert (
            jsonata.evaluate(rule["Condition"], {"error": {"Error": "X"}}, variables=variables)
            is False
        )


def test_the_first_attempt_runs_on_the_configured_type(
    states: dict[str, Any], types: list[str]
) -> None:
    assigned = states[FIRST_INSTANCE_TYPE]["Assign"]
    assert assigned == {
        "instance_types": types,
        "instance_type_index": 0,
        "instance_type": types[0],
    }
    resources = states[RUN_TRANSFORM_JOB]["Parameters"]["TransformResources"]
    assert resources["InstanceType.$"] == "$instance_type"


def test_the_run_error_names_every_type_tried(
    jsonata: Jsonata, states: dict[str, Any], types: list[str]
) -> None:
    output = states[NO_CAPACITY_ON_ANY_TYPE]["Output"]
    variables = {"instance_types": types}
    run = {"input_prefix": "scores/daily/"}
    description = _description(CAPACITY_ERROR, TransformJobStatus="Failed")
    out = jsonata.evaluate(
        output,
        {"run": run, "error": {"Error": "States.TaskFailed", "Cause": description}},
        variables=variables,
    )
    assert out["run"] == run and out["error"]["Error"] == "States.TaskFailed"
    # Still the job's description (./ops reads its FailureReason), with the types first.
    assert json.loads(out["error"]["Cause"]) == {
        "InstanceTypesTried": types,
        **json.loads(description),
    }
    # A cause that is not a JSON object keeps its text, and the types follow it.
    text = jsonata.evaluate(
        output, {"error": {"Error": "E", "Cause": "no capacity"}}, variables=variables
    )["error"]["Cause"]
    assert text == f"no capacity (instance types tried: {', '.join(types)})"


def test_without_fallback_types_the_job_has_its_one_type(default_config: ProjectConfig) -> None:
    states = states_of(default_config, "dev", "churn")
    assert not {FIRST_INSTANCE_TYPE, CHECK_CAPACITY_ERROR, NO_CAPACITY_ON_ANY_TYPE} & states.keys()
    resources = states[RUN_TRANSFORM_JOB]["Parameters"]["TransformResources"]
    assert (
        resources["InstanceType"]
        == pipeline_of(default_config, "dev", "churn").transform.instance_type
    )


def test_the_run_outlasts_a_job_on_every_type(full_config: ProjectConfig) -> None:
    # The run's own timeout ends it without the failure handling (no page): it must leave every
    # type its whole job timeout.
    pipeline = pipeline_of(full_config, "stage", "scores")
    definition = build_definition(pipeline, TARGETS)
    job_timeout = definition["States"][RUN_TRANSFORM_JOB]["TimeoutSeconds"]
    attempts = len(pipeline.transform.instance_types)
    assert definition["TimeoutSeconds"] > attempts * job_timeout
