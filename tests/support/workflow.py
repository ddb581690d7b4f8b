"""The workflow definition built outside a stack, for the tests that read it as data
(tests/test_workflow_*.py): a pipeline's definition on fixed targets (``TARGETS``: literal names
and ARNs in place of the stack's references), and a pipeline of a config by environment and name.

Plain functions, no fixtures: each test module declares the ``definition`` it reads.
"""

from __future__ import annotations

from typing import Any

from modules.config import PipelineConfig, ProjectConfig, load_config
from modules.naming import Names
from modules.workflow import WorkflowTargets, build_definition
from tests.support.helpers import TEST_AWS
from tools.generated import EXAMPLE_CONFIG

# The names stand for the example fixture's first pipeline in its first environment (as the
# stacks name it): the tests read the definition as data, any pipeline's names would do.
_EXAMPLE = load_config(EXAMPLE_CONFIG)
_ENVIRONMENT = next(iter(_EXAMPLE.environments.values()))
TARGETS = WorkflowTargets(
    aws=TEST_AWS,
    environment=_ENVIRONMENT.name,
    names=Names(_EXAMPLE.project, _ENVIRONMENT.name).of_pipeline(_ENVIRONMENT.pipelines[0].name),
    model_name="MODEL",
    execution_role_arn="ROLE",
    input_bucket="IN",
    input_bucket_arn="IN_ARN",
    output_bucket="OUT",
    output_bucket_arn="OUT_ARN",
    state_machine_arn="STATE_MACHINE",
    kms_key_arn="KEY",
    alert_topic_arn="TOPIC",
)


def pipeline_of(config: ProjectConfig, env: str, name: str) -> PipelineConfig:
    return next(p for p in config.environments[env].pipelines if p.name == name)


def states_of(config: ProjectConfig, env: str, name: str, **target: Any) -> dict[str, Any]:
    """The states of a pipeline's definition, on ``TARGETS`` with ``target``'s fields replaced."""
    targets = TARGETS if not target else WorkflowTargets(**{**TARGETS.__dict__, **target})
    return build_definition(pipeline_of(config, env, name), targets)["States"]
