"""The engine seam (imports/engine.py, imports/core.py, imports/aws.py) and the two engines'
environments: only imports/ names an engine; the engine is named, never guessed; the CDK Terrain
environment is the default one with the engine swapped; each engine's bindings bring the AWS
provider imports/engine.py says."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from imports.engine import ENGINE_ENV_VAR, ENGINES, EngineError, installed_engine, selected_engine
from imports.preload import assembly_of
from tests.conftest import EXAMPLE_CONFIG, REPO
from tools.cdktn import pipfile

ENGINE_MODULES = {name for e in ENGINES.values() for name in (e.core, e.provider)}
# Code run as a string (`python -c`, bench rows): an import statement inside a string constant.
IMPORT_IN_CODE = re.compile(
    r"(?:^|;|\n)\s*(?:import|from)\s+(" + "|".join(sorted(ENGINE_MODULES)) + r")\b"
)
# The team's own checks are theirs (they should use imports.core too: docs/adopting.md); this
# file holds samples of what the scan finds.
NOT_SCANNED = ("imports/", "checks/", "tests/test_engine_setup.py")


def _python_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [name for name in listed if not name.startswith(NOT_SCANNED)]


def engine_imports(source: str) -> list[str]:
    """Every place a module imports an engine's package: import statements, import_module /
    __import__ calls with a literal name, and imports inside code strings."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            function = node.func
            called = function.attr if isinstance(function, ast.Attribute) else None
            called = function.id if isinstance(function, ast.Name) else called
            if called in {"import_module", "__import__"} and isinstance(node.args[0].value, str):
                names = [node.args[0].value]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = IMPORT_IN_CODE.findall(node.value)
        found += [
            f"line {node.lineno}: {name}" for name in names if name.split(".")[0] in ENGINE_MODULES
        ]
    return found


def test_only_imports_names_an_engine() -> None:
    files = _python_files()
    assert "main.py" in files and "modules/stacks/app.py" in files and "tests/conftest.py" in files
    offenders = {
        name: found
        for name in files
        if (found := engine_imports((REPO / name).read_text(encoding="utf-8")))
    }
    assert offenders == {}, "import them from imports.core / imports.aws instead"


def test_the_scan_sees_every_way_to_import_an_engine() -> None:
    source = (
        "import cdktf\nfrom cdktn import App\nimport cdktf_cdktf_provider_aws.s3_bucket\n"
        "importlib.import_module('cdktn_provider_aws')\n"
        "CODE = 'import sys; import cdktf; App()'\n"
        "from imports.core import App\nimport constructs\nTEXT = 'written from cdktf.json'\n"
    )
    assert [line.split(": ")[1] for line in engine_imports(source)] == [
        "cdktf",
        "cdktn",
        "cdktf_cdktf_provider_aws.s3_bucket",
        "cdktn_provider_aws",
        "cdktf",
    ]


def test_the_engine_is_cdktf_unless_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENGINE_ENV_VAR, raising=False)
    assert selected_engine() is ENGINES["cdktf"]
    monkeypatch.setenv(ENGINE_ENV_VAR, "cdktn")
    assert selected_engine() is ENGINES["cdktn"]
    monkeypatch.setenv(ENGINE_ENV_VAR, "terraform-cdk")
    with pytest.raises(EngineError, match=r"no such engine \(engines: cdktf, cdktn\)"):
        selected_engine()


def test_the_other_engine_is_refused_here_not_swapped_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An environment that lacks the named engine says so and writes nothing: it does not fall
    back to the engine it has (the trial's trap: a silently reinstalled cdktf)."""
    missing = [e for e in ENGINES.values() if importlib.util.find_spec(e.core) is None]
    assert len(missing) == 1, "each engine's virtualenv holds that engine only"
    env = {
        **os.environ,
        ENGINE_ENV_VAR: missing[0].name,
        "PIPELINE_CONFIG": str(EXAMPLE_CONFIG),
        "CDKTF_OUTDIR": str(tmp_path / "out"),
    }
    result = subprocess.run(
        [sys.executable, "-O", "main.py"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"engine error: {ENGINE_ENV_VAR}={missing[0].name}, but ")
    assert f"runs in {missing[0].environment}" in result.stderr
    assert result.stderr.count("\n") == 1 and not (tmp_path / "out").exists()
    monkeypatch.setenv(ENGINE_ENV_VAR, missing[0].name)
    with pytest.raises(EngineError, match="is not installed"):
        installed_engine()


def test_the_cdktn_pipfile_is_written_from_the_root_one() -> None:
    assert pipfile.PIPFILE.read_text() == pipfile.expected(), (
        "tools/cdktn/Pipfile is not what the root Pipfile and Pipfile.lock make: `make cdktn-lock`"
    )


def _locked(lock: Path) -> dict[str, str]:
    data = json.loads(lock.read_text())
    sections = (data["default"], data["develop"])
    return {name: entry["version"] for section in sections for name, entry in section.items()}


def test_the_cdktn_lock_differs_from_the_root_lock_in_the_engine_only() -> None:
    """So a parity difference is the engine's, not another package's."""
    root, cdktn = _locked(REPO / "Pipfile.lock"), _locked(REPO / "tools/cdktn/Pipfile.lock")
    differing = {name for name in root.keys() | cdktn.keys() if root.get(name) != cdktn.get(name)}
    engines = {name for e in ENGINES.values() for name in (e.core, e.provider_distribution)}
    # constructs: cdktn needs < 10.8, the root lock has 10.8.1 (docs/development.md).
    assert differing == engines | {"constructs"}
    assert cdktn["constructs"].startswith("==10.7.")


def test_the_bindings_bring_the_aws_provider_the_engine_names() -> None:
    """The generated package records the provider it was generated from (`cdktf.provider`, and
    `cdktn.provider` on CDK Terrain): imports/engine.py must say the same."""
    engine = installed_engine()
    assembly = assembly_of(engine.provider)
    assert assembly is not None and assembly.name == engine.provider_assembly
    with tarfile.open(assembly.tarball) as archive:
        member = archive.extractfile("package/package.json")
        assert member is not None
        manifest = json.load(member)
    assert manifest["name"] == engine.provider_assembly
    assert manifest[engine.core]["provider"] == {
        "name": "registry.terraform.io/hashicorp/aws",
        "version": engine.aws_provider,
    }
