"""The architecture diagram (tools/diagram/): up to date, complete, deterministic.

Only the DOT source is checked: no Graphviz binary is needed.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from modules.config import ProjectConfig
from modules.stack_names import stack_name
from modules.workflow.state_names import NOTIFY_FAILURE
from tools.diagram import Model, StackMap, build_diagram, build_model, merge_stacks, title_for

COMMITTED_DOT = Path(__file__).resolve().parent.parent / "docs" / "architecture.dot"
TOPIC = "alerts/topic"
KEY = "storage/key"
INPUT, OUTPUT, MODELS = "storage/input/bucket", "storage/output/bucket", "storage/models/bucket"


@pytest.fixture(scope="module")
def split(stacks: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], StackMap]:
    """The dev environment's stacks (per-pipeline layout), merged as `make diagram` does."""
    dev = {
        name.removeprefix("example/"): doc
        for name, doc in stacks.items()
        if name == "example/mlbatch-dev" or name.startswith("example/mlbatch-dev-")
    }
    return merge_stacks(dev)


@pytest.fixture(scope="module")
def stack(split: tuple[dict[str, Any], StackMap]) -> dict[str, Any]:
    return split[0]


@pytest.fixture(scope="module")
def title(default_config: ProjectConfig) -> str:
    return title_for(stack_name(default_config.project, "dev"))


@pytest.fixture(scope="module")
def source(split: tuple[dict[str, Any], StackMap], title: str) -> str:
    text: str = build_diagram(split[0], title=title, stacks=split[1]).source
    return text


@pytest.fixture(scope="module")
def model(stack: dict[str, Any]) -> Model:
    return build_model(stack)


@pytest.fixture(scope="module")
def pipelines(default_config: ProjectConfig) -> list[str]:
    return [pipeline.name for pipeline in default_config.environments["dev"].pipelines]


def labels(model: Model, tail: str, head: str) -> list[str]:
    found = [e for e in model.edges if (e.tail, e.head) == (tail, head) and e.visible]
    assert found, f"no arrow {tail} -> {head}"
    return found[0].labels


def test_committed_diagram_is_up_to_date(source: str) -> None:
    assert COMMITTED_DOT.exists(), "docs/architecture.dot is missing: run `make diagram`"
    assert COMMITTED_DOT.read_bytes() == source.encode("utf-8"), (
        "docs/architecture.dot is out of date with the dev stack: run `make diagram` to regenerate "
        "it (and the SVG/PNG next to it)"
    )


def test_layers_are_clusters(model: Model, pipelines: list[str]) -> None:
    expected: set[tuple[str, ...]] = {("storage",), ("alerts",)}
    for name in pipelines:
        layers = ("scheduler", "sfn", "alarms", "sagemaker")
        expected |= {(f"pipeline-{name}",)} | {(f"pipeline-{name}", layer) for layer in layers}
    assert expected <= model.clusters
    assert model.nodes[TOPIC].cluster == ("alerts",)
    assert model.nodes[INPUT].cluster == ("storage",)


def test_flow_of_each_pipeline(model: Model, pipelines: list[str]) -> None:
    for name in pipelines:
        p = f"pipeline-{name}"
        schedule, machine = f"{p}/scheduler/schedule", f"{p}/sfn/state-machine"
        queue = f"{p}/scheduler/dead-letter-queue"
        assert labels(model, schedule, machine) == ["starts run"]
        assert labels(model, schedule, queue) == ["undelivered runs"]
        assert labels(model, machine, INPUT) == ["job reads input"]
        assert labels(model, machine, OUTPUT) == ["job writes predictions"]
        assert NOTIFY_FAILURE in labels(model, machine, TOPIC)
        assert labels(model, machine, f"{p}/sfn/log-group") == ["execution logs"]
        assert labels(model, queue, f"{p}/alarms/alarm-dlq-depth") == ["metrics"]
        assert labels(model, f"{p}/alarms/alarm-dlq-depth", TOPIC) == ["alarm"]
        assert labels(model, f"{p}/alarms/transform-job-failed-rule", TOPIC) == ["notifies"]
        # The state machine's alarms (one merged node) watch it and alarm to the topic.
        watchers = [e.head for e in model.edges if e.tail == machine and e.labels == ["metrics"]]
        assert len(watchers) == 1 and model.nodes[watchers[0]].cluster == (p, "alarms")
        assert len(model.nodes[watchers[0]].members) >= 4
        assert labels(model, watchers[0], TOPIC) == ["alarm"]


def test_model_from_an_artifact(model: Model) -> None:
    """churn's model is an image + model.tar.gz from the model bucket."""
    sagemaker_model = "pipeline-churn/sagemaker/model"
    assert labels(model, "pipeline-churn/sfn/state-machine", sagemaker_model) == [
        "runs transform job"
    ]
    assert labels(model, sagemaker_model, MODELS) == ["model artifact"]


