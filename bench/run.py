"""Benchmark: how fast and how lean is a synth? (`make bench`)

Measures, on this machine, each as the median of several runs of a fresh process:

1. the default config synthesized through the app command (`python main.py`): wall time and peak
   memory (Python + its Node child, sampled from the process tree);
2. the same app with the provider loaded the obvious way (eager `import cdktf_cdktf_provider_aws`,
   which also starts the runtime without the lazy-exports hook), and the ratio between the two;
3. how synth time grows with the number of pipelines (generated configs with 1, 10 and 50
   pipelines), as time per added pipeline;
4. the per-pipeline layout (the default) at 200 pipelines against the one-stack layout of the same
   config, and the size of its stacks: base stack resources at 1, 50 and 200 pipelines (must not
   grow), the largest pipeline stack (at most 30 resources);
5. `cdktf synth` through the pinned cdktf CLI (the root package.json) against the app command,
   with the Terraform JSON they produce compared for equality.

Usage: .venv/bin/python -m bench.run [--runs N] [--skip-cli]
"""

from __future__ import annotations

import argparse
import copy
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import yaml

from tools.synth import read_stacks, stack_files

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
CLI = REPO / "node_modules" / "cdktf-cli" / "bundle" / "bin" / "cdktf"
EAGER_APP = (
    "import sys; sys.path.insert(0, {repo!r}); sys.dont_write_bytecode = False;"
    "from imports.runtime import use_bundled_node; use_bundled_node();"
    "import cdktf_cdktf_provider_aws;"
    "import main; sys.exit(main.main())"
)
APP = ["-O", "main.py"]  # the app command of cdktf.json and `make synth`


