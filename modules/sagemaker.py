"""SageMaker layer: one pipeline's execution role and model.

Creates
- the execution role SageMaker assumes for the pipeline's transform jobs (trust limited to
  ``sagemaker.amazonaws.com`` acting for this account), allowed exactly to: read the model
  artifact, list and read the pipeline's input prefix, write the pipeline's output prefix, use
  the environment's KMS key, pull the pipeline's image, write transform job logs and metrics,
  and, with a VPC, manage its network interfaces;
- the ``aws_sagemaker_model`` from image + artifact, or from a versioned Model Registry package,
  with network isolation and VPC placement from config. A pipeline that follows a Model Package
  Group gets no model here: its state machine creates one per run from the newest approved
  package (the role then reads artifacts under ``<models bucket>/<pipeline>/`` and pulls from
  the configured ``ecr_repository_arns``).

Needs: the pipeline config, ``Names``, ``AwsContext`` and the storage layer's outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from constructs import Construct

from imports.aws import IamRole, IamRolePolicy, SagemakerModel
from modules.config import PipelineConfig
from modules.context import (
    VPC_NETWORK_ACTIONS,
    AwsContext,
    Names,
    allow,
    policy_document,
    service_trust_policy,
)
from modules.storage import KEY_USE_ACTIONS, StorageOutputs


@dataclass(frozen=True)
class SagemakerOutputs:
    model_name: str | None  # None: each run creates its model from the newest approved package
    execution_role_arn: str


class SagemakerModelLayer(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        pipeline: PipelineConfig,
        names: Names,
        aws: AwsContext,
        storage: StorageOutputs,
    ) -> None:
        super().__init__(scope, id)
        name = names.pipeline(pipeline.name)
        model = pipeline.model

        role = IamRole(
            self,
            "execution-role",
            name=f"{name}-sagemaker",
            description=f"SageMaker runs the transform jobs of {name} with this role",
            assume_role_policy=service_trust_policy(
                aws.service_principal("sagemaker"), aws.account_id
            ),
        )
        execution_policy = IamRolePolicy(
            self,
            "execution-policy",
            name="transform-job",
            role=role.id,
            policy=policy_document(*self._statements(pipeline, aws, storage)),
        )

        if model.resolved_per_run:
            # The state machine creates (and deletes) a model per run from the newest approved
            # package of the group; there is no long-lived model to declare here.
            self.outputs = SagemakerOutputs(model_name=None, execution_role_arn=role.arn)
            return
        if model.model_package_arn is not None:
            container: dict[str, Any] = {"model_package_name": model.model_package_arn}
        else:
            container = {
                "image": model.image,
                "model_data_url": f"s3://{storage.models.name}/{model.artifact_key}",
            }
        if model.environment:
            container["environment"] = dict(model.environment)
        sagemaker_model = SagemakerModel(
            self,
            "model",
            name=name,
            execution_role_arn=role.arn,
            primary_container=container,
            enable_network_isolation=model.network_isolation,
            # CreateModel checks that the role can read the artifact: the policy must exist first.
            depends_on=[execution_policy],
            vpc_config=(
                {
                    "subnets": list(model.vpc.subnet_ids),
                    "security_group_ids": list(model.vpc.security_group_ids),
                }
                if model.vpc
                else None
            ),
        )
        self.outputs = SagemakerOutputs(
            model_name=sagemaker_model.name, execution_role_arn=role.arn
        )

    @staticmethod
    def _statements(
        pipeline: PipelineConfig, aws: AwsContext, storage: StorageOutputs
    ) -> list[dict[str, Any]]:
        model = pipeline.model
        input_prefix = pipeline.default_input_prefix
        artifact = (
            f"{storage.models.arn}/{model.artifact_key}"
            if model.artifact_key
            else f"{storage.models.arn}/{pipeline.name}/*"
        )
        statements = [
            allow("ReadModelArtifact", ["s3:GetObject"], artifact),
            allow(
                "ListInputPrefix",
                ["s3:ListBucket"],
                storage.input.arn,
                Condition={"StringLike": {"s3:prefix": [f"{input_prefix}*"]}},
            ),
            allow("ReadInput", ["s3:GetObject"], f"{storage.input.arn}/{input_prefix}*"),
            allow(
                "WriteOutput",
                ["s3:AbortMultipartUpload", "s3:PutObject"],
                f"{storage.output.arn}/{pipeline.run_output_prefix}*",
            ),
            allow("UseEnvironmentKey", [*KEY_USE_ACTIONS, "kms:DescribeKey"], storage.key_arn),
            allow(
                "GrantEnvironmentKeyToVolumes",
                ["kms:CreateGrant"],
                storage.key_arn,
                Condition={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
            allow(
                "WriteTransformJobLogs",
                ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                [
                    aws.arn("logs", "log-group:/aws/sagemaker/TransformJobs"),
                    aws.arn("logs", "log-group:/aws/sagemaker/TransformJobs:log-stream:*"),
                ],
            ),
            allow(
                # PutMetricData has no resource type; the namespace condition scopes it.
                "WriteTransformJobMetrics",
                ["cloudwatch:PutMetricData"],
                "*",
                Condition={
                    "StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/TransformJobs"}
                },
            ),
        ]
        repositories = list(model.ecr_repository_arns)
        if model.ecr_repository is not None:
            account, region, name = model.ecr_repository
            repositories.append(f"arn:{aws.partition}:ecr:{region}:{account}:repository/{name}")
        if repositories:
            statements += [
                allow(
                    "PullInferenceImage",
                    [
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                    ],
                    repositories if len(repositories) > 1 else repositories[0],
                ),
                # GetAuthorizationToken has no resource type: it only issues a registry login.
                allow("LogInToEcr", ["ecr:GetAuthorizationToken"], "*"),
            ]
        if model.vpc is not None:
            # See UNSCOPED_ACTIONS for why these take Resource "*".
            statements.append(allow("ManageVpcNetworkInterfaces", VPC_NETWORK_ACTIONS, "*"))
        return statements
