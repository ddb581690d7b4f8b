"""Start Node (the jsii runtime) and load the app's JavaScript assemblies in a thread, while the
main thread validates the config: Node works in its own process, so the two overlap.

``start_preloading()`` returns a function that waits for the thread. After it, importing the
engine (imports/engine.py), constructs and the provider finds their assemblies loaded (the jsii
kernel answers a second load of the same assembly from what it has) and skips that wait.

The thread imports no Python module (everything it runs is imported before it starts; a test
checks ``sys.modules`` is unchanged by it), so it cannot race the main thread's imports. Each
assembly's name, version and file are read from the generated ``<package>/_jsii/__init__.py``
that loads it (the file name does not carry the npm scope); a package of another shape is not
preloaded, and importing it loads it as usual. A failure in the thread is dropped: the same
failure then surfaces, with its usual message, when the package is imported.

Needs ``configure_jsii_runtime()`` first (imports/runtime.py): Node starts with its settings.
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import jsii  # imported here, in the main thread: the thread only calls it

from imports.engine import selected_engine

_LOAD_CALL = re.compile(r'JSIIAssembly\.load\(\s*"([^"]+)",\s*"([^"]+)",\s*[^,]+,\s*"([^"]+)"\s*\)')


class Assembly(NamedTuple):
    name: str
    version: str
    tarball: Path


def assembly_of(package: str) -> Assembly | None:
    """The assembly ``package`` loads, read from its generated ``_jsii/__init__.py`` (not run)."""
    spec = importlib.util.find_spec(package)  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "_jsii"
    try:
        found = _LOAD_CALL.search((folder / "__init__.py").read_text())
    except OSError:
        return None
    if found is None or not (folder / found.group(3)).is_file():
        return None
    return Assembly(found.group(1), found.group(2), folder / found.group(3))


def packages() -> tuple[str, ...]:
    """The Python packages whose assemblies the selected engine's app loads, in dependency order
    (the kernel loads an assembly's dependencies first)."""
    engine = selected_engine()
    return ("constructs", engine.core, engine.provider)


def _load(assemblies: list[Assembly]) -> None:
    try:
        for assembly in assemblies:
            jsii.load(assembly.name, assembly.version, str(assembly.tarball))
    except Exception:  # the import that needs it reports it (see the docstring)
        return


def start_preloading() -> Callable[[], None]:
    """Start the thread; the returned function waits for it (call it before importing the
    engine)."""
    assemblies = [a for a in map(assembly_of, packages()) if a is not None]
    thread = threading.Thread(target=_load, args=(assemblies,), name="jsii-preload", daemon=True)
    thread.start()
    return thread.join
