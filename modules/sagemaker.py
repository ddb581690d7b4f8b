"""SageMaker layer: one pipeline's execution role and model.

Creates
- the execution role SageMaker assumes for the pipeline's transform jobs (trust limited to
  ``sagemaker.amazonaws.com`` acting for this account), allowed exactly to: read the model
  artifact, list and read the pipeline's input prefix, write the pipeline's output prefix (with
  shards: read the shards' manifest files), use the environment's KMS key, pull the pipeline's
  image, write transform job logs and metrics, and, with a VPC, manage its network interfaces;
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

from imports.aws import SagemakerModel
from modules.aws_context import AwsContext
from modules.config import ModelConfig, PipelineConfig
from modules.iam import (
    VPC_NETWORK_ACTIONS,
    Statement,
    allow,
    grant_key_to_aws_resources,
    list_prefix,
    read_objects,
    service_role,
    use_key,
    write_objects,
)
from modules.naming import Names
from modules.shard_layout import MANIFESTS_FOLDER, shards_prefix
from modules.storage import StorageOutputs


@dataclass(frozen=True)
class SagemakerOutputs:
    """What the state machine uses: the model (if any) and the role transform jobs run with."""

    model_name: str | None  # None: each run creates its model from the newest approved package
    execution_role_arn: str


class SagemakerModelLayer(Construct):
    """One pipeline's SageMaker execution role and (unless it follows a package group) model.

    Inputs: ``pipeline`` (model, prefixes, VPC), ``names``, ``aws``, ``storage`` (the key and the
    buckets the role may use). Outputs: ``outputs``, a ``SagemakerOutputs`` (model name or None,
    execution role ARN).
    """

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
        pipeline_names = names.of_pipeline(pipeline.name)
        name = pipeline_names.base
        model = pipeline.model

        role = service_role(
            self,
            aws,
            id="execution-role",
            policy_id="execution-policy",
            names=pipeline_names.sagemaker_role,
            description=f"SageMaker runs the transform jobs of {name} with this role",
            service="sagemaker",
            statements=self._statements(pipeline, aws, storage),
        )

        if model.resolved_per_run:
            # The state machine creates (and deletes) a model per run from the newest approved
            # package of the group; there is no long-lived model to declare here.
            self.outputs = SagemakerOutputs(model_name=None, execution_role_arn=role.arn)
            return
        sagemaker_model = SagemakerModel(
            self,
            "model",
            name=pipeline_names.model,
            execution_role_arn=role.arn,
            primary_container=_container(model, storage),
            enable_network_isolation=model.network_isolation,
            # CreateModel checks that the role can read the artifact: the policy must exist first.
            depends_on=[role.policy],
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
    def _shard_statements(pipeline: PipelineConfig, storage: StorageOutputs) -> list[Statement]:
        """A sharded pipeline's jobs read their manifest files (the input files they list are
        under the input prefix, which the role reads already)."""
        if pipeline.transform.shards is None:
            return []
        manifests = f"{shards_prefix(pipeline.run_output_prefix)}*/{MANIFESTS_FOLDER}*"
        return [read_objects("ReadShardManifests", storage.output.arn, manifests)]

    @staticmethod
    def _statements(
        pipeline: PipelineConfig, aws: AwsContext, storage: StorageOutputs
    ) -> list[dict[str, Any]]:
        model = pipeline.model
        input_prefix = pipeline.default_input_prefix
        artifact = model.artifact_key or f"{pipeline.name}/*"
        statements = [
            read_objects("ReadModelArtifact", storage.models.arn, artifact),
            list_prefix("ListInputPrefix", storage.input.arn, input_prefix),
            read_objects("ReadInput", storage.input.arn, f"{input_prefix}*"),
            write_objects("WriteOutput", storage.output.arn, f"{pipeline.run_output_prefix}*"),
            *SagemakerModelLayer._shard_statements(pipeline, storage),
            use_key("UseEnvironmentKey", storage.key_arn),
            grant_key_to_aws_resources("GrantEnvironmentKeyToVolumes", storage.key_arn),
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
            registry = AwsContext(account, region, aws.partition)
            repositories.append(registry.arn("ecr", f"repository/{name}"))
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


def _container(model: ModelConfig, storage: StorageOutputs) -> dict[str, Any]:
    """The model's primary container: a registry package, or an image and its artifact."""
    if model.model_package_arn is not None:
        container: dict[str, Any] = {"model_package_name": model.model_package_arn}
    else:
        container = {
            "image": model.image,
            "model_data_url": f"s3://{storage.models.name}/{model.artifact_key}",
        }
    if model.environment:
        container["environment"] = dict(model.environment)
    return container
