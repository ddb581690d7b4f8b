"""A hostile or broken config file is refused quickly, in one line, without a traceback: a YAML
"billion laughs" (aliases), nesting 10,000 deep, a 20 MB file, NUL bytes, invalid UTF-8. The app
exits 2 and writes nothing; the refusal itself takes milliseconds (a billion laughs took about
four minutes before aliases were refused).

Every document is the example fixture with the hostile part put where a real setting is (the
schedule payload, a description), generated here."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from modules.config import ConfigError, load_config
from modules.config import source as source_module
from modules.config.loading import MAX_CONFIG_BYTES
from modules.config.source import MAX_DEPTH
from tests.conftest import EXAMPLE_CONFIG, REPO
from tests.test_config_app import run_app

EXAMPLE = EXAMPLE_CONFIG.read_text()
SCHEDULE = "      expression: cron(0 2 * * ? *)\n"
DESCRIPTION = "Nightly churn propensity scores"


def _with_payload(lines: str) -> str:
    """The example with ``lines`` as churn's schedule payload (indented under it)."""
    assert SCHEDULE in EXAMPLE
    payload = "".join(f"        {line}\n" for line in lines.splitlines())
    return EXAMPLE.replace(SCHEDULE, f"{SCHEDULE}      payload:\n{payload}", 1)


def billion_laughs(levels: int = 8) -> str:
    """9 ** levels values (10^8 at 8 levels) written in a dozen lines."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]")
    return _with_payload("\n".join(lines))


def merge_key_laughs(levels: int = 8) -> str:
    """The same through merge keys: the constructor copies each aliased mapping's entries."""
    lines = ["m0: &m0 {x: 1}"]
    for level in range(1, levels + 1):
        lines.append(f"m{level}: &m{level} {{<<: [{', '.join([f'*m{level - 1}'] * 9)}]}}")
    return _with_payload("\n".join(lines))


def deep_sequence(depth: int) -> str:
    return _with_payload(f"deep: {'[' * depth}{']' * depth}")


def deep_mapping(depth: int) -> str:
    return _with_payload(f"deep: {'{a: ' * depth}1{'}' * depth}")


def _bytes(text: str, old: str, new: bytes) -> bytes:
    before, after = text.encode().split(old.encode(), 1)
    return before + new + after


HOSTILE: dict[str, tuple[bytes, str]] = {
    "billion-laughs": (billion_laughs().encode(), "aliases are not allowed"),
    "deep-flow-sequence": (deep_sequence(10_000).encode(), "nesting depth"),
    "deep-mapping": (deep_mapping(10_000).encode(), "nesting depth"),
    "nul-byte": (_bytes(EXAMPLE, DESCRIPTION, b"Nightly\x00churn"), "#x0000"),
    "invalid-utf-8": (_bytes(EXAMPLE, DESCRIPTION, b"Nightly \xff\xfe churn"), "not UTF-8"),
}


@pytest.fixture(scope="module")
def twenty_megabytes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example followed by 20 MB of valid YAML (a comment), written once."""
    path = tmp_path_factory.mktemp("big") / "big.yaml"
    with path.open("w") as out:
        out.write(EXAMPLE)
        for _ in range(20):
            out.write("# " + "x" * (1024 * 1024 - 3) + "\n")
    return path


def _written(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_bytes(HOSTILE[name][0])
    return path


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def out_dir(tmp_path: Path) -> Iterator[Path]:
    """An output directory holding a previous synth's file: it must stay as it is."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text('{"previous": "synth"}')
    before = _tree(out)
    yield out
    assert _tree(out) == before


@pytest.mark.parametrize("name", [*HOSTILE, "twenty-megabytes"])
def test_the_app_refuses_a_hostile_file_in_one_line(
    tmp_path: Path, out_dir: Path, twenty_megabytes: Path, name: str
) -> None:
    if name == "twenty-megabytes":
        config, expected = twenty_megabytes, f"at most {MAX_CONFIG_BYTES:,} bytes"
    else:
        config, expected = _written(tmp_path, name), HOSTILE[name][1]
    started = time.monotonic()
    # -O (PYTHONOPTIMIZE) as `make synth` runs the app.
    result = run_app(tmp_path, config, CDKTF_OUTDIR=str(out_dir), PYTHONOPTIMIZE="1")
    elapsed = time.monotonic() - started
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"config error: {config}")
    assert expected in line
    assert not (tmp_path / "cdktf.out").exists()
    # The whole app process (interpreter, imports, Node's start): seconds, not minutes.
    assert elapsed < 30, elapsed


def _refused(path: Path) -> tuple[list[str], float]:
    started = time.monotonic()
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    return [line.removeprefix(str(path)) for line in raised.value.lines], (
        time.monotonic() - started
    )


