"""Benchmark: how fast and how lean is a synth? (`make bench`)

Every row is a command run as a fresh process from the root of a source tree; the rows are
measured side by side in one run, round by round (each round runs every row once, after one
warm-up round for bytecode caches, the jsii package cache and the OS file cache), so that a busy
machine slows all of them alike. Each row reports its median wall time, its ratio to the floor, its
median CPU time (user + system of the process and its children: what load disturbs least) and its
peak memory (Python + its Node child, sampled from the process tree, max over runs).

The rows (``ROWS``; add one there):

1. the floor: an empty cdktf app (no stack) on the same interpreter and Node as the app;
2. config validation alone (``load_config``) of the shipped config and of the all-features fixture;
3. the shipped config and the all-features fixture synthesized through the app command
   (``python -O main.py``);
4. the same app with the provider loaded the obvious way (an eager import of the provider package,
   which also starts the runtime without the lazy-exports hook);
5. how synth time grows with the number of pipelines (generated configs with 1, 10 and 50
   pipelines), as time per added pipeline; and the 50 pipelines with ``transform.shards`` on every
   one (``SHARDS``: each run a Distributed Map), as a ratio to the unsharded 50, with its
   resources per stack (shards add none) and its largest state machine definition beside the
   unsharded one's;
6. the per-pipeline layout (the default) at 200 pipelines against the one-stack layout of the same
   config, and the size of its stacks: base stack resources at 1, 50 and 200 pipelines (must not
   grow), the largest pipeline stack (at most 30 resources);
7. `cdktf synth` through the pinned cdktf CLI (the root package.json) against the app command,
   with the Terraform JSON they produce compared for equality;
8. the other engine, CDK Terrain (``CDK_ENGINE=cdktn`` in tools/cdktn/.venv): its floor, the
   shipped config and the all-features fixture through the app command, beside cdktf's rows, and
   each engine's install size (its core and provider packages, and its whole virtualenv).

``--baseline DIR`` runs every row also in another checkout (for example a ``git worktree`` of
main), interleaved with this one, and adds its wall and CPU times and the ratios of this tree's to
them: a before/after comparison measured under the same load. Both trees read the same config
files.

Usage: .venv/bin/python -m bench.run [--runs N] [--skip-cli] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import copy
import filecmp
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import yaml

from imports.engine import DEFAULT_ENGINE, ENGINE_ENV_VAR, ENGINES
from tests.support.environments import CDK_PYTHONS
from tests.support.environments import CDKTF_CLI as CLI
from tools.synth import read_stacks, stack_files

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "config" / "pipelines.yaml"
ALL_FEATURES = REPO / "tests" / "fixtures" / "all-features.yaml"
PYTHON = "{python}"  # replaced by this interpreter in a row's command

# Commands run with the tree as working directory, so `-c` code imports that tree's modules.
FLOOR_APP = (
    "from imports.runtime import use_bundled_node; use_bundled_node();"
    "from imports.core import App; App().synth()"
)
VALIDATE = "from modules.config import load_config; load_config()"
EAGER_APP = (
    "import sys; sys.dont_write_bytecode = False;"
    "from imports.runtime import use_bundled_node; use_bundled_node();"
    f"import {ENGINES[DEFAULT_ENGINE].provider};"
    "import main; sys.exit(main.main())"
)
APP = (PYTHON, "-O", "main.py")  # the app command of cdktf.json and `make synth`
CDKTN: dict[str, Any] = {"every_tree": False, "engine": "cdktn"}
# transform.shards of the sharded row (modules/config/shards.py): every run a Distributed Map.
SHARDS = {"files_per_job": 100, "max_parallel_jobs": 10, "tolerated_failed_shards_percent": 5}


@dataclass(frozen=True)
class Row:
    """One row of the table: a command (``PYTHON`` stands for the interpreter of its engine's
    virtualenv: this one for cdktf), the config it reads ($PIPELINE_CONFIG; ``None``: none set),
    the CDK engine it runs on, and whether it runs in every tree or only here (the floor measures
    cdktf itself, which both trees share; a tree from before the engine seam has no cdktn)."""

    key: str
    label: str
    command: tuple[str, ...]
    config: Path | None = None
    few_runs: bool = False  # slow rows run half as often
    env: tuple[tuple[str, str], ...] = ()
    every_tree: bool = True
    engine: str = DEFAULT_ENGINE


class CommandFailed(Exception):
    pass


@dataclass
class Measured:
    wall: list[float]
    cpu: list[float]
    peak_mb: float = 0.0

    def median_wall(self) -> float:
        return statistics.median(self.wall)

    def median_cpu(self) -> float:
        return statistics.median(self.cpu)


def measure(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (the process and the children it waited for) and peak resident
    memory (MB) of a command and all its descendants."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    process = psutil.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    peak = 0
    while process.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        error = process.stderr.read().decode()
        raise CommandFailed(f"{' '.join(command)} (in {cwd}) failed:\n{error}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, peak / 1e6


def scaled_config(
    pipelines: int, path: Path, layout: str = "per-pipeline", shards: bool = False
) -> Path:
    """The shipped config reduced to its dev environment, with N copies of its first pipeline;
    with ``shards``, each copy's transform split by ``SHARDS`` (a pipeline with delivery
    tolerates no failed shard: the config refuses it)."""
    raw: dict[str, Any] = yaml.safe_load(SHIPPED.read_text())
    template = raw["pipelines"][0]
    raw["pipelines"] = []
    for index in range(pipelines):
        pipeline = copy.deepcopy(template)
        pipeline["name"] = f"p{index:03d}"
        pipeline["model"]["artifact_key"] = f"p{index:03d}/model.tar.gz"
        if shards:
            split = pipeline["transform"]["shards"] = dict(SHARDS)
            if pipeline.get("delivery"):
                split["tolerated_failed_shards_percent"] = 0
        raw["pipelines"].append(pipeline)
    dev = raw["environments"]["dev"]
    dev.pop("pipelines", None)
    dev["layout"] = layout
    raw["environments"] = {"dev": dev}
    path.write_text(yaml.safe_dump(raw))
    return path


def rows(tmp: Path, skip_cli: bool) -> list[Row]:
    """Every row of the table, in the order printed: a new row is one more entry."""
    cli_env = (("CHECKPOINT_DISABLE", "1"), ("CI", "true"))
    table = [
        Row("floor", "floor: empty cdktf app", (PYTHON, "-O", "-c", FLOOR_APP), every_tree=False),
        Row(
            "validate",
            "config validation: shipped config",
            (PYTHON, "-O", "-c", VALIDATE),
            SHIPPED,
        ),
        Row(
            "validate-all",
            "config validation: all-features fixture",
            (PYTHON, "-O", "-c", VALIDATE),
            ALL_FEATURES,
        ),
        Row("shipped", "shipped config via app command (fast path)", APP, SHIPPED),
        Row("all-features", "all-features fixture via app command", APP, ALL_FEATURES),
        Row(
            "eager",
            "shipped config, provider imported eagerly",
            (PYTHON, "-O", "-c", EAGER_APP),
            SHIPPED,
            few_runs=True,
        ),
        *(
            Row(f"p{n}", f"{n} pipeline(s), dev only", APP, scaled_config(n, tmp / f"p{n}.yaml"))
            for n in (1, 10, 50)
        ),
        Row(
            "p50-shards",
            "50 pipelines, `transform.shards` on every one",
            APP,
            scaled_config(50, tmp / "p50-shards.yaml", shards=True),
        ),
        Row(
            "single-200",
            "200 pipelines, one stack (`layout: single`)",
            APP,
            scaled_config(200, tmp / "p200-single.yaml", "single"),
        ),
        Row(
            "p200",
            "200 pipelines, per-pipeline stacks (default)",
            APP,
            scaled_config(200, tmp / "p200.yaml"),
        ),
        # `make check`'s own work (its installs excluded): every gate on the shipped config.
        Row("check", "`make check`, shipped config", (PYTHON, "-m", "tools.check"), SHIPPED, True),
        # The same app on CDK Terrain, beside cdktf's rows above.
        Row(
            "floor-cdktn",
            "cdktn: floor, empty app",
            (PYTHON, "-O", "-c", FLOOR_APP),
            every_tree=False,
            engine="cdktn",
        ),
        Row("shipped-cdktn", "cdktn: shipped config via app command", APP, SHIPPED, **CDKTN),
        Row(
            "all-features-cdktn",
            "cdktn: all-features fixture via app command",
            APP,
            ALL_FEATURES,
            **CDKTN,
        ),
    ]
    if not skip_cli:
        # The CLI runs on the machine's Node: its native terminal module ships prebuilt for
        # Node 20. The app it starts still runs jsii on the virtualenv's Node 24.
        command = ("node", str(CLI), "synth", "--output", "{outdir}")
        table.append(
            Row("cli", "`cdktf synth` (cdktf-cli 0.21.0)", command, SHIPPED, True, cli_env)
        )
    return table


def run_row(row: Row, tree: Path, outdir: Path) -> tuple[float, float, float]:
    env = {**os.environ, "CDKTF_OUTDIR": str(outdir), **dict(row.env)}
    env.pop("NODE_OPTIONS", None)
    env.pop("PIPELINE_CONFIG", None)
    env[ENGINE_ENV_VAR] = row.engine  # named for every row, never left to the environment
    if row.config is not None:
        env["PIPELINE_CONFIG"] = str(row.config)
    python = sys.executable if row.engine == DEFAULT_ENGINE else str(CDK_PYTHONS[row.engine])
    command = [
        part.replace(PYTHON, python).replace("{outdir}", str(outdir)) for part in row.command
    ]
    return measure(command, env, tree)


def measure_all(
    table: list[Row], trees: dict[str, Path], runs: int, tmp: Path
) -> dict[tuple[str, str], Measured]:
    """Each row in each tree, round by round: one warm-up round, then ``runs`` measured ones. A
    row the baseline cannot run (a command it does not have yet) is left empty there."""
    results: dict[tuple[str, str], Measured] = {}
    missing: set[tuple[str, str]] = set()
    for tag in trees:
        (tmp / tag).mkdir()
    for round_number in range(runs + 1):
        for row in table:
            if row.few_runs and round_number > max(1, runs // 2):
                continue
            for tag, tree in trees.items():
                if (tag != "this" and not row.every_tree) or (tag, row.key) in missing:
                    continue
                try:
                    wall, cpu, peak = run_row(row, tree, tmp / tag / row.key)
                except CommandFailed as failure:
                    if tag == "this":
                        raise SystemExit(str(failure)) from None
                    missing.add((tag, row.key))
                    continue
                if round_number == 0:
                    continue  # warm-up
                measured = results.setdefault((tag, row.key), Measured([], []))
                measured.wall.append(wall)
                measured.cpu.append(cpu)
                measured.peak_mb = max(measured.peak_mb, peak)
    return results


def resource_counts(outdir: Path) -> dict[str, int]:
    """Resources per synthesized stack."""
    return {
        name: sum(len(instances) for instances in document.get("resource", {}).values())
        for name, document in read_stacks(outdir).items()
    }


def largest_pipeline_stack(outdir: Path) -> int:
    """Resources of the largest pipeline stack (``mlbatch-dev-p000``, ...) of a scaled config."""
    return max(
        count
        for name, count in resource_counts(outdir).items()
        if name.removeprefix("mlbatch-dev-")[:1] == "p"
    )


def largest_definition_kb(outdir: Path) -> float:
    """KB of the largest state machine definition (as synthesized) over an output's stacks."""
    return max(
        len(machine["definition"].encode()) / 1024
        for document in read_stacks(outdir).values()
        for machine in document.get("resource", {}).get("aws_sfn_state_machine", {}).values()
    )


