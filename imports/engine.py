"""Which CDK engine the app runs on, and the one place that names each engine's packages.

- ``cdktf``: CDK for Terraform 0.21 and its prebuilt AWS bindings (``cdktf-cdktf-provider-aws``),
  the default: the project is defined on it. Installed in ``.venv`` (the root Pipfile.lock).
- ``cdktn``: CDK Terrain, CDKTF's community continuation (archived upstream in December 2025), with
  the same Python API and the same provider module and class names. Installed in
  ``tools/cdktn/.venv`` (tools/cdktn/Pipfile.lock), built by ``make ... ENGINE=cdktn``.

``CDK_ENGINE=cdktf|cdktn`` selects it (default ``cdktf``). The engine is always named, never
guessed from what happens to be installed: an environment holding the other engine fails with a
message saying so, instead of silently synthesizing on another engine. Reading this module
imports nothing heavy: the config is validated before any engine is loaded.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass

ENGINE_ENV_VAR = "CDK_ENGINE"
DEFAULT_ENGINE = "cdktf"


@dataclass(frozen=True)
class CdkEngine:
    """One engine's packages: the core library and the prebuilt AWS provider bindings."""

    name: str  # the value of CDK_ENGINE
    core: str  # the core library's Python module (and its distribution's name)
    provider: str  # the provider bindings' Python package
    provider_distribution: str  # ... and its distribution on PyPI
    # The provider bindings' jsii assembly, the npm package Node loads: what the preload loads and
    # the lazy-exports hook (lazy_provider_exports.js) recognises.
    provider_assembly: str
    # The hashicorp/aws version those bindings are generated from, which they write into every
    # stack's required_providers. Choosing the bindings' version in the lock chooses this;
    # tests/test_engine_parity.py holds each engine's JSON to it.
    aws_provider: str
    # Where its virtualenv is, relative to the project (the Makefile builds it there).
    environment: str


ENGINES = {
    "cdktf": CdkEngine(
        name="cdktf",
        core="cdktf",
        provider="cdktf_cdktf_provider_aws",
        provider_distribution="cdktf-cdktf-provider-aws",
        provider_assembly="@cdktf/provider-aws",
        aws_provider="6.25.0",
        environment=".venv",
    ),
    "cdktn": CdkEngine(
        name="cdktn",
        core="cdktn",
        provider="cdktn_provider_aws",
        provider_distribution="cdktn-provider-aws",
        provider_assembly="@cdktn/provider-aws",
        aws_provider="6.69.1",
        environment="tools/cdktn/.venv",
    ),
}


class EngineError(ImportError):
    """CDK_ENGINE names no engine, or one that is not installed in this environment."""


def selected_engine() -> CdkEngine:
    """The engine CDK_ENGINE names (default cdktf)."""
    name = os.environ.get(ENGINE_ENV_VAR, "").strip() or DEFAULT_ENGINE
    engine = ENGINES.get(name)
    if engine is None:
        raise EngineError(
            f"{ENGINE_ENV_VAR}={name}: no such engine (engines: {', '.join(ENGINES)})"
        )
    return engine


def installed_engine() -> CdkEngine:
    """The selected engine, checked to be importable here; else an error naming where it is."""
    engine = selected_engine()
    if importlib.util.find_spec(engine.core) is None:
        others = [e for e in ENGINES.values() if importlib.util.find_spec(e.core) is not None]
        here = f" (this one has {others[0].name})" if others else ""
        raise EngineError(
            f"{ENGINE_ENV_VAR}={engine.name}, but {engine.core} is not installed in the Python "
            f"environment {sys.prefix}{here}. The {engine.name} engine runs in "
            f"{engine.environment}: use `make synth ENGINE={engine.name}` (it installs it), or "
            f"its Python, with {ENGINE_ENV_VAR}={engine.name}."
        )
    return engine