def test_key_encrypts_each_cluster_once(model: Model, pipelines: list[str]) -> None:
    expected = {f"cluster_pipeline-{name}" for name in pipelines}
    # The data key, and the alert key (inside the alerts cluster, with the topic it encrypts) for
    # the pipelines' alert dead-letter queues.
    for key in (KEY, "alerts/key"):
        summaries = {e.lhead for e in model.edges if e.tail == key and e.visible}
        assert summaries == expected, key
        assert all(e.labels == ["encrypts"] for e in model.edges if e.tail == key and e.visible)


def test_helpers_are_folded_into_their_parents(model: Model, pipelines: list[str]) -> None:
    helper_types = {
        "aws_iam_role_policy",
        "aws_kms_alias",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
        "aws_sns_topic_policy",
        "aws_sqs_queue_policy",
        "aws_cloudwatch_event_target",
    }
    assert not helper_types & {node.type for node in model.nodes.values()}
    features = model.nodes[INPUT].features
    assert {"versioning", "SSE-KMS", "lifecycle", "TLS-only policy"} <= set(features)
    assert "SSE-S3" in model.nodes["storage/logs/bucket"].features
    assert model.nodes[TOPIC].features == ["topic policy"]
    for name in pipelines:
        machine = model.nodes[f"pipeline-{name}/sfn/state-machine"]
        assert machine.features == ["IAM role", "inline policy"]


def test_dot_source_names_the_key_resources(source: str) -> None:
    for text in (
        '"pipeline-churn/scheduler/schedule" -> "pipeline-churn/sfn/state-machine"',
        '"pipeline-churn/sfn/state-machine" -> "alerts/topic"',
        '"pipeline-churn/scheduler/dead-letter-queue" -> "pipeline-churn/alarms/alarm-dlq-depth"',
        "subgraph cluster_storage ",
        'subgraph "cluster_pipeline-churn/sfn"',
        "<b>State machine</b>",
        "<b>SNS topic</b>",
    ):
        assert text in source


def _reordered(value: Any) -> Any:
    """The same JSON with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {key: _reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(item) for item in value]
    return value


def test_deterministic(split: tuple[dict[str, Any], StackMap], title: str, source: str) -> None:
    stack, stacks = split
    assert build_diagram(copy.deepcopy(stack), title=title, stacks=stacks).source == source
    assert build_diagram(_reordered(stack), title=title, stacks=stacks).source == source


def test_stack_boundaries_are_drawn(split: tuple[dict[str, Any], StackMap], source: str) -> None:
    _, stacks = split
    assert stacks["storage"] == stacks["alerts"] == "mlbatch-dev"
    assert stacks["pipeline-churn"] == "mlbatch-dev-churn"
    assert stacks["dashboard"] == "mlbatch-dev-dashboard"
    for stack in ("mlbatch-dev", "mlbatch-dev-churn", "mlbatch-dev-ltv", "mlbatch-dev-dashboard"):
        assert f'"cluster_stack_{stack}"' in source or f"cluster_stack_{stack} " in source
    # A cross-stack reference is drawn as the arrow it stands for: model -> base model bucket.
    assert "local.base" not in json.dumps(split[0])


def test_metadata_paths_and_logical_ids_agree() -> None:
    """``cdktf synth`` writes construct paths; Testing.synth does not: same diagram either way."""
    bare: dict[str, Any] = {
        "resource": {
            "aws_scheduler_schedule_group": {"schedule-group_45195778": {"name": "g"}},
            "aws_scheduler_schedule": {
                "pipeline-a_scheduler_schedule_11111111": {
                    "name": "a",
                    "group_name": "${aws_scheduler_schedule_group.schedule-group_45195778.name}",
                }
            },
        }
    }
    paths = {
        "schedule-group_45195778": "s/schedule-group/group",
        "pipeline-a_scheduler_schedule_11111111": "s/pipeline-a/scheduler/schedule",
    }
    with_metadata = copy.deepcopy(bare)
    for instances in with_metadata["resource"].values():
        for logical_id, body in instances.items():
            body["//"] = {"metadata": {"path": paths[logical_id], "uniqueId": logical_id}}
    assert build_diagram(with_metadata).source == build_diagram(bare).source
    assert labels(build_model(bare), "schedule-group", "pipeline-a/scheduler/schedule") == [
        "contains"
    ]


def test_new_resources_and_layers_appear(stack: dict[str, Any]) -> None:
    """Nothing curated is needed for a new layer: it is a cluster, its resources nodes."""
    extended = copy.deepcopy(stack)
    machines = extended["resource"]["aws_sfn_state_machine"]
    machine = next(m for m in machines if m.startswith("pipeline-churn_"))
    functions = extended["resource"].setdefault("aws_lambda_function", {})
    for index in (1, 2):
        functions[f"pipeline-churn_hooks_fn{index}_0000000{index}"] = {
            "function_name": f"hook-{index}",
            "environment": {"variables": {"MACHINE": f"${{aws_sfn_state_machine.{machine}.arn}}"}},
        }
    model = build_model(extended)
    hook = model.nodes["pipeline-churn/hooks/fn1+1"]  # two alike: merged
    assert hook.cluster == ("pipeline-churn", "hooks") and hook.type == "aws_lambda_function"
    assert labels(model, hook.id, "pipeline-churn/sfn/state-machine") == []  # unlabelled grey
