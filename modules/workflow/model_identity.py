"""Which model a run used, as the manifest, the "ready" event and the transform job's tags give
it: the package ARN and version (a registry package, fixed or the newest Approved one of the
run), or the image and artifact, with the image's digest when the image is given by digest.

Needs the pipeline's model config.
"""

from __future__ import annotations

from modules.config import PipelineConfig
from modules.workflow.asl import jsonata_string

DIGEST_MARK = "@sha256:"
# The per-run package's ARN, kept by the registry step.
RUN_PACKAGE_ARN = "$states.input.model_package.arn"


def model_identity(pipeline: PipelineConfig) -> dict[str, str]:
    """The model's identity: field name to a JSONata expression over a state's input."""
    model = pipeline.model
    if model.resolved_per_run:
        version = f"$number($split({RUN_PACKAGE_ARN}, '/')[-1])"
        return {"package_arn": RUN_PACKAGE_ARN, "package_version": version}
    if model.model_package_arn is not None:
        version = model.model_package_arn.rsplit("/", 1)[1]
        return {"package_arn": jsonata_string(model.model_package_arn), "package_version": version}
    assert model.image is not None and model.artifact_key is not None  # ModelConfig's one source
    identity = {
        "image": jsonata_string(model.image),
        "artifact_key": jsonata_string(model.artifact_key),
    }
    if DIGEST_MARK in model.image:
        identity["image_digest"] = jsonata_string("sha256:" + model.image.split(DIGEST_MARK)[1])
    return identity


def identity_object(pipeline: PipelineConfig) -> str:
    """The identity as one JSONata object constructor."""
    return "{" + ", ".join(f"'{k}': {v}" for k, v in model_identity(pipeline).items()) + "}"
