"""The CDKTF app: read the config, then synthesize each environment's stacks (+ state bootstrap).

    python -O main.py                      # every environment in config/pipelines.yaml
    PIPELINE_CONFIG=other.yaml python main.py
    PIPELINE_ENVIRONMENTS=dev python main.py   # only these environments (no bootstrap stack)
    CDK_ENGINE=cdktn tools/cdktn/.venv/bin/python -O main.py   # on CDK Terrain (imports/engine.py)

``-O`` skips the provider bindings' runtime type checks (typeguard), about a third of the time
spent per resource; the test suite runs without it, so those checks still guard every code path.

The config is validated before any cdktf or provider Python module is imported and before any
construct exists (Node loads their JavaScript assemblies meanwhile, in its own process:
imports/preload.py): a mistake is reported in well under a second, with exit status 2 and one
line per mistake naming the file, the line and the field, and nothing is written. So is a
CDK_ENGINE that names no engine, or one not installed in this Python environment (one line).
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from typing import NoReturn

ENVIRONMENTS_ENV_VAR = "PIPELINE_ENVIRONMENTS"
CONFIG_ERROR_EXIT = 2


def main(*, exiting: bool = False) -> int:
    """Synthesize the configured environments; 0, or 2 on a config error (nothing written).
    ``exiting``: the caller ends the process right after (``__main__``), so a config error need
    not wait for Node to finish starting."""
    # Startup time is most of a synth: keep bytecode caches of the dependencies even where the
    # environment sets PYTHONDONTWRITEBYTECODE (they live in the project's own virtualenv).
    sys.dont_write_bytecode = False
    # A synth is a short process that makes many objects and few reference cycles: the cyclic
    # collector's passes cost about 8 % of it and free next to nothing (peak memory at 200
    # pipelines is the same without them).
    gc.disable()
    from imports.engine import EngineError, installed_engine

    try:
        installed_engine()  # CDK_ENGINE names an engine installed here, or nothing is done
    except EngineError as error:
        print(f"engine error: {error}", file=sys.stderr, flush=True)
        return CONFIG_ERROR_EXIT
    from imports.preload import start_preloading
    from imports.runtime import configure_jsii_runtime

    configure_jsii_runtime()
    preloaded = start_preloading()  # Node loads the assemblies while the config is validated
    from modules.config import ConfigError, load_config

    try:
        config = load_config()
    except ConfigError as error:
        for line in error.lines:  # every mistake, one line each
            print(f"config error: {line}", file=sys.stderr, flush=True)
        if not exiting:
            preloaded()  # return with Node up: jsii's exit hook stops it cleanly
        return CONFIG_ERROR_EXIT

    selected = os.environ.get(ENVIRONMENTS_ENV_VAR, "").strip()
    environments = [name.strip() for name in selected.split(",") if name.strip()] or None
    unknown = sorted(set(environments or []) - set(config.environments))
    if unknown:
        print(
            f"config error: {ENVIRONMENTS_ENV_VAR}: no environment {', '.join(unknown)} in "
            f"{config.source} (environments: {', '.join(config.environments)})",
            file=sys.stderr,
            flush=True,
        )
        if not exiting:
            preloaded()
        return CONFIG_ERROR_EXIT

    for notice in config.notices:  # what the synth changed from the file, once each
        print(f"config notice: {notice}", file=sys.stderr, flush=True)
    preloaded()
    from modules.stacks.app import build_app

    build_app(config, environments=environments).synth()
    return 0


def exit_now(status: int, *, exit_hooks: bool = True) -> NoReturn:
    """Leave without the interpreter's teardown: freeing the ~1,000 modules and the jsii objects
    of a synth takes about a fifth of its time, after everything is written. The exit hooks run
    first (jsii stops Node cleanly), then the standard streams are flushed. Without the hooks
    (a config error: nothing was built), a Node still starting exits by itself when its input
    closes with this process."""
    if exit_hooks:
        atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    status = main(exiting=True)
    exit_now(status, exit_hooks=status != CONFIG_ERROR_EXIT)