def same_stacks(left: Path, right: Path) -> bool:
    left_files, right_files = stack_files(left), stack_files(right)
    if list(left_files) != list(right_files):
        return False
    return all(filecmp.cmp(left_files[s], right_files[s], False) for s in left_files)


def _megabytes(top: Path) -> float:
    """Disk space (as `du` counts it: ~1,500 small modules take a block each) of the files
    installed under ``top``: not the bytecode caches, which grow with what has been imported
    (the eager row compiles all the provider's modules), and no symbolic link followed below it."""
    installed = (
        (Path(folder) / name).lstat().st_blocks * 512
        for folder, _, names in os.walk(top.resolve())
        if "__pycache__" not in Path(folder).parts
        for name in names
    )
    return sum(installed) / 1e6


def install_sizes() -> dict[str, tuple[float, float]]:
    """Per engine: MB of its core and provider packages, and of its whole virtualenv."""
    sizes = {}
    for name, engine in ENGINES.items():
        venv = (REPO / engine.environment).resolve()
        site = next(venv.glob("lib/python*/site-packages"))
        packages = _megabytes(site / engine.core) + _megabytes(site / engine.provider)
        sizes[name] = (packages, _megabytes(venv))
    return sizes


def notes(out: Path, results: dict[tuple[str, str], Measured]) -> dict[str, str]:
    """What a row says besides its time: equal JSON, stack and resource counts."""
    wall = {key: m.median_wall() for (tag, key), m in results.items() if tag == "this"}
    peak = {key: m.peak_mb for (tag, key), m in results.items() if tag == "this"}
    said = {
        "eager": f"{wall['eager'] / wall['shipped']:.1f}x the fast path; "
        f"JSON identical: {same_stacks(out / 'shipped', out / 'eager')}",
        "single-200": f"1 state of {resource_counts(out / 'single-200')['mlbatch-dev']} resources",
        "p50-shards": f"{wall['p50-shards'] / wall['p50']:.2f}x the unsharded 50",
        "p200": f"{wall['p200'] / wall['single-200']:.2f}x the one-stack synth; "
        f"{len(resource_counts(out / 'p200'))} stacks",
    }
    for key, cdktf_key in (("floor-cdktn", "floor"), ("shipped-cdktn", "shipped")):
        said[key] = (
            f"{wall[key] / wall[cdktf_key]:.2f}x cdktf's time, "
            f"{peak[key] / peak[cdktf_key]:.2f}x its peak memory"
        )
    said["all-features-cdktn"] = f"{wall['all-features-cdktn'] / wall['all-features']:.2f}x cdktf's"
    if "cli" in wall:
        said["cli"] = (
            f"+{wall['cli'] - wall['shipped']:.2f} s over the app command; "
            f"JSON identical: {same_stacks(out / 'cli', out / 'shipped')}"
        )
    return said


