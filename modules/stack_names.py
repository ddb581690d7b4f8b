"""The names of the stacks the app synthesizes (each stack's Terraform state is named after it).

Kept apart from ``modules/stack.py`` so that tools which only read plans or config (the plan
reviewer) know the stacks without loading cdktf. The environment's stacks are named like its
resources, by ``Names``: a pipeline's stack carries the pipeline's name prefix.
"""

from __future__ import annotations

from modules.config import RESERVED_PIPELINE_NAME
from modules.context import Names


def stack_name(project: str, environment: str) -> str:
    """The environment's stack: everything (single layout), or what its pipelines share."""
    return Names(project, environment).prefix


def pipeline_stack_name(project: str, environment: str, pipeline: str) -> str:
    return Names(project, environment).pipeline(pipeline)


def dashboard_stack_name(project: str, environment: str) -> str:
    return Names(project, environment).pipeline(RESERVED_PIPELINE_NAME)


def bootstrap_stack_name(project: str, region: str | None = None) -> str:
    """The state bootstrap stack; one per region (named with it) when state lives in several."""
    return f"{project}-state" if region is None else f"{project}-state-{region}"
