"""Step Functions layer: one pipeline's state machine, its role and its logs.

Creates
- a KMS-encrypted CloudWatch log group under ``/aws/vendedlogs/states/`` with the environment's
  retention;
- the state machine role (trust: ``states.amazonaws.com`` for this account and this state machine)
  with exactly what ``createTransformJob.sync`` needs: create/describe/stop and tag this pipeline's
  transform jobs, pass the SageMaker execution role to SageMaker only, manage the managed
  EventBridge rule the ``.sync`` pattern uses, publish to the alert topic, use the KMS key, and
  deliver logs and X-Ray traces; plus, only for the features a pipeline switches on: list this
  state machine's running executions (overlap guard), list the pipeline's input prefix (empty-input
  guard), write ``_manifest.json`` under its output prefix, and find approved packages of its
  Model Package Group and create/delete its per-run models;
- the STANDARD state machine (definition from ``modules.workflow``), logging ALL events with
  execution data, X-Ray tracing on.

Needs: the pipeline config, ``Names``, ``AwsContext``, storage outputs, SageMaker outputs and the
alert topic ARN.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs import Construct

from imports.aws import CloudwatchLogGroup, IamRole, IamRolePolicy, SfnStateMachine
from modules.config import EnvironmentConfig, PipelineConfig
from modules.context import (
    LOG_DELIVERY_ACTIONS,
    XRAY_ACTIONS,
    AwsContext,
    Names,
    allow,
    policy_document,
    service_trust_policy,
)
from modules.sagemaker import SagemakerOutputs
from modules.storage import KEY_USE_ACTIONS, StorageOutputs
from modules.workflow import MANIFEST_NAME, WorkflowTargets, build_definition, definition_json

# The managed rule through which Step Functions learns that a transform job finished.
SYNC_EVENTS_RULE = "rule/StepFunctionsGetEventsForSageMakerTransformJobsRule"


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
        name = names.pipeline(pipeline.name)
        state_machine_arn = aws.arn("states", f"stateMachine:{name}")

        log_group = CloudwatchLogGroup(
            self,
            "log-group",
            name=f"/aws/vendedlogs/states/{name}",
            retention_in_days=env.log_retention_days,
            kms_key_id=storage.key_arn,
        )
        role = IamRole(
            self,
            "role",
            name=f"{name}-sfn",
            description=f"Step Functions runs the {name} workflow with this role",
            assume_role_policy=service_trust_policy(
                aws.service_principal("states"), aws.account_id, state_machine_arn
            ),
        )
        role_policy = IamRolePolicy(
            self,
            "policy",
            name="run-transform",
            role=role.id,
            policy=policy_document(
                *self._statements(pipeline, name, aws, storage, sagemaker, alert_topic_arn)
            ),
        )
        targets = WorkflowTargets(
            partition=aws.partition,
            region=aws.region,
            environment=env.name,
            job_prefix=name,
            model_name=sagemaker.model_name,
            execution_role_arn=sagemaker.execution_role_arn,
            input_bucket=storage.input.name,
            output_bucket=storage.output.name,
            kms_key_arn=storage.key_arn,
            alert_topic_arn=alert_topic_arn,
        )
        state_machine = SfnStateMachine(
            self,
            "state-machine",
            name=name,
            type="STANDARD",
            role_arn=role.arn,
            definition=definition_json(build_definition(pipeline, targets)),
            logging_configuration={
                "log_destination": f"{log_group.arn}:*",
                "include_execution_data": True,
                "level": "ALL",
            },
            tracing_configuration={"enabled": True},
            # The role's permissions must exist before the first execution can start.
            depends_on=[role_policy],
        )
        self.outputs = StateMachineOutputs(arn=state_machine.arn)

    @staticmethod
    def _statements(
        pipeline: PipelineConfig,
        name: str,
        aws: AwsContext,
        storage: StorageOutputs,
        sagemaker: SagemakerOutputs,
        alert_topic_arn: str,
    ) -> list[dict[str, Any]]:
        transform_jobs = aws.arn("sagemaker", f"transform-job/{name}-*")
        tagged = [transform_jobs]
        statements = [
            allow(
                "RunThisPipelinesTransformJobs",
                [
                    "sagemaker:CreateTransformJob",
                    "sagemaker:DescribeTransformJob",
                    "sagemaker:StopTransformJob",
                ],
                transform_jobs,
            ),
            allow(
                "PassExecutionRoleToSageMakerOnly",
                ["iam:PassRole"],
                sagemaker.execution_role_arn,
                Condition={
                    "StringEquals": {"iam:PassedToService": aws.service_principal("sagemaker")}
                },
            ),
            allow(
                "ManageSyncCompletionRule",
                ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
                aws.arn("events", SYNC_EVENTS_RULE),
            ),
            allow("PublishAlerts", ["sns:Publish"], alert_topic_arn),
            allow("UseEnvironmentKey", [*KEY_USE_ACTIONS, "kms:DescribeKey"], storage.key_arn),
            allow(
                "GrantEnvironmentKeyToTransformVolumes",
                ["kms:CreateGrant"],
                storage.key_arn,
                Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
            # Log delivery and X-Ray accept only Resource "*" (see UNSCOPED_ACTIONS).
            allow("DeliverLogsAndTraces", LOG_DELIVERY_ACTIONS + XRAY_ACTIONS, "*"),
        ]
        if pipeline.overlap == "skip":
            statements.append(
                allow(
                    "SeeRunningExecutionsOfThisStateMachine",
                    ["states:ListExecutions"],
                    aws.arn("states", f"stateMachine:{name}"),
                )
            )
        if pipeline.skip_empty_input:
            statements.append(
                allow(
                    "CheckForInput",
                    ["s3:ListBucket"],
                    storage.input.arn,
                    Condition={"StringLike": {"s3:prefix": [f"{pipeline.default_input_prefix}*"]}},
                )
            )
        if pipeline.write_manifest:
            statements.append(
                allow(
                    "WriteRunManifest",
                    ["s3:PutObject"],
                    f"{storage.output.arn}/{pipeline.run_output_prefix}*/{MANIFEST_NAME}",
                )
            )
        group = pipeline.model.model_package_group
        if group is not None:
            run_models = aws.arn("sagemaker", f"model/{name}-*")
            tagged.append(run_models)
            statements += [
                # ListModelPackages has no resource type (see UNSCOPED_ACTIONS).
                allow("FindApprovedPackages", ["sagemaker:ListModelPackages"], "*"),
                allow(
                    "ReadPackagesOfThisGroup",
                    ["sagemaker:DescribeModelPackage"],
                    aws.arn("sagemaker", f"model-package/{group.lower()}/*"),
                ),
                allow(
                    "CreateAndDeletePerRunModels",
                    ["sagemaker:CreateModel", "sagemaker:DeleteModel", "sagemaker:DescribeModel"],
                    run_models,
                ),
            ]
        # Step Functions and the SDK integrations tag what they create.
        statements.insert(
            1,
            allow(
                "TagWhatThisPipelineCreates",
                ["sagemaker:AddTags", "sagemaker:ListTags"],
                tagged if len(tagged) > 1 else tagged[0],
            ),
        )
        return statements