def measure(command: list[str], env: dict[str, str], cwd: Path = REPO) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of a command and all its descendants."""
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
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{process.stderr.read().decode()}")
    return elapsed, peak / 1e6


def median_of(runs: int, command: list[str], env: dict[str, str]) -> tuple[float, float]:
    measure(command, env)  # warm-up: bytecode caches, jsii package cache, OS file cache
    results = [measure(command, env) for _ in range(runs)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def app_env(outdir: Path, config: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "CDKTF_OUTDIR": str(outdir)}
    env.pop("NODE_OPTIONS", None)
    if config is not None:
        env["PIPELINE_CONFIG"] = str(config)
    return env


def scaled_config(pipelines: int, path: Path, layout: str = "per-pipeline") -> Path:
    """The default config reduced to its dev environment, with N copies of its first pipeline."""
    raw: dict[str, Any] = yaml.safe_load((REPO / "config" / "pipelines.yaml").read_text())
    template = raw["pipelines"][0]
    raw["pipelines"] = []
    for index in range(pipelines):
        pipeline = copy.deepcopy(template)
        pipeline["name"] = f"p{index:03d}"
        pipeline["model"]["artifact_key"] = f"p{index:03d}/model.tar.gz"
        raw["pipelines"].append(pipeline)
    dev = raw["environments"]["dev"]
    dev.pop("pipelines", None)
    dev["layout"] = layout
    raw["environments"] = {"dev": dev}
    path.write_text(yaml.safe_dump(raw))
    return path


def resource_counts(outdir: Path) -> dict[str, int]:
    """Resources per synthesized stack."""
    return {
        name: sum(len(instances) for instances in document.get("resource", {}).values())
        for name, document in read_stacks(outdir).items()
    }


def same_stacks(left: Path, right: Path) -> bool:
    left_files, right_files = stack_files(left), stack_files(right)
    if list(left_files) != list(right_files):
        return False
    return all(filecmp.cmp(left_files[s], right_files[s], False) for s in left_files)


def row(label: str, seconds: float, memory: float | None = None, note: str = "") -> str:
    mem = f"{memory:8.0f} MB" if memory is not None else " " * 11
    return f"| {label:<52} | {seconds:7.2f} s | {mem} | {note} |"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()
    python = sys.executable
    lines = [
        f"Benchmark on {os.cpu_count()} cores, median of {args.runs} runs "
        f"(peak memory: max over runs, Python + Node)",
        "",
        f"| {'what':<52} | {'wall':>9} | {'peak mem':>11} | note |",
        f"|{'-' * 54}|{'-' * 11}|{'-' * 13}|------|",
    ]

    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        fast_out, eager_out = tmp / "fast", tmp / "eager"
        fast_t, fast_m = median_of(args.runs, [python, *APP], app_env(fast_out))
        eager_t, eager_m = median_of(
            max(1, args.runs // 2),
            [python, "-O", "-c", EAGER_APP.format(repo=str(REPO))],
            app_env(eager_out),
        )
        identical = same_stacks(fast_out, eager_out)
        lines.append(row("default config via app command (fast path)", fast_t, fast_m))
        lines.append(
            row(
                "same app, provider imported eagerly",
                eager_t,
                eager_m,
                f"{eager_t / fast_t:.1f}x slower; JSON identical: {identical}",
            )
        )

        times: dict[int, float] = {}
        for count in (1, 10, 50):
            config = scaled_config(count, tmp / f"p{count}.yaml")
            times[count], memory = median_of(
                args.runs, [python, *APP], app_env(tmp / f"out-{count}", config)
            )
            lines.append(row(f"{count} pipeline(s), dev only", times[count], memory))
        per_pipeline = (times[50] - times[1]) / 49
        lines.append(
            f"| {'per added pipeline':<52} | {per_pipeline * 1000:7.1f} ms|"
            f"{'':13}| 50 pipelines = {times[50] / times[1]:.2f}x one |"
        )

        # The per-pipeline layout at scale, against the one-stack layout of the same config.
        base_sizes: dict[int, int] = {}
        largest = 0
        for count in (1, 50, 200):
            out = tmp / f"out-{count}"
            if count == 200:
                config = scaled_config(count, tmp / f"p{count}.yaml")
                split_t, split_m = median_of(args.runs, [python, *APP], app_env(out, config))
                single = scaled_config(count, tmp / f"p{count}-single.yaml", "single")
                single_t, single_m = median_of(
                    args.runs, [python, *APP], app_env(tmp / "out-single", single)
                )
            counts = resource_counts(out)
            base_sizes[count] = counts["mlbatch-dev"]
            pipelines = {
                n: c for n, c in counts.items() if n.removeprefix("mlbatch-dev-")[:1] == "p"
            }
            largest = max(largest, *pipelines.values())
        whole = resource_counts(tmp / "out-single")["mlbatch-dev"]
        lines.append(
            row(
                "200 pipelines, one stack (`layout: single`)",
                single_t,
                single_m,
                f"1 state of {whole} resources",
            )
        )
        lines.append(
            row(
                "200 pipelines, per-pipeline stacks (default)",
                split_t,
                split_m,
                f"{split_t / single_t:.2f}x the one-stack synth; {len(counts)} stacks",
            )
        )
        sizes = ", ".join(f"{n}: {c}" for n, c in base_sizes.items())
        lines.append(
            f"| {'resources: base stack at 1, 50, 200 pipelines':<52} | {'':9} | {'':11} | "
            f"{sizes} |"
        )
        lines.append(
            f"| {'resources: largest pipeline stack':<52} | {'':9} | {'':11} | {largest} |"
        )

        if args.skip_cli:
            lines.append("| cdktf CLI                                            | skipped")
        elif not CLI.exists():
            lines.append("| cdktf CLI: not installed (run `make bench`, which installs it)")
        else:
            cli_out = tmp / "cli"
            env = app_env(cli_out)
            env["CHECKPOINT_DISABLE"] = "1"
            env["CI"] = "true"
            # The CLI runs on the machine's Node: its native terminal module ships prebuilt for
            # Node 20. The app it starts still runs jsii on the virtualenv's Node 24.
            command = ["node", str(CLI), "synth", "--output", str(cli_out)]
            cli_t, cli_m = median_of(max(1, args.runs // 2), command, env)
            cli_same = same_stacks(cli_out, fast_out)
            lines.append(
                row(
                    "`cdktf synth` (cdktf-cli 0.21.0)",
                    cli_t,
                    cli_m,
                    f"+{cli_t - fast_t:.2f} s over the app command; JSON identical: {cli_same}",
                )
            )

    print("\n".join(lines))
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
