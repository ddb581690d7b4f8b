"""SageMaker's own API rules, from botocore's service model, on every value the project sends.

The CreateTransformJob and CreateModel requests of the synthesized stacks (the state machines'
RunTransformJob and CreateRunModel, and the aws_sagemaker_model resources) are walked member by
member against the request shapes: each literal value must pass its shape, and each member fed
from config must come from a field carrying a SageMakerField marker (modules/config/fields.py),
so that a new request member cannot escape the botocore-derived validation.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import AfterValidator, BaseModel

from modules.config import (
    MODEL,
    TRANSFORM,
    ConfigError,
    ProjectConfig,
    SageMakerField,
    check_shape,
    sagemaker_shape,
)
from modules.workflow.chain import every_state
from modules.workflow.state_names import CREATE_RUN_MODEL
from tests.support.helpers import resources
from tests.test_config_schema import models

# Request members whose values do not come from a config field, and why.
NOT_FROM_CONFIG = {
    f"{TRANSFORM}.TransformInput.DataSource.S3DataSource.S3DataType": "constant S3Prefix",
    f"{TRANSFORM}.Tags.[].Key": "constant tag keys (pipeline, environment)",
    f"{MODEL}.Tags.[].Key": "constant tag keys (pipeline, environment)",
    f"{MODEL}.ModelName": "Names.pipeline(): project, environment and pipeline names, which the "
    "config checks against this member (Names.limits, check_name); the value is checked here",
}


# Request members whose values are not literals in the definition (a ".$" path, an intrinsic
# function or a Terraform reference): the config fields that feed each (which must carry a marker
# of that member) and what else feeds it. A new non-literal member fails the walk until listed.
S3_URI = f"{TRANSFORM}.TransformInput.DataSource.S3DataSource.S3Uri"
FROM_RUN_DATA: dict[str, tuple[tuple[str, ...], str]] = {
    f"{TRANSFORM}.TransformJobName": ((), "Names.run_name_format + an MD5 hash"),
    f"{TRANSFORM}.ModelName": ((), "the model resource's name, or the run's job name"),
    f"{MODEL}.ModelName": ((), "the run's job name (Names.run_name_format + an MD5 hash)"),
    S3_URI: (
        ("PipelineConfig.input_prefix",),
        "the run's input prefix: the pipeline's (marked), schedule.payload.input_prefix (the "
        "same InputPrefix type, _PayloadPrefix), <prefix><input_folder rendering>/ (its longest "
        "rendering checked against this member by PipelineConfig), or a marker object's folder "
        "(an S3 key at run time, checked by CheckRunInput)",
    ),
    f"{TRANSFORM}.TransformOutput.S3OutputPath": (
        ("PipelineConfig.output_prefix",),
        "the output prefix and the run id",
    ),
    f"{TRANSFORM}.TransformOutput.KmsKeyId": ((), "the environment key's ARN"),
    f"{TRANSFORM}.TransformResources.InstanceType": (
        ("TransformConfig.instance_type", "TransformConfig.fallback_instance_types"),
        "the type being tried, with fallback instance types (a variable of their values)",
    ),
    f"{TRANSFORM}.TransformResources.VolumeKmsKeyId": ((), "the environment key's ARN"),
    f"{TRANSFORM}.Tags.[].Value": (
        (),
        "with delivery, a per-run package's ARN and version (AWS's ARN: partition, region, "
        "account, a group name of letters, digits and '-', a number; fixed values are checked "
        "against this member and left out when refused, modules/workflow/model_identity.py)",
    ),
    f"{MODEL}.ExecutionRoleArn": ((), "the pipeline's execution role ARN"),
    f"{MODEL}.PrimaryContainer.ModelPackageName": ((), "the newest approved package (AWS's ARN)"),
    f"{MODEL}.PrimaryContainer.ModelDataUrl": (
        ("ModelConfig.artifact_key",),
        "the models bucket and the artifact key",
    ),
}


def _markers() -> dict[str, list[str]]:
    """Request member -> the config fields marked as its source."""
    found: dict[str, list[str]] = {}

    def visit(annotation: Any, metadata: list[Any], where: str) -> None:
        for item in metadata:
            if isinstance(item, AfterValidator) and isinstance(item.func, SageMakerField):
                found.setdefault(item.func.request, []).append(where)
        if typing.get_origin(annotation) is typing.Annotated:
            inner, *extra = typing.get_args(annotation)
            visit(inner, list(extra), where)
        elif not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            for arg in typing.get_args(annotation):
                visit(arg, [], where)

    for model in models():
        for name, field in model.model_fields.items():
            visit(field.annotation, list(field.metadata), f"{model.__name__}.{name}")
    return found


def _walk(value: Any, path: str) -> Iterator[tuple[str, Any, bool]]:
    """(request member path, value, literal?) for every leaf of a request."""
    shape = sagemaker_shape(path)
    if shape["type"] == "structure":
        for key, item in value.items():
            member = key.removesuffix(".$")
            if key.endswith(".$"):
                yield f"{path}.{member}", item, False
            else:
                yield from _walk(item, f"{path}.{member}")
    elif shape["type"] == "list" and sagemaker_shape(f"{path}.[]")["type"] == "structure":
        for item in value:
            yield from _walk(item, f"{path}.[]")
    else:
        literal = not (isinstance(value, str) and "${" in value)
        yield path, value, literal


def _pascal(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))


def _model_request(resource: dict[str, Any]) -> dict[str, Any]:
    """An aws_sagemaker_model resource as the CreateModel request the provider sends."""

    def convert(value: Any) -> Any:
        if isinstance(value, list) and len(value) == 1 and isinstance(value[0], dict):
            value = value[0]
        if isinstance(value, dict):
            return {_pascal(k): convert(v) for k, v in value.items()}
        return value

    request = {
        _pascal(k): convert(v)
        for k, v in resource.items()
        if k not in ("depends_on", "lifecycle", "tags")
    }
    request["ModelName"] = request.pop("Name")
    container = request["PrimaryContainer"]
    if "Environment" in container:  # map keys are the user's, not attribute names
        container["Environment"] = resource["primary_container"]["environment"]
    return request


def _requests(synthesized: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for machine in resources(synthesized, "aws_sfn_state_machine").values():
        states = every_state(json.loads(machine["definition"])["States"])
        # The run's job, or each shard's (the Map's children: the run's request on a manifest)
        jobs = [s for s in states.values() if s.get("Resource", "").endswith(".sync")]
        assert jobs, "every run starts a transform job"
        for job in jobs:
            yield TRANSFORM, job["Parameters"]
        if CREATE_RUN_MODEL in states:
            yield MODEL, states[CREATE_RUN_MODEL]["Parameters"]
    for model in resources(synthesized, "aws_sagemaker_model").values():
        yield MODEL, _model_request(model)


@pytest.fixture(scope="module")
def leaves(
    default_config: ProjectConfig,
    full_config: ProjectConfig,
    synth_env: Callable[[ProjectConfig, str], str],
) -> list[tuple[str, Any, bool]]:
    found: list[tuple[str, Any, bool]] = []
    for config in (default_config, full_config):
        for env in config.environments:
            for root, request in _requests(synth_env(config, env)):
                found += list(_walk(request, root))
    return found


def test_every_literal_value_sent_to_sagemaker_passes_its_botocore_shape(
    leaves: list[tuple[str, Any, bool]],
) -> None:
    literal = [(path, value) for path, value, is_literal in leaves if is_literal]
    assert len(literal) > 100
    for path, value in literal:
        check_shape(value, sagemaker_shape(path), path)


def test_every_request_member_fed_from_config_has_a_botocore_marker(
    leaves: list[tuple[str, Any, bool]],
) -> None:
    markers = _markers()
    literal_paths = {path for path, _, is_literal in leaves if is_literal}
    unmarked = sorted(literal_paths - set(markers) - set(NOT_FROM_CONFIG))
    assert unmarked == [], "add a SageMakerField marker to the config field feeding these"


def test_every_member_not_sent_as_a_literal_is_accounted_for(
    leaves: list[tuple[str, Any, bool]],
) -> None:
    computed = {path for path, _, is_literal in leaves if not is_literal}
    assert sorted(computed - set(FROM_RUN_DATA)) == [], "list these in FROM_RUN_DATA"
    assert sorted(set(FROM_RUN_DATA) - computed) == [], "stale FROM_RUN_DATA entries"
    markers = _markers()
    unmarked = [
        (path, field)
        for path, (fields, _) in FROM_RUN_DATA.items()
        for field in fields
        if field not in markers.get(path, [])
    ]
    assert unmarked == []


def test_every_source_of_the_input_s3_uri_is_checked_against_it(
    make_config: Callable[..., ProjectConfig],
) -> None:
    # The S3Uri a run reads is built at run time from one of several sources; each source that
    # comes from config is refused when the S3Uri it gives would exceed SageMaker's limit.
    longest = int(sagemaker_shape(S3_URI)["max"])
    too_long = "churn/" + "a/" * (longest // 2)

    def edit(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
        def apply(raw: dict[str, Any]) -> None:
            node = raw["pipelines"][0]
            *parents, last = path.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = value

        return apply

    def payload(raw: dict[str, Any]) -> None:
        # (A payload prefix and a dated folder together are refused for that alone.)
        del raw["pipelines"][0]["schedule"]["input_folder"]
        edit("schedule.payload", {"input_prefix": too_long})(raw)

    for change in (
        edit("input_prefix", too_long),
        payload,
        edit("input_prefix", too_long[: longest - 76]),  # fits alone; not with the dated folder
    ):
        with pytest.raises(ConfigError, match=f"input location.* 0 to {longest} characters"):
            make_config(change)


def test_every_marker_names_a_member_the_requests_send(
    leaves: list[tuple[str, Any, bool]],
) -> None:
    # A marker on a member the project never sends would check nothing; the all-features
    # fixture sets every marked field, so each must show up in some request.
    sent = {path for path, _, _ in leaves}
    stale = sorted(set(_markers()) - sent)
    assert stale == []


def test_the_markers_cover_the_transform_and_model_knobs() -> None:
    markers = _markers()
    for member in (
        "MaxPayloadInMB",
        "MaxConcurrentTransforms",
        "Environment",
        "BatchStrategy",
        "DataProcessing.InputFilter",
        "ModelClientConfig.InvocationsMaxRetries",
        "TransformResources.InstanceType",
        "TransformInput.ContentType",
    ):
        assert f"{TRANSFORM}.{member}" in markers, member
    for member in ("PrimaryContainer.Environment", "PrimaryContainer.Image", "VpcConfig.Subnets"):
        assert f"{MODEL}.{member}" in markers, member


def test_a_walk_detects_an_unmarked_member() -> None:
    # The walk itself: a literal member that no marker covers is reported.
    request = {"TransformJobName.$": "x", "BatchStrategy": "MultiRecord", "MaxPayloadInMB": 6}
    paths = {path for path, _, literal in _walk(request, TRANSFORM) if literal}
    assert paths == {f"{TRANSFORM}.BatchStrategy", f"{TRANSFORM}.MaxPayloadInMB"}
    with pytest.raises(ValueError, match=re.escape("at most 16 entries")):
        check_shape(
            {f"K{i}": "v" for i in range(17)}, sagemaker_shape(f"{TRANSFORM}.Environment"), "env"
        )
