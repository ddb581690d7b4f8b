"""The fast path to the provider (imports.aws + the lazy-exports hook) changes nothing but speed."""

from __future__ import annotations

import filecmp
import importlib
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

import imports.aws as aws
from imports.engine import installed_engine
from imports.preload import assembly_of
from imports.runtime import (
    LAZY_EXPORTS_SCRIPT,
    LAZY_PROVIDER_ENV_VAR,
    bundled_node,
    configure_jsii_runtime,
)
from tests.conftest import EXAMPLE_CONFIG, REPO

EAGER_APP = (
    "import sys; sys.path.insert(0, {repo!r});"
    "from imports.runtime import use_bundled_node; use_bundled_node();"
    # The plain, eager import: every Python module of the provider, and (since the runtime starts
    # here, before main.py could add the hook) every JavaScript module too.
    "import {provider};"
    "import main; sys.exit(main.main())"
)
FAST_APP_COUNTING_MODULES = (
    "import sys; sys.path.insert(0, {repo!r});"
    "import main; code = main.main();"
    "prefix = '{provider}.';"
    "loaded = {{m.split('.')[1] for m in sys.modules if m.startswith(prefix)}};"
    "print(len(loaded)); sys.exit(code)"
)


def _synth(tmp_path: Path, name: str, program: str) -> tuple[Path, str]:
    out = tmp_path / name
    env = {**os.environ, "CDKTF_OUTDIR": str(out), "PIPELINE_CONFIG": str(EXAMPLE_CONFIG)}
    env.pop("NODE_OPTIONS", None)  # the session's hook must not leak into the eager run
    result = subprocess.run(
        [sys.executable, "-c", program.format(repo=str(REPO), provider=aws.PROVIDER_PACKAGE)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return out, result.stdout


def _tree(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def fast_and_eager(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    tmp = tmp_path_factory.mktemp("fast-vs-eager")
    fast, printed = _synth(tmp, "fast", FAST_APP_COUNTING_MODULES)
    eager, _ = _synth(tmp, "eager", EAGER_APP)
    return fast, eager, printed


def test_fast_path_output_is_byte_identical_to_eager_import(
    fast_and_eager: tuple[Path, Path, str],
) -> None:
    fast, eager, _ = fast_and_eager
    files = _tree(fast)
    assert files == _tree(eager)
    assert any(f.name == "cdk.tf.json" for f in files)
    _, mismatch, errors = filecmp.cmpfiles(fast, eager, [str(f) for f in files], shallow=False)
    assert mismatch == [] and errors == []


def test_fast_path_loads_only_the_modules_the_app_uses(
    fast_and_eager: tuple[Path, Path, str],
) -> None:
    _, _, printed = fast_and_eager
    used = set(aws.CLASS_MODULES.values()) | {"_jsii"}
    assert int(printed.strip()) <= len(used) < 50  # of ~1,500


def test_works_when_the_provider_package_is_already_imported() -> None:
    # The eager app above imports the full package first and then goes through imports.aws;
    # in this process, the package module imports.aws registered is the one everybody sees.
    bucket_class = aws.S3Bucket
    s3_bucket = importlib.import_module(f"{aws.PROVIDER_PACKAGE}.s3_bucket")

    assert bucket_class is s3_bucket.S3Bucket


def test_unknown_class_names_the_place_to_add_it() -> None:
    with pytest.raises(AttributeError, match=r"add it to CLASS_MODULES in imports/aws\.py"):
        aws.__getattr__("NoSuchResource")


def test_provider_shape_change_fails_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(aws.CLASS_MODULES, "MovedResource", "module_that_was_renamed")
    monkeypatch.setitem(aws.CLASS_MODULES, "RenamedClass", "s3_bucket")
    with pytest.raises(aws.ProviderShapeError, match=r"module_that_was_renamed does not exist"):
        aws.__getattr__("MovedResource")
    named = re.escape(f"{aws.PROVIDER_DISTRIBUTION} {aws.provider_version()} ")
    assert aws.provider_version() != "not installed"
    with pytest.raises(aws.ProviderShapeError, match=f"{named}.*no class"):
        aws.__getattr__("RenamedClass")


def test_cdktf_get_cannot_overwrite_the_hand_written_imports() -> None:
    """`cdktf get` writes generated bindings into cdktf.json's `codeMakerOutput`: never imports/
    (hand-written: the fast path to the prebuilt provider), and somewhere git ignores."""
    output = json.loads((REPO / "cdktf.json").read_text())["codeMakerOutput"]
    assert (REPO / output).resolve() != (REPO / "imports").resolve()
    ignored = subprocess.run(["git", "check-ignore", "-q", f"{output}/x.py"], cwd=REPO, check=False)
    assert ignored.returncode == 0, f"{output}/ is not git-ignored"


def test_the_hook_makes_the_engines_provider_index_lazy(tmp_path: Path) -> None:
    """The selected engine's provider index.js, alone (none of the ~1,500 modules it requires
    beside it): with the hook it loads and exports every resource by name, each required on first
    use; without the hook it fails on its first require. Each engine's code generator writes
    another shape of index (imports/lazy_provider_exports.js): `make test-cdktn` runs this on
    CDK Terrain."""
    engine = installed_engine()
    assembly = assembly_of(engine.provider)
    assert assembly is not None
    with tarfile.open(assembly.tarball) as archive:
        for member in ("package/package.json", "package/lib/index.js"):
            archive.extract(member, tmp_path, filter="data")
    program = (
        f"const index = require({json.dumps(str(tmp_path / 'package/lib/index.js'))});"
        "console.log(Object.keys(index).length);"
    )
    node = str(bundled_node() or "node")
    env = {**os.environ, LAZY_PROVIDER_ENV_VAR: engine.provider_assembly}
    env["NODE_OPTIONS"] = f"--require={LAZY_EXPORTS_SCRIPT}"
    lazy = subprocess.run([node, "-e", program], env=env, capture_output=True, text=True)
    assert lazy.returncode == 0, lazy.stderr
    assert int(lazy.stdout) > 1000  # every resource's export, by name
    env.pop("NODE_OPTIONS")
    eager = subprocess.run([node, "-e", program], env=env, capture_output=True, text=True)
    assert eager.returncode != 0 and "Cannot find module" in eager.stderr


def test_the_runtime_tells_the_hook_the_engines_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook makes lazy only the package it is told: the selected engine's provider, by the
    npm name its assembly carries (a wrong name would leave every synth eager and the JSON the
    same, so no other test would see it)."""
    monkeypatch.delenv(LAZY_PROVIDER_ENV_VAR, raising=False)
    monkeypatch.setenv("NODE_OPTIONS", "")
    configure_jsii_runtime()
    assembly = assembly_of(installed_engine().provider)
    assert assembly is not None
    assert os.environ[LAZY_PROVIDER_ENV_VAR] == assembly.name
    assert os.environ["NODE_OPTIONS"].split() == [f"--require={LAZY_EXPORTS_SCRIPT}"]
