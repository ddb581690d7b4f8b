"""The cdktf ``App``: every stack of the config.

``build_app`` builds the named environments' stacks and, when all environments are built, the
state bootstrap stacks.

Needs: the validated project config.
"""

from __future__ import annotations

from pathlib import Path

from imports.core import App
from modules.config import ProjectConfig
from modules.stack_names import state_bootstraps
from modules.stacks.bootstrap import StateBootstrapStack
from modules.stacks.environment import build_environment


def build_app(
    config: ProjectConfig,
    outdir: str | Path | None = None,
    environments: list[str] | None = None,
) -> App:
    """Build the named environments' stacks (default: all, plus the state bootstrap stacks).

    Without ``outdir`` the App uses cdktf's own choice (``$CDKTF_OUTDIR`` from the CLI, else
    ``cdktf.out``).
    """
    app = App(outdir=str(outdir)) if outdir is not None else App()
    for name, env in config.environments.items():
        if environments is None or name in environments:
            build_environment(app, config.project, env)
    if environments is None:
        for bootstrap in state_bootstraps(config):
            StateBootstrapStack(app, config.project, bootstrap)
    return app
