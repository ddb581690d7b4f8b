"""The names of the stacks the app synthesizes (each stack's Terraform state is named after it).

Kept apart from ``modules/stacks/`` so that tools which only read plans or config (the plan
reviewer, `make check`) know the stacks without loading cdktf. Every stack is named like the
resources, by ``Names``: a pipeline's stack carries the pipeline's name prefix, the state
bootstraps' begin as the reserved environment ``state``'s, then name their account and region (or
their bucket). ``stack_holding_pipeline`` is the one answer to "which stack holds this pipeline"
(in either layout), ``state_bootstraps`` to "which bootstrap stacks are there, holding which
buckets" (the state tools read it without starting cdktf's Node runtime).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from modules.config import (
    RESERVED_ENVIRONMENT_NAME,
    RESERVED_PIPELINE_NAME,
    EnvironmentConfig,
    ProjectConfig,
    S3State,
)
from modules.naming import Names

# Every pipeline's constructs sit under one top-level construct of this id, in either layout, so
# its resources' addresses are the same in both (the plan reviewer and `make check` read them).
PIPELINE_SCOPE_PREFIX = "pipeline-"


def pipeline_scope(pipeline: str) -> str:
    """The id of the construct that holds one pipeline's layers."""
    return f"{PIPELINE_SCOPE_PREFIX}{pipeline}"


def stack_name(project: str, environment: str) -> str:
    """The environment's stack: everything (single layout), or what its pipelines share."""
    return Names(project, environment).prefix


def is_environment_stack(stack: str, project: str, environment: str) -> bool:
    """Whether ``stack`` is one of the environment's stacks (its own, a pipeline's, the
    dashboard's); environment names hold no ``-``, so ``dev`` never claims ``dev2``'s."""
    own = stack_name(project, environment)
    return stack == own or stack.startswith(f"{own}-")


def pipeline_stack_name(project: str, environment: str, pipeline: str) -> str:
    return Names(project, environment).pipeline(pipeline)


def dashboard_stack_name(project: str, environment: str) -> str:
    return Names(project, environment).pipeline(RESERVED_PIPELINE_NAME)


def stack_holding_pipeline(project: str, env: EnvironmentConfig, pipeline: str) -> str:
    """The stack that holds ``pipeline`` of ``env``: the pipeline's own stack (per-pipeline
    layout), or the environment's one stack (single layout)."""
    if env.layout == "single":
        return stack_name(project, env.name)
    return pipeline_stack_name(project, env.name, pipeline)


def bootstrap_stack_prefix(project: str) -> str:
    """What every state bootstrap stack's name begins with (``<project>-state``); the environment
    name ``state`` is refused, so no environment's stacks can take it."""
    return Names(project, RESERVED_ENVIRONMENT_NAME).prefix


def bootstrap_stack_name(project: str, account_id: str | None, region: str, bucket: str) -> str:
    """The state bootstrap stack that creates ``bucket``: ``<project>-state-<account id>-<region>``
    for a pinned account's buckets, ``<project>-state-unpinned-<bucket>`` for an environment
    without ``account_id`` (its account is known only when it is applied, so each such bucket has
    a bootstrap of its own). Built from the bucket's own facts only, so a name never changes when
    another environment, account or region is added (its state file or key would move)."""
    if account_id is None:
        return Names(project, RESERVED_ENVIRONMENT_NAME).qualified("unpinned", bucket)
    return Names(project, RESERVED_ENVIRONMENT_NAME).qualified(account_id, region)


@dataclass(frozen=True)
class StateStore:
    """One state bucket, as all the environments that use it need it."""

    bucket: str
    lock_tables: tuple[str, ...]  # every DynamoDB table an environment names for this bucket


@dataclass(frozen=True)
class Bootstrap:
    """The state buckets of one bootstrap stack: a pinned account's in one region, or one
    unpinned environment's bucket (``account_id`` None). ``host``: the state of the bucket that
    keeps this stack's own state (``bootstrap: self-hosted``), else None (a local file)."""

    name: str
    account_id: str | None
    region: str
    stores: list[StateStore]
    host: S3State | None = None


def state_bootstraps(config: ProjectConfig) -> list[Bootstrap]:
    """Each distinct S3 state bucket of the config, grouped into the bootstrap stack its name
    says (``bootstrap_stack_name``: per pinned account and region, per unpinned bucket), with the
    bucket that hosts the stack's own state where one says ``bootstrap: self-hosted`` (the config
    allows one per stack, and refuses one bucket in two regions or accounts)."""
    users: dict[tuple[str, str | None, str], list[S3State]] = {}
    for env, state in config.s3_states:
        key = (state.region or env.region, env.account_id, state.bucket)
        users.setdefault(key, []).append(state)
    groups: dict[str, Bootstrap] = {}
    for (region, account, bucket), states in sorted(users.items(), key=lambda i: str(i[0])):
        name = bootstrap_stack_name(config.project, account, region, bucket)
        group = groups.setdefault(name, Bootstrap(name, account, region, []))
        tables = sorted({s.dynamodb_table for s in states if s.dynamodb_table})
        group.stores.append(StateStore(bucket, tuple(tables)))
        host = next((s for s in states if s.bootstrap == "self-hosted"), None)
        if host is not None:
            groups[name] = replace(group, host=host)
    return list(groups.values())
