"""Synthesize the app and read its stacks back: the one way the tests, the generated documents, the
diagram and the benchmark get the synthesized Terraform JSON (``synthesize``, in this process),
and the one way a tool starts the app itself in a process of its own (``start_app``: `make plan`,
and `make review` for each of its two trees).

Needs the virtualenv (cdktf and the provider bindings); it starts the jsii runtime the way the app
does, so it can be called before anything imports cdktf.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

REPO = Path(__file__).resolve().parent.parent

if TYPE_CHECKING:
    from modules.config import ProjectConfig

Stacks = dict[str, dict[str, Any]]


def stack_files(outdir: Path) -> dict[str, Path]:
    """Each stack's cdk.tf.json in an app's output directory, by stack name, sorted by name."""
    manifest = json.loads((outdir / "manifest.json").read_text())["stacks"]
    return {name: outdir / manifest[name]["synthesizedStackPath"] for name in sorted(manifest)}


def read_stacks(outdir: Path) -> Stacks:
    """Every stack in an app's output directory, parsed, by stack name."""
    return {name: json.loads(path.read_text()) for name, path in stack_files(outdir).items()}


def start_app(
    tree: Path,
    outdir: Path,
    *,
    config: str | None = None,
    environments: list[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[str]:
    """The app of ``tree`` (its own main.py and modules), run as `make synth` runs it
    (``python -O main.py``), synthesizing into ``outdir``; started, not waited for (its stdout and
    stderr are pipes). ``env`` (default: this process's) with ``config`` as $PIPELINE_CONFIG when
    given, and ``environments`` as $PIPELINE_ENVIRONMENTS, else every environment (whatever
    ``env`` says)."""
    from main import ENVIRONMENTS_ENV_VAR
    from modules.config.loading import CONFIG_PATH_ENV_VAR

    variables = {**(os.environ if env is None else env), "CDKTF_OUTDIR": str(outdir)}
    variables.pop(ENVIRONMENTS_ENV_VAR, None)
    if environments:
        variables[ENVIRONMENTS_ENV_VAR] = ",".join(environments)
    if config:
        variables[CONFIG_PATH_ENV_VAR] = config
    return subprocess.Popen(
        [sys.executable, "-O", "main.py"],
        cwd=tree,
        env=variables,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def synthesize(
    config: ProjectConfig,
    outdir: Path | None = None,
    environments: list[str] | None = None,
) -> Stacks:
    """Synthesize the app for a config into ``outdir`` (default: a temporary directory) and return
    every stack it wrote. The config is always named by the caller: the product's tests and
    documents use their fixtures, never the user's config/pipelines.yaml.

    ``environments`` limits it to those environments (then without the state bootstrap stack),
    as ``PIPELINE_ENVIRONMENTS`` does for the app.
    """
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from imports.runtime import configure_jsii_runtime

    configure_jsii_runtime()
    from modules.stacks.app import build_app

    if outdir is not None:
        build_app(config, outdir=outdir, environments=environments).synth()
        return read_stacks(outdir)
    with tempfile.TemporaryDirectory() as temporary:
        build_app(config, outdir=temporary, environments=environments).synth()
        return read_stacks(Path(temporary))
