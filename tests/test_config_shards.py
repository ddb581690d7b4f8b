"""transform.shards: its bounds come from where AWS publishes them, and every mistake is one line
naming the field."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from modules.config import ConfigError, ProjectConfig
from modules.config.aws_facts import (
    DISTRIBUTED_MAP_MAX_CONCURRENCY,
    S3_MAX_KEY_BYTES,
    STATE_PAYLOAD_BYTES,
)
from modules.config.botocore_facts import _service_model, request_member
from modules.config.shards import (
    BATCH_INPUT_RESERVE_BYTES,
    MAX_FILES_PER_JOB,
    TOLERANCE_MAX,
    ShardsConfig,
)
from tests.support.config_edits import edits, set_path

SHARDS = "pipelines.0.transform.shards"
VALID = {"files_per_job": 10, "max_parallel_jobs": 4}


def test_shards_are_off_unless_configured(make_config: Callable[..., ProjectConfig]) -> None:
    config = make_config()
    assert all(
        p.transform.shards is None for e in config.environments.values() for p in e.pipelines
    )


def test_configured_shards_reach_every_environment_with_tolerance_default_zero(
    make_config: Callable[..., ProjectConfig],
) -> None:
    config = make_config(set_path(SHARDS, VALID))
    for environment in config.environments.values():
        shards = environment.pipelines[0].transform.shards
        assert shards == ShardsConfig(files_per_job=10, max_parallel_jobs=4)
        assert shards.tolerated_failed_shards_percent == 0.0 and shards.can_exceed_tolerance


def test_a_shard_of_the_most_files_fits_a_child_executions_input() -> None:
    # The largest batch the Map can hand a child: MAX_FILES_PER_JOB items of the longest key,
    # with the run's record beside them, within Step Functions' payload limit; one more does not.
    item = {"Key": "k" * S3_MAX_KEY_BYTES, "Size": 5 * 1024**4, "Index": 10**12}
    run = {"run": {"run_id": "r" * 200, "input_prefix": "p" * S3_MAX_KEY_BYTES}}
    assert len(json.dumps(run)) < BATCH_INPUT_RESERVE_BYTES

    def items(n: int) -> int:
        return len(json.dumps([item] * n))

    assert items(MAX_FILES_PER_JOB) + BATCH_INPUT_RESERVE_BYTES <= STATE_PAYLOAD_BYTES
    assert items(MAX_FILES_PER_JOB + 1) + BATCH_INPUT_RESERVE_BYTES > STATE_PAYLOAD_BYTES


def test_the_tolerance_bounds_are_botocores() -> None:
    shape = _service_model("stepfunctions")["shapes"]["ToleratedFailurePercentage"]
    assert request_member("stepfunctions:UpdateMapRun.toleratedFailurePercentage") == shape
    assert (shape["min"], shape["max"]) == (0, TOLERANCE_MAX)


def test_botocore_still_bounds_neither_map_concurrency_nor_instance_count() -> None:
    # The prose maximum of MaxConcurrency is copied because botocore has none; and no product
    # max_parallel_jobs x instance_count is refused because SageMaker publishes no maximum
    # InstanceCount (the account's quota is the bound). Either appearing fails this test.
    assert "max" not in _service_model("stepfunctions")["shapes"]["MaxConcurrency"]
    count = request_member("sagemaker:CreateTransformJob.TransformResources.InstanceCount")
    assert "max" not in count
    assert DISTRIBUTED_MAP_MAX_CONCURRENCY == 10_000


@pytest.mark.parametrize(
    ("shards", "expected"),
    [
        ({"files_per_job": 0, "max_parallel_jobs": 1}, "files_per_job"),
        ({"files_per_job": MAX_FILES_PER_JOB + 1, "max_parallel_jobs": 1}, "files_per_job"),
        ({"files_per_job": 1, "max_parallel_jobs": 0}, "max_parallel_jobs"),
        (
            {"files_per_job": 1, "max_parallel_jobs": DISTRIBUTED_MAP_MAX_CONCURRENCY + 1},
            "max_parallel_jobs",
        ),
        ({**VALID, "tolerated_failed_shards_percent": -1}, "tolerated_failed_shards_percent"),
        ({**VALID, "tolerated_failed_shards_percent": 101}, "tolerated_failed_shards_percent"),
        ({**VALID, "tolerated_failed_shards_percent": 2.5}, "tolerated_failed_shards_percent"),
        ({"files_per_job": 1}, "max_parallel_jobs"),
        ({**VALID, "files": 3}, "files"),
    ],
    ids=["no files", "too many files", "no jobs", "too many jobs", "negative", "over 100",
         "a fraction", "missing", "unknown key"],
)  # fmt: skip
def test_a_shards_mistake_is_one_line_naming_its_field(
    make_config: Callable[..., ProjectConfig], shards: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        make_config(set_path(SHARDS, shards))
    message = str(raised.value)
    assert f"transform.shards.{expected}" in message and "\n" not in message


@pytest.mark.parametrize("tolerance", [0, 12, TOLERANCE_MAX])
def test_every_tolerance_within_bounds_is_taken(
    make_config: Callable[..., ProjectConfig], tolerance: float
) -> None:
    config = make_config(set_path(SHARDS, {**VALID, "tolerated_failed_shards_percent": tolerance}))
    shards = config.environments["prod"].pipelines[0].transform.shards
    assert shards is not None and shards.tolerated_failed_shards_percent == tolerance
    assert shards.can_exceed_tolerance == (tolerance < 100)


def test_a_tolerance_with_delivery_is_refused_in_one_line(
    make_config: Callable[..., ProjectConfig],
) -> None:
    tolerant = {**VALID, "tolerated_failed_shards_percent": 5}
    with pytest.raises(ConfigError) as raised:
        make_config(edits(set_path(SHARDS, tolerant), set_path("pipelines.0.delivery", {})))
    message = str(raised.value)
    assert "transform.shards.tolerated_failed_shards_percent" in message
    assert "must be 0 with delivery" in message and "\n" not in message
    strict = make_config(edits(set_path(SHARDS, VALID), set_path("pipelines.0.delivery", {})))
    assert strict.environments["prod"].pipelines[0].delivery is not None
