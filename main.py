"""The CDKTF app: read the config, then synthesize each environment's stacks (+ state bootstrap).

    python -O main.py                      # every environment in config/pipelines.yaml
    PIPELINE_CONFIG=other.yaml python main.py
    PIPELINE_ENVIRONMENTS=dev python main.py   # only these environments (no bootstrap stack)

``-O`` skips the provider bindings' runtime type checks (typeguard), about a third of the time
spent per resource; the test suite runs without it, so those checks still guard every code path.

The config is validated before the AWS provider is loaded and before any construct exists: a
mistake is reported in about a second, with exit status 2 and one line naming the file and the
field, and nothing is written. (The jsii runtime, Node with cdktf's assembly, starts in a thread
meanwhile: Node loads in its own process while Python validates.)
"""

from __future__ import annotations

import os
import sys

ENVIRONMENTS_ENV_VAR = "PIPELINE_ENVIRONMENTS"
CONFIG_ERROR_EXIT = 2


def main() -> int:
    # Startup time is most of a synth: keep bytecode caches of the dependencies even where the
    # environment sets PYTHONDONTWRITEBYTECODE (they live in the project's own virtualenv).
    sys.dont_write_bytecode = False
    from imports.runtime import configure_jsii_runtime, start_runtime_in_background

    configure_jsii_runtime()
    runtime_started = start_runtime_in_background()
    from modules.config import ConfigError, load_config

    try:
        config = load_config()
    except ConfigError as error:
        # Not waiting for the runtime: exiting stops it (the thread keeps what it raises).
        print(f"config error: {error}", file=sys.stderr)
        return CONFIG_ERROR_EXIT

    selected = os.environ.get(ENVIRONMENTS_ENV_VAR, "").strip()
    environments = [name.strip() for name in selected.split(",") if name.strip()] or None
    unknown = sorted(set(environments or []) - set(config.environments))
    if unknown:
        print(
            f"config error: {ENVIRONMENTS_ENV_VAR}: no environment {', '.join(unknown)} in "
            f"{config.source} (environments: {', '.join(config.environments)})",
            file=sys.stderr,
        )
        return CONFIG_ERROR_EXIT

    runtime_started()
    from modules.stack import build_app

    build_app(config, environments=environments).synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
