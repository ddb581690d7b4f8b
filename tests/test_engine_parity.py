"""Both CDK engines (imports/engine.py) synthesize every fixture to the same Terraform: each
fixture runs through the app command (`python -O main.py`, as `make synth` runs it) on cdktf in
.venv and on CDK Terrain in tools/cdktn/.venv, and every file they write is compared, JSON as
parsed JSON. The only differences allowed are the ones listed below, each with its reason: a new
one fails the test, naming the file, the path and both values, until it is listed here.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from imports.engine import ENGINES
from tests.conftest import CONFIGS, FIXTURES, REPO
from tests.support.environments import CDK_PYTHONS

FIXTURE_CONFIGS = {**CONFIGS, "team": FIXTURES / "team.yaml"}

Path_ = tuple[str, ...]
# Every difference allowed between the engines' output, by file (a stack's cdk.tf.json, or the
# app's manifest.json) and JSON path. Nothing about a resource, an output, a backend or a name.
KNOWN_DIFFERENCES: dict[str, dict[Path_, str]] = {
    "cdk.tf.json": {
        ("//", "metadata", "version"): "the engine's own version (cdktf 0.21.0, cdktn 0.24.0)",
        ("terraform", "required_providers", "aws", "source"): (
            "the same provider: cdktf writes `aws`, Terraform's short form of `hashicorp/aws`"
        ),
        ("terraform", "required_providers", "aws", "version"): (
            "the AWS provider each engine's bindings are generated from (imports/engine.py)"
        ),
    },
    "manifest.json": {("version",): "the engine's own version"},
}


def differences(left: Any, right: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any, Any]]:
    """Every place two parsed JSON documents differ: (path, left value, right value)."""
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(left.keys() | right.keys()):
            yield from differences(left.get(key), right.get(key), (*path, key))
    elif isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            yield from differences(a, b, (*path, str(index)))
    elif left != right or type(left) is not type(right):
        yield path, left, right


def _files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Each fixture's output directory on each engine: {(fixture, engine): outdir}. The two
    engines of a fixture run side by side."""
    tmp = tmp_path_factory.mktemp("engines")  # the app makes its outdir, not the parents
    out: dict[tuple[str, str], Path] = {}
    for fixture, config in FIXTURE_CONFIGS.items():
        running = {}
        for engine, python in CDK_PYTHONS.items():
            assert python.exists(), f"no {engine} virtualenv at {python}: `make test` builds it"
            outdir = out[fixture, engine] = tmp / f"{fixture}-{engine}"
            env = {
                **os.environ,
                "CDK_ENGINE": engine,  # named, never guessed from the virtualenv
                "PIPELINE_CONFIG": str(config),
                "CDKTF_OUTDIR": str(outdir),
            }
            command = [str(python), "-O", "main.py"]
            running[engine] = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        for engine, process in running.items():
            _, stderr = process.communicate(timeout=600)
            assert process.returncode == 0, f"{fixture} on {engine}: {stderr.decode()}"
    return out


@pytest.mark.parametrize("fixture", sorted(FIXTURE_CONFIGS))
def test_every_fixture_is_the_same_terraform_on_both_engines(
    synthesized: dict[tuple[str, str], Path], fixture: str
) -> None:
    cdktf, cdktn = _files(synthesized[fixture, "cdktf"]), _files(synthesized[fixture, "cdktn"])
    assert list(cdktf) == list(cdktn), "the engines wrote different files"
    assert sum(name.endswith("cdk.tf.json") for name in cdktf) >= 2
    unexpected = []
    for name, path in cdktf.items():
        if not name.endswith(".json"):
            assert path.read_bytes() == cdktn[name].read_bytes(), name
            continue
        allowed = KNOWN_DIFFERENCES.get(Path(name).name, {})
        left, right = json.loads(path.read_text()), json.loads(cdktn[name].read_text())
        unexpected += [
            f"{name}: {'.'.join(where)}: cdktf {a!r}, cdktn {b!r}"
            for where, a, b in differences(left, right)
            if where not in allowed
        ]
    assert not unexpected, "differences not in KNOWN_DIFFERENCES:\n" + "\n".join(unexpected[:20])


@pytest.mark.parametrize("engine", sorted(ENGINES))
def test_each_engine_pins_the_aws_provider_it_names(
    synthesized: dict[tuple[str, str], Path], engine: str
) -> None:
    """The provider version is one visible choice: imports/engine.py names the one each engine's
    bindings bring, and every stack of every fixture requires exactly that version."""
    required = {
        json.loads(path.read_text())["terraform"]["required_providers"]["aws"]["version"]
        for fixture in FIXTURE_CONFIGS
        for name, path in _files(synthesized[fixture, engine]).items()
        if name.endswith("cdk.tf.json")
    }
    assert required == {ENGINES[engine].aws_provider}


def test_the_comparison_sees_every_kind_of_difference() -> None:
    left = {"a": [1, {"b": "x"}], "c": {}, "d": 1}
    right = {"a": [1, {"b": "y"}], "c": {"e": None}, "d": 1.0}
    assert [where for where, _, _ in differences(left, right)] == [("a", "1", "b"), ("d",)]
    assert list(differences([1, 2], [1])) == [((), [1, 2], [1])]
    assert list(differences({"k": 1}, {})) == [(("k",), 1, None)]
