"""Fallback instance types: a transform job that SageMaker could not give instances to (its
``FailureReason`` starts with ``CapacityError``) is started again on the next configured type,
with the same input and a new job name; the run fails only once every type was tried, and its
page then names them. Any other failure goes to the failure handling as before.

Creates, for a pipeline with ``transform.fallback_instance_types``, three JSONata states around
the job's state: one that picks the first type (the variables ``instance_types``,
``instance_type_index`` and ``instance_type``, which the job's request reads), the Choice that
the job's Catch leads to, and the state that names the tried types in the run's error. Without
fallback types it creates nothing and the job's state reads its one type as before.

Needs the pipeline's transform config and the names of the job's state and of where failures go,
so that another job state (a shard's, run by a Map) can use the same states under a prefix. No
IAM of its own: the job's statement (modules/workflow/transform.py) allows CreateTransformJob on
the pipeline's job names for any instance type (no ``sagemaker:InstanceTypes`` condition), and
the execution role SageMaker assumes does not depend on the type.
"""

from __future__ import annotations

import json
import re

from modules.config import PipelineConfig
from modules.config.aws_facts import CAPACITY_ERROR_PREFIX
from modules.workflow import state_names as sn
from modules.workflow.chain import States

# The job's description is the .sync failure's cause (JSON text); SageMaker's reason for a job it
# could not provision starts with "CapacityError". Matched as text, not parsed: a cause that is
# not JSON (a timeout, an error of the call itself) must reach the failure handling, and a Choice
# whose expression fails cannot be caught.
CAPACITY_CAUSE = rf'/"FailureReason"\s*:\s*"{re.escape(CAPACITY_ERROR_PREFIX)}/'
# The variables the states share (a JSONPath state reads one as "$name").
TYPES, INDEX, CURRENT = "instance_types", "instance_type_index", "instance_type"


def has_fallback(pipeline: PipelineConfig) -> bool:
    return bool(pipeline.transform.fallback_instance_types)


def instance_type(pipeline: PipelineConfig) -> dict[str, str]:
    """The job request's ``InstanceType`` member: the one type, or the type being tried."""
    if has_fallback(pipeline):
        return {"InstanceType.$": f"${CURRENT}"}
    return {"InstanceType": pipeline.transform.instance_type}


def start_state(pipeline: PipelineConfig, job_state: str, prefix: str = "") -> str:
    """Where a run enters the job: the state that picks the first type, or the job itself."""
    return prefix + sn.FIRST_INSTANCE_TYPE if has_fallback(pipeline) else job_state


def failure_target(pipeline: PipelineConfig, on_failure: str, prefix: str = "") -> str:
    """Where the job's Catch of any other error leads: the capacity check, or the failure
    handling itself."""
    return prefix + sn.CHECK_CAPACITY_ERROR if has_fallback(pipeline) else on_failure


def capacity_states(
    pipeline: PipelineConfig, job_state: str, on_failure: str, prefix: str = ""
) -> States:
    """The states around ``job_state`` (whose Catch keeps the error at ``$.error``), or none
    without fallback types. ``prefix`` keeps their names unique beside another job's."""
    if not has_fallback(pipeline):
        return {}
    types = list(pipeline.transform.instance_types)
    error = "$states.input.error"
    capacity = f'$type({error}.Cause) = "string" and $contains({error}.Cause, {CAPACITY_CAUSE})'
    check, exhausted = prefix + sn.CHECK_CAPACITY_ERROR, prefix + sn.NO_CAPACITY_ON_ANY_TYPE
    return {
        prefix + sn.FIRST_INSTANCE_TYPE: {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Comment": "The job runs on the first type; the others are tried, in order, only "
            "when SageMaker has no capacity for the one before.",
            "Assign": {TYPES: types, INDEX: 0, CURRENT: types[0]},
            "Next": job_state,
        },
        check: {
            "Type": "Choice",
            "QueryLanguage": "JSONata",
            "Comment": "Only a job SageMaker could not provision is started again, on the next "
            "type (a new entry into the job's state: a new job name).",
            "Choices": [
                {
                    "Condition": f"{{% {capacity} and ${INDEX} + 1 < $count(${TYPES}) %}}",
                    "Assign": {
                        INDEX: f"{{% ${INDEX} + 1 %}}",
                        CURRENT: f"{{% ${TYPES}[${INDEX} + 1] %}}",
                    },
                    "Next": job_state,
                },
                {"Condition": f"{{% {capacity} %}}", "Next": exhausted},
            ],
            "Default": on_failure,
        },
        exhausted: {
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Comment": "No capacity on any type: the run fails with the last job's error, its "
            "cause naming every type tried.",
            "Output": _with_types_tried(error),
            "Next": on_failure,
        },
    }


def _with_types_tried(error: str) -> str:
    """The state's input with the error's cause (the last job's description, a JSON object)
    starting with an ``InstanceTypesTried`` member, so that it stays the job's description for
    whoever reads its ``FailureReason`` (./ops); a cause that is not an object gets them after."""
    cause = f"{error}.Cause"
    tried = json.dumps('{"InstanceTypesTried":')
    with_types = (
        f'$substring({cause}, 0, 1) = "{{" '
        f'? {tried} & $string(${TYPES}) & "," & $substring({cause}, 1) '
        f': {cause} & " (instance types tried: " & $join(${TYPES}, ", ") & ")"'
    )
    return (
        f'{{% $merge([$states.input, {{"error": {{"Error": {error}.Error, '
        f'"Cause": {with_types}}}}}]) %}}'
    )
