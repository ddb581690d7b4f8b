"""Where the tools the tests, `make check` and `make bench` run are installed: the one place in
Python that names them. The Makefile builds each of them there (its targets say how); nothing here
installs anything.

- the Step Functions engine: LocalStack's, in a Python 3.13 virtualenv of its own
  (tools/sfn-engine/.venv, from tools/sfn-engine/Pipfile.lock), driven by
  tools/sfn-engine/driver.py;
- checkov, in a virtualenv of its own (tools/checkov/.venv, from tools/checkov/Pipfile.lock);
- the Node tools of package-lock.json (`npm ci` into node_modules/): asl-validator, the `jsonata`
  module it brings, and the cdktf CLI;
- each CDK engine's Python (imports/engine.py): cdktf's in .venv, CDK Terrain's in its own
  virtualenv (tools/cdktn/.venv, from tools/cdktn/Pipfile.lock).

actionlint (.tools/actionlint-<version>/) is run by `make lint` only, so it is not named here.
"""

from __future__ import annotations

from pathlib import Path

from imports.engine import ENGINES

REPO = Path(__file__).resolve().parents[2]

ENGINE_DIR = REPO / "tools" / "sfn-engine"
ENGINE_PYTHON = ENGINE_DIR / ".venv" / "bin" / "python"

CHECKOV = REPO / "tools" / "checkov" / ".venv" / "bin" / "checkov"

# Relative to a checkout's root: `make bench` runs the cdktf CLI in each checkout it compares.
NODE_MODULES = Path("node_modules")
ASL_VALIDATOR = REPO / NODE_MODULES / ".bin" / "asl-validator"
JSONATA = REPO / NODE_MODULES / "jsonata"
CDKTF_CLI = NODE_MODULES / "cdktf-cli" / "bundle" / "bin" / "cdktf"  # relative too

# The interpreter of each engine's virtualenv, by CDK_ENGINE value (run it with that CDK_ENGINE).
CDK_PYTHONS = {
    name: REPO / engine.environment / "bin" / "python" for name, engine in ENGINES.items()
}
