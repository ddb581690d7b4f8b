"""An example of a team's own check (run by `make check`, on your config/pipelines.yaml).

Each pipeline of each environment: its schedule is the one the config asks for (expression and
time zone, as Scheduler will receive them), and its transform runs on an instance family the
team allows. Edit RETIRED_FAMILIES, or add files like this one: any test_*.py here runs.
"""

from __future__ import annotations

import json

import pytest

from modules.naming import Names
from tools.check.stack_check import assert_resource, pipeline_stack, resources, user_config

# This team's policy: no previous-generation instance families (AWS's "previous generation"
# instances page lists them), whatever else a pipeline runs on.
RETIRED_FAMILIES = ("ml.m4.", "ml.c4.", "ml.p2.", "ml.p3.")

PIPELINES = [
    (env.name, pipeline)
    for env in user_config().environments.values()
    for pipeline in env.pipelines
]
IDS = [f"{env}-{pipeline.name}" for env, pipeline in PIPELINES]


@pytest.mark.parametrize(("env", "pipeline"), PIPELINES, ids=IDS)
def test_schedule_runs_when_the_config_says(env: str, pipeline) -> None:  # type: ignore[no-untyped-def]
    assert_resource(
        pipeline_stack(env, pipeline.name),
        "aws_scheduler_schedule",
        {
            "schedule_expression": pipeline.schedule.expression,
            "schedule_expression_timezone": pipeline.schedule.timezone,
        },
    )


@pytest.mark.parametrize(("env", "pipeline"), PIPELINES, ids=IDS)
def test_transform_runs_on_a_current_instance_family(env: str, pipeline) -> None:  # type: ignore[no-untyped-def]
    # The pipeline's own state machine, by the name the project gives it (a one-stack environment
    # holds every pipeline's).
    name = Names(user_config().project, env).of_pipeline(pipeline.name).state_machine
    machines = resources(pipeline_stack(env, pipeline.name), "aws_sfn_state_machine").values()
    [machine] = [m for m in machines if m["name"] == name]
    definition = json.dumps(machine["definition"])
    assert pipeline.transform.instance_type in definition
    assert not pipeline.transform.instance_type.startswith(RETIRED_FAMILIES), (
        f"{env}/{pipeline.name} runs on {pipeline.transform.instance_type}; "
        f"retired families: {', '.join(RETIRED_FAMILIES)}"
    )
