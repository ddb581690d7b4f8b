"""`make check`: hold a config (default: $PIPELINE_CONFIG, else config/pipelines.yaml) to every
gate the product holds its fixtures to, and print one row per environment x pipeline.

    .venv/bin/python -m tools.check [--config FILE] [--checks DIR] [--gates GATE,...]

Gates, in order: validate (the config loads), synth (every environment and the state bootstrap),
then one pytest session: security (checkov with security/checkov.yaml's reviewed skips, ASL
validation, parliament with security/iam-findings.yaml, the IAM invariants and data protection of
tests/test_security.py), executions (tools/check/gate_executions.py) and your checks (checks/).
``--gates`` (``make check GATES=checks``) runs only those gates after validate and synth: for
iterating on your own checks in seconds; `make test` runs them all.
Exit status: 0 all passed; 2 config error; 1 another gate failed (named on the last line).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.check import (
    CHECK_CONFIG_ENV_VAR,
    CHECK_OUTDIR_ENV_VAR,
    GATE_NAMES,
    PATHS_FILE_ENV_VAR,
    REPORT_ENV_VAR,
)
from tools.generated import REPO

# The product's gate tests that hold for any config (the others pin the fixtures' own names).
SECURITY_GATES = [
    "test_checkov_finds_no_failed_check",
    "test_every_state_machine_definition_is_valid_asl",
    "test_parliament_lints_every_policy_document",
    "test_no_wildcard_actions_and_star_resources_only_where_unavoidable",
    "test_trust_policies_name_one_service_and_guard_against_confused_deputies",
    "test_data_outlives_a_mistaken_destroy",
    "test_terraform_validate_every_stack",
]


def _gates(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in GATE_NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"no gate {', '.join(unknown) or repr(text)}: the gates are {', '.join(GATE_NAMES)}"
        )
    return names


def _rows(config: Any, stacks: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, int]]:
    from modules.stack_names import stack_holding_pipeline

    rows = []
    for env in config.environments.values():
        for pipeline in env.pipelines:
            stack = stack_holding_pipeline(config.project, env, pipeline.name)
            count = sum(len(items) for items in stacks[stack].get("resource", {}).values())
            rows.append((env.name, pipeline.name, stack, count))
    return rows


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=False)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--config", type=Path, help="default: $PIPELINE_CONFIG or config/pipelines.yaml"
    )
    parser.add_argument("--checks", type=Path, default=REPO / "checks", help="your checks")
    parser.add_argument(
        "--gates",
        type=_gates,
        default=list(GATE_NAMES),
        help=f"only these, after validate and synth (default: {','.join(GATE_NAMES)})",
    )
    return parser.parse_args(argv)


def _gate_tests(gates: list[str], checks: Path) -> list[str]:
    """The pytest paths of the gates asked for, in gate order."""
    selected = {
        "security": [f"tests/test_security.py::{name}" for name in SECURITY_GATES],
        "executions": ["tools/check/gate_executions.py"],
        "checks": [str(checks)] if checks.is_dir() else [],
    }
    return [test for gate in gates for test in selected[gate]]


@dataclass
class Session:
    """What the gates' pytest session left: its process, the plugin's report (None: the session
    itself broke) and the paths executed per environment/pipeline."""

    process: subprocess.CompletedProcess[str]
    report: dict[str, Any] | None
    paths: dict[str, int]


def _run_session(source: Path, outdir: Path, tests: list[str], workers: int) -> Session:
    """One pytest session over ``tests`` on the stacks already synthesized into ``outdir``."""
    report_file, paths_file = outdir.parent / "report.json", outdir.parent / "paths.json"
    env = {
        **os.environ,
        CHECK_CONFIG_ENV_VAR: str(source),
        CHECK_OUTDIR_ENV_VAR: str(outdir),
        REPORT_ENV_VAR: str(report_file),
        PATHS_FILE_ENV_VAR: str(paths_file),
    }
    command = [
        *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
        *("-p", "tools.check.plugin", "-n", str(workers), "--dist", "loadfile"),
        *("--no-header", "-rN", *tests),
    ]
    process = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    report = json.loads(report_file.read_text()) if report_file.exists() else None
    paths = json.loads(paths_file.read_text()) if paths_file.exists() else {}
    return Session(process, report, paths)


def _print_summary(
    rows: list[tuple[str, str, str, int]],
    stack_count: int,
    session: Session,
    gates: list[str],
) -> None:
    """The table of environment x pipeline, and the line of gates."""
    assert session.report is not None
    failures = session.report["failures"]
    table = [
        [
            env,
            pipeline,
            stack,
            str(count),
            str(session.paths.get(f"{env}/{pipeline}", "-")),
            str(sum(stack in f["text"] or f"{env}/{pipeline}" in f["text"] for f in failures)),
        ]
        for env, pipeline, stack, count in rows
    ]
    header = ["environment", "pipeline", "stack", "resources", "paths executed", "findings"]
    print(_table(header, table))
    ran = (
        f"{gate} {'FAILED' if any(f['gate'] == gate for f in failures) else 'ok'} ({n} tests)"
        for gate, n in sorted(session.report["counts"].items())
    )
    left_out = (f"{name} not run (--gates)" for g, name in GATE_NAMES.items() if g not in gates)
    print(f"gates: validate ok, synth ok ({stack_count} stacks), " + ", ".join([*ran, *left_out]))


def _print_failures(failures: list[dict[str, Any]]) -> None:
    for failure in failures:
        text = failure["text"].strip().splitlines()
        # pytest's "E " lines are the assertion and its message; else its last line.
        errors = [line for line in text if line.startswith("E ")] or text[-1:]
        print(f"\n{failure['gate']}: {failure['test']}", file=sys.stderr)
        for line in dict.fromkeys(errors[:12]):
            print(f"  {line}", file=sys.stderr)
    gates = sorted({f["gate"] for f in failures})
    print(f"make check: failed gate: {', '.join(gates)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    from modules.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as error:
        for line in error.lines:
            print(f"config error: {line}", file=sys.stderr)
        print("make check: failed gate: validate", file=sys.stderr)
        return 2
    source = Path(config.source).resolve()
    print(f"make check: {source}")
    tests = _gate_tests(args.gates, args.checks)
    if not tests:  # pytest given no path would run the whole repository's suite
        print(f"make check: no tests in gates {','.join(args.gates)}", file=sys.stderr)
        return 1

    from tools.synth import synthesize

    with tempfile.TemporaryDirectory() as temporary:
        outdir = Path(temporary) / "cdktf.out"
        stacks = synthesize(config, outdir)
        # Two workers pay off for the scanners and the engine; the team's checks alone run
        # sooner in one process than two workers start.
        workers = 2 if {"security", "executions"} & set(args.gates) else 0
        session = _run_session(source, outdir, tests, workers)

    if session.report is None:  # the session itself broke (collection error, crash)
        print(session.process.stdout[-4000:] + session.process.stderr[-2000:], file=sys.stderr)
        print("make check: failed gate: test session (see above)", file=sys.stderr)
        return 1
    _print_summary(_rows(config, stacks), len(stacks), session, args.gates)
    if session.report["failures"]:
        _print_failures(session.report["failures"])
        return 1
    if session.process.returncode != 0:
        print(session.process.stdout[-3000:], file=sys.stderr)
        print("make check: failed gate: test session", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
