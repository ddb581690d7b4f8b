"""Which model a run used, built in one place and read by the manifest, the "ready" event and the
transform job's tags: the package ARN and version (a registry package, fixed or the newest
Approved one of the run), or the image and artifact, with the image's digest when the image is
given by digest.

A fixed model's identity is known when the stack is built; a per-run package's is read from the
run's state (the ARN the registry step keeps), as JSONata for the manifest and the event and as
JSONPath intrinsics for the transform job's tags (that state speaks JSONPath).

Needs the pipeline's model config and SageMaker's Tag shape (botocore, through modules/config).
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from modules.config import PipelineConfig, sagemaker_shape
from modules.config.sagemaker_shapes import check_shape
from modules.workflow.asl import jsonata_string

DIGEST_MARK = "@sha256:"
# The tag keys are the identity's fields with this prefix (model_package_arn, model_image, ...).
TAG_PREFIX = "model_"
TAG_VALUE_SHAPE = "CreateTransformJobRequest.Tags.[].Value"


class RunPackage(Enum):
    """A field only the run knows: of the package the registry step resolved."""

    ARN = "arn"
    VERSION = "version"


Identity = dict[str, "str | int | RunPackage"]

# The per-run package's ARN, as the registry step keeps it; a package ARN's resource is
# model-package/<group>/<version> (group names hold no '/'), so the version is its third piece.
_RUN_PACKAGE_PATH = "$.model_package.arn"
_RUN_PACKAGE_JSONATA = "$states.input.model_package.arn"
_JSONATA = {
    RunPackage.ARN: _RUN_PACKAGE_JSONATA,
    RunPackage.VERSION: f"$number($split({_RUN_PACKAGE_JSONATA}, '/')[-1])",
}
_INTRINSIC = {
    RunPackage.ARN: _RUN_PACKAGE_PATH,
    RunPackage.VERSION: f"States.ArrayGetItem(States.StringSplit({_RUN_PACKAGE_PATH}, '/'), 2)",
}


def model_identity(pipeline: PipelineConfig) -> Identity:
    """The model's identity: field name to its value, or to what the run reads it from."""
    model = pipeline.model
    if model.resolved_per_run:
        return {"package_arn": RunPackage.ARN, "package_version": RunPackage.VERSION}
    if model.model_package_arn is not None:
        version = int(model.model_package_arn.rsplit("/", 1)[1])
        return {"package_arn": model.model_package_arn, "package_version": version}
    assert model.image is not None and model.artifact_key is not None  # ModelConfig's one source
    identity: Identity = {"image": model.image, "artifact_key": model.artifact_key}
    if DIGEST_MARK in model.image:
        identity["image_digest"] = "sha256:" + model.image.split(DIGEST_MARK)[1]
    return identity


def _jsonata(value: str | int | RunPackage) -> str:
    if isinstance(value, RunPackage):
        return _JSONATA[value]
    return jsonata_string(value) if isinstance(value, str) else str(value)


def identity_object(pipeline: PipelineConfig) -> str:
    """The identity as one JSONata object constructor over a state's input."""
    fields = model_identity(pipeline).items()
    return "{" + ", ".join(f"'{k}': {_jsonata(v)}" for k, v in fields) + "}"


def fits_a_tag(value: str) -> bool:
    """SageMaker takes this text as a tag value (botocore's Tag Value shape: 256 characters of
    letters, digits, spaces and ``_.:/=+-@``)."""
    try:
        check_shape(value, sagemaker_shape(TAG_VALUE_SHAPE), "tag value")
    except ValueError:
        return False
    return True


def identity_tags(pipeline: PipelineConfig) -> list[dict[str, Any]]:
    """The identity as CreateTransformJob tags (JSONPath ``Parameters``). A fixed value SageMaker
    would refuse as a tag value (an artifact key with ``(``, ``'``, ``!`` or ``*``, which S3 and
    the config take) is left out of the tags: a refused tag would fail every run, and the
    manifest and the event still carry it. A per-run package ARN always fits: partition, region,
    account, a group name (letters, digits, ``-``, at most 63) and a number."""
    tags: list[dict[str, Any]] = []
    for name, value in model_identity(pipeline).items():
        key = TAG_PREFIX + name
        if isinstance(value, RunPackage):
            tags.append({"Key": key, "Value.$": _INTRINSIC[value]})
        elif fits_a_tag(str(value)):
            tags.append({"Key": key, "Value": str(value)})
    return tags
