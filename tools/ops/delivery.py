"""What the operations tool reads of a run's delivery, without calling AWS: which model made the
run (its output's manifest, the package it resolved, or its transform job's tags) in one line, and
which inputs of a run that failed with ``IncompleteOutput`` have no ``.out``, from the listings of
its input prefix and output folder.

The workflow's own definitions are reused: the identity's fields and tag keys
(modules/workflow/model_identity.py) and what is input (``is_input``, the predicate the run's
count uses, modules/workflow/delivery_count.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from modules.config import PipelineConfig
from modules.workflow.delivery_count import OUTPUT_SUFFIX, is_input
from modules.workflow.model_identity import TAG_PREFIX

Listed = tuple[str, int]  # key, size


def identity_text(identity: dict[str, Any]) -> str | None:
    """One line for a model identity (the manifest's ``model_identity``, the event's ``model``):
    the package ARN (which ends in its version), or the image (with its digest, when given by
    one) and the artifact key."""
    if identity.get("package_arn"):
        return f"package {identity['package_arn']}"
    parts = [
        f"{shown} {identity[field]}"
        for field, shown in (("image", "image"), ("artifact_key", "artifact"))
        if field in identity
    ]
    if "image" not in identity and "image_digest" in identity:
        parts.insert(0, f"image digest {identity['image_digest']}")
    return ", ".join(parts) or None


def model_of_output(output: Any) -> str | None:
    """The model a run used, as far as its output says (a run that got past its transform): the
    manifest's ``model_identity`` (with ``delivery``), the package a registry run resolved, or the
    manifest's SageMaker model."""
    if not isinstance(output, dict):
        return None
    found = output.get("manifest")
    manifest: dict[str, Any] = found if isinstance(found, dict) else {}
    identity = manifest.get("model_identity")
    if isinstance(identity, dict) and identity_text(identity):
        return identity_text(identity)
    package = output.get("model_package")
    if isinstance(package, dict) and isinstance(package.get("arn"), str):
        return f"package {package['arn']}"
    model = manifest.get("model")
    return f"SageMaker model {model}" if isinstance(model, str) else None


def model_of_tags(tags: Iterable[dict[str, str]]) -> str | None:
    """The model a run used, from its transform job's ``model_<field>`` tags (with ``delivery``)."""
    identity = {
        tag["Key"].removeprefix(TAG_PREFIX): tag["Value"]
        for tag in tags
        if tag["Key"].startswith(TAG_PREFIX)
    }
    return identity_text(identity)


def output_key(output_folder: str, input_prefix: str, key: str) -> str:
    """Where Batch Transform writes an input object's output: its key below the run's input
    prefix, under the run's output folder, with ``.out``."""
    return f"{output_folder}{key.removeprefix(input_prefix)}{OUTPUT_SUFFIX}"


def missing_outputs(
    pipeline: PipelineConfig,
    input_prefix: str,
    output_folder: str,
    inputs: Iterable[Listed],
    outputs: Iterable[Listed],
) -> tuple[int, list[str]]:
    """How many objects are input (what the run's count counts), and the input keys with no
    ``.out``, in listing order."""
    written = {key for key, _ in outputs}
    found = [key for key, size in inputs if is_input(pipeline, key, size)]
    missing = [key for key in found if output_key(output_folder, input_prefix, key) not in written]
    return len(found), missing
