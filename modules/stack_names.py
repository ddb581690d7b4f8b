"""The names of the stacks the app synthesizes (each stack's Terraform state is named after it).

Kept apart from ``modules/stacks/`` so that tools which only read plans or config (the plan
reviewer) know the stacks without loading cdktf. The environment's stacks are named like its
resources, by ``Names``: a pipeline's stack carries the pipeline's name prefix.
"""

from __future__ import annotations

from modules.config import RESERVED_ENVIRONMENT_NAME, RESERVED_PIPELINE_NAME
from modules.naming import Names


def stack_name(project: str, environment: str) -> str:
    """The environment's stack: everything (single layout), or what its pipelines share."""
    return Names(project, environment).prefix


def pipeline_stack_name(project: str, environment: str, pipeline: str) -> str:
    return Names(project, environment).pipeline(pipeline)


def dashboard_stack_name(project: str, environment: str) -> str:
    return Names(project, environment).pipeline(RESERVED_PIPELINE_NAME)


def bootstrap_stack_name(
    project: str, region: str | None = None, account: str | None = None
) -> str:
    """A state bootstrap stack: ``<project>-state`` when there is one, else one per account
    (``-<account id>``, or ``-unpinned`` for environments without ``account_id``) and, where an
    account keeps state in several regions, per region (``-<region>``). The environment name
    ``state`` is refused, so no environment's stacks can take these names."""
    parts = [project, RESERVED_ENVIRONMENT_NAME, account, region]
    return "-".join(part for part in parts if part)