@pytest.fixture(params=["libyaml", "python"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both of PyYAML's loaders: the C one where installed, the pure-Python one otherwise."""
    if request.param == "python":
        monkeypatch.setattr(source_module, "_Loader", yaml.SafeLoader)
    return str(request.param)


@pytest.mark.parametrize(
    ("document", "first"), [(billion_laughs, "l1[0]"), (merge_key_laughs, "m1.'<<'[0]")]
)
def test_aliases_are_refused_in_well_under_a_second(
    tmp_path: Path, loader: str, document: Callable[[], str], first: str
) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_text(document())
    (line,), elapsed = _refused(path)
    anchor = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "0: &" in t)
    # The first alias, on its own line, and the anchor it repeats; the others counted. (The
    # document is refused before it is built: the pipeline is named by its index.)
    assert line.startswith(f":{anchor + 1}: pipelines[0].schedule.payload.{first}: the YAML ")
    alias = first[0] + "0"
    assert f"alias *{alias} repeats the value anchored on line {anchor} (and 71 more " in line
    assert "aliases are not allowed" in line
    assert elapsed < 1, elapsed


def test_a_single_alias_is_refused_too(tmp_path: Path) -> None:
    # Not only bombs: an alias is how an environment silently gets another's settings.
    path = tmp_path / "alias.yaml"
    text = EXAMPLE.replace("  dev:\n    allow_destroy", "  dev: &dev\n    allow_destroy", 1)
    path.write_text(text.replace("  prod:\n", "  prod: *dev\n  prod2:\n", 1))
    (line,), _ = _refused(path)
    dev = text.splitlines().index("  dev: &dev") + 1
    prod = path.read_text().splitlines().index("  prod: *dev") + 1
    assert line.startswith(
        f":{prod}: environments.prod: the YAML alias *dev repeats the value anchored on line "
        f"{dev}; aliases are not allowed"
    )


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 500, 10_000])
@pytest.mark.parametrize("document", [deep_sequence, deep_mapping])
def test_deep_nesting_is_refused_in_one_line(
    tmp_path: Path, loader: str, document: Callable[[int], str], depth: int
) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(document(depth))
    (line,), elapsed = _refused(path)
    assert "nest" in line  # ours (more than MAX_DEPTH levels) or libyaml's (1000)
    assert elapsed < 5, elapsed


@pytest.mark.parametrize("document", [deep_sequence, deep_mapping])
def test_nesting_up_to_the_bound_is_read(tmp_path: Path, document: Callable[[int], str]) -> None:
    # Payload at depth 5 (pipelines[0].schedule.payload.deep), its value nests MAX_DEPTH - 5.
    path = tmp_path / "deep.yaml"
    path.write_text(document(MAX_DEPTH - 5))
    assert "deep" in load_config(path).environments["dev"].pipelines[0].schedule.payload


def test_a_file_over_the_bound_is_refused_naming_its_size(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    padding = MAX_CONFIG_BYTES + 1 - len(EXAMPLE.encode())
    path.write_text(EXAMPLE + "#" * (padding - 1) + "\n")
    (line,), _ = _refused(path)
    assert line == (
        f": the file is {MAX_CONFIG_BYTES + 1:,} bytes; a config file may be at most "
        f"{MAX_CONFIG_BYTES:,} bytes (the benchmark's 200 pipelines are about 100 kB)"
    )
    path.write_text(EXAMPLE + "#" * (padding - 2) + "\n")  # exactly the bound: read
    assert load_config(path).project == "mlbatch"


@pytest.mark.parametrize(
    ("character", "code"), [(b"\x00", "#x0000"), (b"\x07", "#x0007"), (b"\x1b", "#x001b")]
)
def test_control_characters_are_refused_with_their_line(
    tmp_path: Path, loader: str, character: bytes, code: str
) -> None:
    path = tmp_path / "control.yaml"
    path.write_bytes(_bytes(EXAMPLE, DESCRIPTION, b"Nightly" + character + b"churn"))
    (line,), _ = _refused(path)
    number = next(i for i, t in enumerate(EXAMPLE.splitlines(), 1) if DESCRIPTION in t)
    assert line.startswith(f":{number}: not valid YAML: {code}: ")


def test_invalid_utf8_is_refused_with_its_line_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(EXAMPLE.replace(DESCRIPTION, "Nächtliche churn").encode("latin-1"))
    (line,), _ = _refused(path)
    number = next(i for i, t in enumerate(EXAMPLE.splitlines(), 1) if DESCRIPTION in t)
    assert line == f":{number}: not UTF-8 text (byte 0xe4); save the config as UTF-8"


def test_the_configuration_guide_states_the_bounds() -> None:
    guide = " ".join((REPO / "docs" / "configuration.md").read_text().split())
    assert f"at most {MAX_CONFIG_BYTES // 2**20} MiB, nested at most {MAX_DEPTH} levels" in guide
    assert "without YAML aliases" in guide
