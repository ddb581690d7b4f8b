"""Step Functions layer: one pipeline's state machine, its role and its logs.

Creates
- a KMS-encrypted CloudWatch log group under ``/aws/vendedlogs/states/`` with the environment's
  retention;
- the state machine role (trust: ``states.amazonaws.com`` for this account and this state machine)
  with what the workflow's steps need (``modules.workflow``: each step brings its statements:
  create/describe/stop and tag this pipeline's transform jobs, pass the SageMaker execution role
  to SageMaker only, manage the managed EventBridge rule the ``.sync`` pattern uses, publish to
  the alert topic; and only for the features a pipeline switches on: list this state machine's
  running executions, list the input prefix, write ``_manifest.json``, find approved packages and
  create/delete per-run models), plus the base this layer adds: use the KMS key, deliver logs
  and X-Ray traces;
- the STANDARD state machine (definition from ``modules.workflow``), logging ALL events with
  execution data, X-Ray tracing on.

Needs: the pipeline config, ``Names``, ``AwsContext``, storage outputs, SageMaker outputs and the
alert topic ARN.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from imports.aws import CloudwatchLogGroup, SfnStateMachine
from modules.aws_context import AwsContext
from modules.config import EnvironmentConfig, PipelineConfig
from modules.iam import (
    LOG_DELIVERY_ACTIONS,
    XRAY_ACTIONS,
    Statement,
    allow,
    grant_key_to_aws_resources,
    service_role,
    use_key,
)
from modules.naming import Names
from modules.sagemaker import SagemakerOutputs
from modules.storage import StorageOutputs
from modules.workflow import WorkflowTargets, build_workflow, definition_json


@dataclass(frozen=True)
class StateMachineOutputs:
    arn: str


class StateMachineLayer(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        env: EnvironmentConfig,
        pipeline: PipelineConfig,
        names: Names,
        aws: AwsContext,
        storage: StorageOutputs,
        sagemaker: SagemakerOutputs,
        alert_topic_arn: str,
    ) -> None:
        super().__init__(scope, id)
        pipeline_names = names.of_pipeline(pipeline.name)
        name = pipeline_names.base
        state_machine_arn = aws.arn("states", f"stateMachine:{pipeline_names.state_machine}")

        log_group = CloudwatchLogGroup(
            self,
            "log-group",
            name=pipeline_names.state_machine_log_group,
            retention_in_days=env.log_retention_days,
            kms_key_id=storage.key_arn,
        )
        workflow = build_workflow(
            pipeline,
            WorkflowTargets(
                aws=aws,
                environment=env.name,
                names=pipeline_names,
                model_name=sagemaker.model_name,
                execution_role_arn=sagemaker.execution_role_arn,
                input_bucket=storage.input.name,
                input_bucket_arn=storage.input.arn,
                output_bucket=storage.output.name,
                output_bucket_arn=storage.output.arn,
                state_machine_arn=state_machine_arn,
                kms_key_arn=storage.key_arn,
                alert_topic_arn=alert_topic_arn,
            ),
        )
        role = service_role(
            self,
            aws,
            id="role",
            policy_id="policy",
            names=pipeline_names.sfn_role,
            description=f"Step Functions runs the {name} workflow with this role",
            service="states",
            source_arn=state_machine_arn,
            statements=[*workflow.statements, *_base_statements(storage.key_arn)],
        )
        state_machine = SfnStateMachine(
            self,
            "state-machine",
            name=pipeline_names.state_machine,
            type="STANDARD",
            role_arn=role.arn,
            definition=definition_json(workflow.definition),
            logging_configuration={
                "log_destination": f"{log_group.arn}:*",
                "include_execution_data": True,
                "level": "ALL",
            },
            tracing_configuration={"enabled": True},
            # The role's permissions must exist before the first execution can start.
            depends_on=[role.policy],
        )
        self.outputs = StateMachineOutputs(arn=state_machine.arn)


def _base_statements(key_arn: str) -> list[Statement]:
    """What every state machine of this project needs whatever its steps: the environment key
    (outputs, volumes, manifests, logs) and log and trace delivery."""
    return [
        use_key("UseEnvironmentKey", key_arn),
        grant_key_to_aws_resources("GrantEnvironmentKeyToTransformVolumes", key_arn),
        # Log delivery and X-Ray accept only Resource "*" (see UNSCOPED_ACTIONS).
        allow("DeliverLogsAndTraces", LOG_DELIVERY_ACTIONS + XRAY_ACTIONS, "*"),
    ]
