"""imports/preload.py: the app's assemblies load in Node while the config is validated, and the
thread doing it imports nothing the main thread could be importing at the same time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from imports.engine import installed_engine
from imports.preload import Assembly, _load, assembly_of, packages
from tests.conftest import REPO

PRELOAD_IN_A_FRESH_PROCESS = """
import json, sys
from imports.runtime import configure_jsii_runtime
configure_jsii_runtime()
from imports.preload import start_preloading
before = set(sys.modules)
start_preloading()()
import jsii
loaded = jsii._runtime.kernel.provider._process._process is not None
print(json.dumps({"imported": sorted(set(sys.modules) - before), "node": loaded}))
"""


def test_the_thread_imports_no_module_and_starts_node() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PRELOAD_IN_A_FRESH_PROCESS],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    assert seen == {"imported": [], "node": True}


def test_every_package_the_app_imports_names_its_assembly() -> None:
    engine = installed_engine()
    found = {package: assembly_of(package) for package in packages()}
    names = {package: a.name if a else None for package, a in found.items()}
    # A provider release whose generated loader changed shape is not preloaded: this says so.
    # The provider's assembly is the npm package the lazy-exports hook is told to make lazy.
    assert names == {
        "constructs": "constructs",
        engine.core: engine.core,
        engine.provider: engine.provider_assembly,
    }
    for assembly in found.values():
        assert assembly is not None and assembly.tarball.is_file()
        assert assembly.tarball.name.endswith(f"@{assembly.version}.jsii.tgz")


def test_a_failed_preload_is_left_to_the_import_to_report(tmp_path: Path) -> None:
    _load([Assembly("not-an-assembly", "1.0.0", tmp_path / "missing.jsii.tgz")])  # no raise
    assert assembly_of("no_such_package_anywhere") is None
    assert assembly_of("yaml") is None  # a package without a jsii loader
