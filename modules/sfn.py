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
  create/delete per-run models), plus the base this layer adds: use the KMS key and the alert
  key, deliver logs and X-Ray traces;
- the STANDARD state machine (definition from ``modules.workflow``), logging ALL events with
  execution data, X-Ray tracing on.

Needs: the environment's name and log retention, the pipeline config, ``Names``, ``AwsContext``,
storage outputs, SageMaker outputs and the alert topic's ARN and key.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from imports.aws import CloudwatchLogGroup, SfnStateMachine
from modules.aws_context import AwsContext
from modules.config import PipelineConfig
from modules.iam import (
    LOG_DELIVERY_ACTIONS,
    XRAY_ACTIONS,
    ServiceRole,
    Statement,
    allow,
    grant_key_to_aws_resources,
    service_role,
    use_key,
)
from modules.naming import Names, PipelineNames
from modules.sagemaker import SagemakerOutputs
from modules.storage import StorageOutputs
from modules.workflow import WorkflowTargets, build_workflow, definition_json


@dataclass(frozen=True)
class StateMachineOutputs:
    """What the scheduler and alarms of the pipeline need of its state machine."""

    arn: str


class StateMachineLayer(Construct):
    """One pipeline's state machine with its role and log group. Inputs: the environment's name
    and log retention (days), the pipeline, names, context and the other layers' outputs.
    Outputs: ``outputs`` (``StateMachineOutputs``)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        environment: str,
        log_retention_days: int,
        pipeline: PipelineConfig,
        names: Names,
        aws: AwsContext,
        storage: StorageOutputs,
        sagemaker: SagemakerOutputs,
        alert_topic_arn: str,
        alert_key_arn: str,
    ) -> None:
        super().__init__(scope, id)
        pipeline_names = names.of_pipeline(pipeline.name)
        name = pipeline_names.base
        state_machine_arn = aws.arn("states", f"stateMachine:{pipeline_names.state_machine}")

        log_group = CloudwatchLogGroup(
            self,
            "log-group",
            name=pipeline_names.state_machine_log_group,
            retention_in_days=log_retention_days,
            kms_key_id=storage.key_arn,
        )
        workflow = build_workflow(
            pipeline,
            _targets(
                aws,
                environment,
                pipeline_names,
                storage,
                sagemaker,
                state_machine_arn,
                alert_topic_arn,
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
            statements=[*workflow.statements, *_base_statements(storage.key_arn, alert_key_arn)],
        )
        state_machine = self._state_machine(
            pipeline_names.state_machine, role, definition_json(workflow.definition), log_group.arn
        )
        self.outputs = StateMachineOutputs(arn=state_machine.arn)

    def _state_machine(
        self, name: str, role: ServiceRole, definition: str, log_group_arn: str
    ) -> SfnStateMachine:
        """The STANDARD state machine, logging every event with execution data, traced."""
        return SfnStateMachine(
            self,
            "state-machine",
            name=name,
            type="STANDARD",
            role_arn=role.arn,
            definition=definition,
            logging_configuration={
                "log_destination": f"{log_group_arn}:*",
                "include_execution_data": True,
                "level": "ALL",
            },
            tracing_configuration={"enabled": True},
            # The role's permissions must exist before the first execution can start.
            depends_on=[role.policy],
        )


def _targets(
    aws: AwsContext,
    environment: str,
    names: PipelineNames,
    storage: StorageOutputs,
    sagemaker: SagemakerOutputs,
    state_machine_arn: str,
    alert_topic_arn: str,
) -> WorkflowTargets:
    """What the workflow's states name: the other layers' resources and this state machine."""
    return WorkflowTargets(
        aws=aws,
        environment=environment,
        names=names,
        model_name=sagemaker.model_name,
        execution_role_arn=sagemaker.execution_role_arn,
        input_bucket=storage.input.name,
        input_bucket_arn=storage.input.arn,
        output_bucket=storage.output.name,
        output_bucket_arn=storage.output.arn,
        state_machine_arn=state_machine_arn,
        kms_key_arn=storage.key_arn,
        alert_topic_arn=alert_topic_arn,
    )


def _base_statements(key_arn: str, alert_key_arn: str) -> list[Statement]:
    """What every state machine of this project needs whatever its steps: the environment key
    (outputs, volumes, manifests, logs), the alert key (every workflow can publish: its failure
    handling does, to the topic that key encrypts) and log and trace delivery."""
    return [
        use_key("UseEnvironmentKey", key_arn),
        use_key("PublishToTheEncryptedAlertTopic", alert_key_arn, describe=False),
        grant_key_to_aws_resources("GrantEnvironmentKeyToTransformVolumes", key_arn),
        # Log delivery and X-Ray accept only Resource "*" (see UNSCOPED_ACTIONS).
        allow("DeliverLogsAndTraces", LOG_DELIVERY_ACTIONS + XRAY_ACTIONS, "*"),
    ]
