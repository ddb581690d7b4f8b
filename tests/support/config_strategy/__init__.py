"""Hypothesis strategies for *valid* config documents, across what the schema accepts.

``valid_configs()`` draws a whole config file (as the parsed YAML document): a project name of any
allowed length, 1-6 pipelines with every model source (image + artifact, package ARN, registry
group; in a VPC or not), cron, rate and at() schedules in time zones with and without daylight
saving, flexible windows, start and end dates, dated input folders (daily, hourly, nested), event
triggers, every transform field within its bounds, data processing, alarms, and 1-3 environments
in each supported partition, both layouts, local and S3 state with both lock kinds, subscriptions
of every protocol and every ``receives``, per-environment overrides and ``enabled`` flags.

Every bound is read from where the product reads it (the schema's own constants, botocore's
shapes through ``modules.config``, the schedule arithmetic of ``modules.schedule_window``), never
copied, so that a strategy and the validation cannot drift apart without a test noticing. The
rules that tie fields together (a model in its environment's region, prefixes that do not overlap,
the 30-character name budget) are kept by construction, not by filtering, so that drawing stays
cheap.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from modules.config.aws_facts import SUPPORTED_PARTITIONS, has_instance_storage
from tests.support.config_strategy.environments import environments
from tests.support.config_strategy.facts import (
    ENVIRONMENT_NAMES,
    INSTANCE_TYPES,
    NAME_BUDGET,
    PROJECT_NAMES,
    REGIONS_BY_PARTITION,
    pipeline_names,
)
from tests.support.config_strategy.pipelines import model_in, pipelines


@st.composite
def valid_configs(
    draw: st.DrawFn, max_pipelines: int = 6, max_environments: int = 3
) -> dict[str, Any]:
    """A config document the schema accepts (see the module docstring for what it covers)."""
    project = draw(PROJECT_NAMES)
    env_names = draw(
        st.lists(ENVIRONMENT_NAMES, min_size=1, max_size=max_environments, unique=True)
    )
    # Pipeline names take what the longest project and environment names leave of the budget.
    longest = NAME_BUDGET - 2 - len(project) - max(map(len, env_names))
    env_count = len(env_names)
    names = draw(pipeline_names(draw(st.integers(1, max_pipelines)), longest))
    partitions = draw(
        st.lists(st.sampled_from(SUPPORTED_PARTITIONS), min_size=env_count, max_size=env_count)
    )
    regions = [draw(st.sampled_from(REGIONS_BY_PARTITION[p])) for p in partitions]
    accounts = [
        draw(
            st.one_of(st.none(), st.sampled_from(["111111111111", "222222222222", "333333333333"]))
        )
        for _ in env_names
    ]
    # An account lives in one partition: the same id is never reused across partitions.
    accounts = [
        a if a is None else f"{a[:-1]}{SUPPORTED_PARTITIONS.index(p)}"
        for a, p in zip(accounts, partitions, strict=True)
    ]
    home = regions[0]
    drawn = [draw(pipelines(name, home)) for name in names]
    config: dict[str, Any] = {
        "project": project,
        "pipelines": [pipeline for pipeline, _ in drawn],
        "environments": {},
    }
    if draw(st.booleans()):
        config["defaults"] = {"region": home, "tags": {"owner": "ml-platform"}}
    for env_name, region, account in zip(env_names, regions, accounts, strict=True):
        env = draw(environments(project, env_name, region, account))
        overrides: dict[str, Any] = {}
        for pipeline, source in drawn:
            override: dict[str, Any] = {}
            if region != home:
                override["model"] = model_in(source, region, pipeline["name"])
            if draw(st.integers(0, 5)) == 5:
                override["enabled"] = False
            if draw(st.integers(0, 3)) == 3:
                fallbacks = pipeline.get("transform", {}).get("fallback_instance_types", [])
                override["transform"] = {
                    "instance_type": draw(st.sampled_from(_primaries_beside(fallbacks)))
                }
            if override:
                overrides[pipeline["name"]] = override
        if overrides:
            env["pipelines"] = overrides
        config["environments"][env_name] = env
    return config


def _primaries_beside(fallbacks: list[str]) -> list[str]:
    """The instance types an environment may make a pipeline's primary: not one of its fallbacks,
    and of their storage kind (SageMaker's VolumeKmsKeyId rule), if it has any."""
    kinds = {has_instance_storage(t) for t in fallbacks} or {True, False}
    return [t for t in INSTANCE_TYPES if t not in fallbacks and has_instance_storage(t) in kinds]


def drawn(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """``count`` examples of ``strategy``, the same on every run and every worker (for tests that
    run each one through costly fixtures, such as the Step Functions engine)."""
    found: list[Any] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(example: Any) -> None:
        found.append(example)

    collect()
    return found[:count]
