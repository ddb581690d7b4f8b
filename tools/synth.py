"""Synthesize the app and read its stacks back: the one way the tests, the generated documents, the
diagram and the benchmark get the synthesized Terraform JSON.

Needs the virtualenv (cdktf and the provider bindings); it starts the jsii runtime the way the app
does, so it can be called before anything imports cdktf.
"""

from __future__ import annotations

import json
import sys
import tempfile
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
