"""The model a pipeline runs: an ECR image plus an artifact, or a Model Registry package, and
its network placement (isolation, VPC).

Needs the field types and SageMaker request-shape markers of ``modules.config.fields``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated

from pydantic import Field, model_validator

from modules.config.fields import (
    ECR_IMAGE,
    IN_BUCKET,
    MODEL,
    MODEL_PACKAGE_ARN,
    EcrRepositoryArn,
    Found,
    ModelPackageGroupName,
    SecurityGroupId,
    StrictModel,
    SubnetId,
    TfStr,
    raise_each,
    sagemaker,
)
from modules.config.rules import Rule

ARTIFACT_KEY = Rule(
    r"^[A-Za-z0-9!_.*'()/-]+\.tar\.gz$",
    "an artifact key is an S3 key ending in .tar.gz, of letters, digits and ! _ . * ' ( ) / -",
    "churn/model.tar.gz",
)


class VpcConfig(StrictModel):
    """Run the transform containers inside your VPC."""

    subnet_ids: Annotated[
        list[SubnetId],
        sagemaker(f"{MODEL}.VpcConfig.Subnets", "subnet list"),
    ] = Field(description="Private subnets for the transform containers.")
    security_group_ids: Annotated[
        list[SecurityGroupId],
        sagemaker(f"{MODEL}.VpcConfig.SecurityGroupIds", "security group list"),
    ] = Field(description="Security groups for the transform containers.")


class ModelConfig(StrictModel):
    """The model a pipeline runs: an image plus an artifact, or a Model Registry package."""

    image: Annotated[
        TfStr | None, sagemaker(f"{MODEL}.PrimaryContainer.Image", "container image")
    ] = Field(
        default=None,
        pattern=ECR_IMAGE.pattern,
        description="ECR image URI of the inference container (with a tag or digest).",
    )
    artifact_key: Annotated[
        TfStr | None,
        sagemaker(
            f"{MODEL}.PrimaryContainer.ModelDataUrl",
            "model data URL",
            IN_BUCKET,
        ),
    ] = Field(
        default=None,
        pattern=ARTIFACT_KEY.pattern,
        description="Key of model.tar.gz in the environment's model bucket.",
    )
    model_package_arn: Annotated[
        TfStr | None, sagemaker(f"{MODEL}.PrimaryContainer.ModelPackageName", "model package")
    ] = Field(
        default=None,
        pattern=MODEL_PACKAGE_ARN.pattern,
        description="A versioned Model Registry package to deploy instead of image + artifact.",
    )
    model_package_group: ModelPackageGroupName | None = Field(
        default=None,
        description="Model Registry group: each run uses its newest Approved package.",
    )
    ecr_repository_arns: list[EcrRepositoryArn] = Field(
        default_factory=list,
        max_length=10,
        description="ECR repositories the registry packages' images come from (pull permission); "
        "their artifacts must be under <models bucket>/<pipeline>/.",
    )
    environment: Annotated[
        dict[TfStr, TfStr],
        sagemaker(f"{MODEL}.PrimaryContainer.Environment", "container environment"),
    ] = Field(default_factory=dict, description="Environment variables of the inference container.")
    network_isolation: Annotated[
        bool, sagemaker(f"{MODEL}.EnableNetworkIsolation", "network isolation")
    ] = Field(default=True, description="Deny the container all network access (secure default).")
    vpc: VpcConfig | None = Field(default=None, description="Optional VPC placement.")

    @model_validator(mode="after")
    def _one_source(self) -> ModelConfig:
        raise_each(self._source_mistakes())
        return self

    def _source_mistakes(self) -> Iterator[Found]:
        from_image = self.image is not None or self.artifact_key is not None
        sources = [
            from_image,
            self.model_package_arn is not None,
            self.model_package_group is not None,
        ]
        if sum(sources) > 1:
            yield (), "give one of image + artifact_key, model_package_arn or model_package_group"
        if not any(sources[1:]) and (self.image is None or self.artifact_key is None):
            yield (
                (),
                "needs both image and artifact_key (or a model_package_arn / model_package_group)",
            )
        if (sources[1] or sources[2]) and not self.ecr_repository_arns:
            # The package's image is pulled with the execution role: it needs the repository.
            yield (
                ("ecr_repository_arns",),
                "a model_package_arn / model_package_group needs ecr_repository_arns: the "
                "repositories of the packages' images, which the execution role may pull from",
            )
        if self.ecr_repository_arns and self.image is not None:
            yield (
                ("ecr_repository_arns",),
                "ecr_repository_arns is for registry packages; an image grants its own repository",
            )

    @property
    def resolved_per_run(self) -> bool:
        """The model is created per run from the newest approved package of a group."""
        return self.model_package_group is not None

    def source_regions(self) -> list[tuple[tuple[str | int, ...], str]]:
        """(field's location in the model, region) of each region-bound source of the model:
        image host, package ARN, registry repositories."""
        found: list[tuple[tuple[str | int, ...], str]] = []
        if self.ecr_repository is not None:
            found.append((("image",), self.ecr_repository[1]))
        if self.model_package_arn is not None:
            found.append((("model_package_arn",), self.model_package_arn.split(":")[3]))
        for index, arn in enumerate(self.ecr_repository_arns):
            found.append((("ecr_repository_arns", index), arn.split(":")[3]))
        return found

    @property
    def ecr_repository(self) -> tuple[str, str, str] | None:
        """(account, region, repository) of the image, for a pull permission scoped to it."""
        if self.image is None:
            return None
        match = re.match(ECR_IMAGE.pattern, self.image)
        assert match is not None  # guaranteed by the field pattern
        return match["account"], match["region"], match["repository"]