def render(
    table: list[Row], results: dict[tuple[str, str], Measured], tmp: Path, runs: int
) -> list[str]:
    baseline = any(tag == "before" for tag, _ in results)
    floor = results[("this", "floor")].median_wall()
    said = notes(tmp / "this", results)
    before_head = (
        f" {'before':>9} | {'/ before':>8} | {'CPU before':>10} | {'/ before':>8} |"
        if baseline
        else ""
    )
    before_rule = f"{'-' * 11}|{'-' * 10}|{'-' * 12}|{'-' * 10}|" if baseline else ""
    lines = [
        f"Benchmark on {os.cpu_count()} cores, median of {runs} runs, rows side by side "
        f"(peak memory: max over runs, Python + Node)",
        "",
        f"| {'what':<52} | {'wall':>9} | {'x floor':>7} | {'CPU':>9} | {'peak mem':>11} |"
        f"{before_head} note |",
        f"|{'-' * 54}|{'-' * 11}|{'-' * 9}|{'-' * 11}|{'-' * 13}|{before_rule}------|",
    ]
    blank = f" {'':9} | {'':8} | {'':10} | {'':8} |" if baseline else ""
    for row in table:
        this = results[("this", row.key)]
        wall = this.median_wall()
        before = ""
        if baseline:
            previous = results.get(("before", row.key))
            before = (
                f" {previous.median_wall():7.2f} s | {wall / previous.median_wall():7.2f}x | "
                f"{previous.median_cpu():8.2f} s | "
                f"{this.median_cpu() / previous.median_cpu():7.2f}x |"
                if previous
                else blank
            )
        lines.append(
            f"| {row.label:<52} | {wall:7.2f} s | {wall / floor:6.2f}x | "
            f"{this.median_cpu():7.2f} s | {this.peak_mb:8.0f} MB |{before} "
            f"{said.get(row.key, '')} |"
        )
    wall_of = {key: m.median_wall() for (tag, key), m in results.items() if tag == "this"}
    per_pipeline = (wall_of["p50"] - wall_of["p1"]) / 49
    lines.append(
        f"| {'per added pipeline':<52} | {per_pipeline * 1000:6.1f} ms | {'':7} | {'':9} | "
        f"{'':11} |{blank} 50 pipelines = {wall_of['p50'] / wall_of['p1']:.2f}x one |"
    )
    out = tmp / "this"
    base_sizes = {n: resource_counts(out / f"p{n}")["mlbatch-dev"] for n in (1, 50, 200)}
    largest = max(largest_pipeline_stack(out / f"p{n}") for n in (1, 50, 200))
    sizes = ", ".join(f"{n}: {c}" for n, c in base_sizes.items())
    sharded_sizes = (
        f"base stack {resource_counts(out / 'p50-shards')['mlbatch-dev']}, "
        f"largest pipeline stack {largest_pipeline_stack(out / 'p50-shards')}"
    )
    definitions = (
        f"{largest_definition_kb(out / 'p50'):.1f} KB unsharded, "
        f"{largest_definition_kb(out / 'p50-shards'):.1f} KB sharded"
    )
    installed = [
        (
            f"install size: {name}",
            f"{packages:.0f} MB ({ENGINES[name].core} + {ENGINES[name].provider_distribution}) "
            f"of a {venv:.0f} MB virtualenv ({ENGINES[name].environment}), without bytecode",
        )
        for name, (packages, venv) in install_sizes().items()
    ]
    for label, value in (
        ("resources: base stack at 1, 50, 200 pipelines", sizes),
        ("resources: largest pipeline stack", str(largest)),
        ("resources: 50 pipelines, shards on every one", sharded_sizes),
        ("largest state machine definition, 50 pipelines", definitions),
        *installed,
    ):
        lines.append(f"| {label:<52} | {'':9} | {'':7} | {'':9} | {'':11} |{blank} {value} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument(
        "--baseline", type=Path, help="another checkout to measure side by side (before/after)"
    )
    args = parser.parse_args()
    trees = {"this": REPO}
    if args.baseline is not None:
        trees["before"] = args.baseline.resolve()
    skip_cli = args.skip_cli or not (REPO / CLI).exists()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        table = rows(tmp, skip_cli)
        results = measure_all(table, trees, args.runs, tmp)
        lines = render(table, results, tmp, args.runs)
    if skip_cli and not args.skip_cli:
        lines.append("| cdktf CLI: not installed (run `make bench`, which installs it) |")
    print("\n".join(lines))
    results_dir = REPO / "bench" / "results"
    results_dir.mkdir(exist_ok=True)
    (results_dir / "latest.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
