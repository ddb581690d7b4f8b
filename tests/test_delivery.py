"""What ``delivery`` adds to a pipeline's stack: the counting step's IAM (listing the run's two
prefixes only), the ready event's (one bus, the source pinned), and nothing for a pipeline
without it. Its runs: tests/execution_checks/delivery.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from modules.aws_context import AwsContext
from modules.config import ProjectConfig, partition_of
from modules.naming import Names
from modules.workflow import build_definition
from modules.workflow.delivery_event import ready_event_schema
from modules.workflow.state_names import START_COUNTING
from tests.support.helpers import TEST_AWS, actions, statement
from tests.support.workflow import TARGETS, pipeline_of
from tests.test_sfn import _role_policy
from tools import event_schema
from tools.generated import REPO


def _sids(policy: dict[str, Any]) -> set[str]:
    return {s["Sid"] for s in policy["Statement"]}


def test_delivery_lists_only_the_run_prefixes(full_config: ProjectConfig) -> None:
    scores = pipeline_of(full_config, "stage", "scores")
    policy = _role_policy(full_config, "stage", "scores", "model")
    listing = {
        "CountRunInput": ("test-input", scores.default_input_prefix),
        "CountRunOutput": ("test-output", scores.run_output_prefix),
    }
    for sid, (bucket, prefix) in listing.items():
        granted = statement(policy, sid)
        assert actions(granted) == {"s3:ListBucket"}
        assert granted["Resource"] == f"arn:aws:s3:::{bucket}"
        assert granted["Condition"] == {"StringLike": {"s3:prefix": [f"{prefix}*"]}}


def test_a_pipeline_without_delivery_neither_counts_nor_lists(
    default_config: ProjectConfig,
) -> None:
    churn = pipeline_of(default_config, "prod", "churn")
    assert churn.delivery is None
    assert START_COUNTING not in build_definition(churn, TARGETS)["States"]
    policy = _role_policy(default_config, "prod", "churn", "model")
    assert not {"CountRunInput", "CountRunOutput"} & _sids(policy)


def test_ready_events_go_to_one_bus_with_the_source_pinned(full_config: ProjectConfig) -> None:
    names = Names(full_config.project, "stage")
    buses = {"scores": "default", "latest": "ml-events"}
    for pipeline, bus in buses.items():
        policy = _role_policy(full_config, "stage", pipeline, "model")
        granted = statement(policy, "PutReadyEventsOnThisBus")
        assert actions(granted) == {"events:PutEvents"}
        assert granted["Resource"] == TEST_AWS.arn("events", f"event-bus/{bus}")
        assert granted["Condition"] == {"StringEquals": {"events:source": names.event_source}}
        assert not names.event_source.startswith("aws.")


def test_the_ready_event_schema_is_published_and_in_docs(
    full_config: ProjectConfig, synth_env: Callable[[ProjectConfig, str], str]
) -> None:
    env = full_config.environments["stage"]
    names = Names(full_config.project, env.name)
    stack = json.loads(synth_env(full_config, env.name))
    [schema] = stack["resource"]["aws_schemas_schema"].values()
    [registry] = stack["resource"]["aws_schemas_registry"].values()
    assert (registry["name"], schema["type"]) == (names.schema_registry, "JSONSchemaDraft4")
    assert json.loads(schema["content"]) == ready_event_schema(names.event_source)
    committed = (REPO / "docs" / "ready-event.schema.json").read_text()
    assert committed == event_schema.render(), "docs/ready-event.schema.json is stale: make docs"
    assert env.account_id is not None
    aws = AwsContext(env.account_id, env.region, partition_of(env.region))
    ready = json.loads(stack["output"]["latest_ready_events"]["value"])
    assert ready == {
        "event_bus": aws.arn("events", "event-bus/ml-events"),
        "rule_pattern": {
            "source": [names.event_source],
            "detail-type": ["Batch predictions ready"],
            "detail": {"pipeline": ["latest"]},
        },
    }
