"""`make check`: hold a config (default: $PIPELINE_CONFIG, else config/pipelines.yaml) to every
gate the product holds its fixtures to, and print one row per environment x pipeline.

    .venv/bin/python -m tools.check [--config FILE] [--checks DIR] [--gates GATE,...]

Gates, in order: validate (the config loads), synth (every environment and the state bootstrap),
then one pytest session: security (checkov with security/checkov.yaml's reviewed skips, ASL
validation, parliament with security/iam-findings.yaml, the IAM invariants and data protection of
tests/test_security.py), executions (tools/check/gate_executions.py) and your checks (checks/).
``--gates`` (``make check GATES=checks``) runs only those gates after validate and synth: for
iterating on your own checks in seconds; `make test` runs them all.
The summary: per environment x pipeline its stack, resources and run paths executed; per gate
how many tests ran and how they ended, and what they found. A gate that ran no test has failed.
Exit status: 0 all passed; 2 config error; 1 another gate failed (named on the last line).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
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
    from modules.stack_names import pipeline_scope, stack_holding_pipeline

    rows = []
    for env in config.environments.values():
        for pipeline in env.pipelines:
            stack = stack_holding_pipeline(config.project, env, pipeline.name)
            # The pipeline's own resources, also where one stack holds the whole environment.
            scope = pipeline_scope(pipeline.name)
            count = sum(
                1
                for items in stacks[stack].get("resource", {}).values()
                for resource in items.values()
                if resource["//"]["metadata"]["path"].split("/")[1:2] == [scope]
            )
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


def _gate_tests(gates: list[str], checks: Path) -> dict[str, list[str]]:
    """The pytest paths of each gate asked for, in gate order (the team's checks: none when
    their folder does not exist)."""
    selected = {
        "security": [f"tests/test_security.py::{name}" for name in SECURITY_GATES],
        "executions": ["tools/check/gate_executions.py"],
        "checks": [str(checks)] if checks.is_dir() else [],
    }
    return {gate: selected[gate] for gate in GATE_NAMES if gate in gates}


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
    # A file that cannot be collected fails its gate; the other gates still run.
    command = [
        *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"),
        *("-p", "tools.check.plugin", "-n", str(workers), "--dist", "loadfile"),
        *("--no-header", "-rN", "--continue-on-collection-errors", *tests),
    ]
    process = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    report = json.loads(report_file.read_text()) if report_file.exists() else None
    paths = json.loads(paths_file.read_text()) if paths_file.exists() else {}
    return Session(process, report, paths)


def _one_line(text: str) -> str:
    """What went wrong, in one line: pytest's first "E " line (the assertion or the exception),
    else the text's last line."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    errors = [line.removeprefix("E").strip() for line in lines if line.startswith("E ")]
    return (errors or lines[-1:] or ["(no message)"])[0]


def _why_none_ran(
    stats: dict[str, Any], failures: list[dict[str, Any]], paths: list[str], checks: Path
) -> str:
    """Why a gate ran no test: its files that could not be collected, its tests that errored at
    setup or were skipped, or nothing to collect."""
    reasons = []
    # The first error says enough here; every one is listed below the summary.
    first = next((f for f in failures if f["when"] != "call"), None)
    if first is not None:
        where = "collection error in" if first["when"] == "collect" else "error at setup of"
        reasons.append(f"{where} {first['test']}: {_one_line(first['text'])}")
    if stats["skipped"]:
        reasons.append(f"{len(stats['skipped'])} skipped: {stats['skipped'][0]}")
    if not reasons:
        reasons.append(
            f"nothing collected from {', '.join(paths)}" if paths else f"no folder {checks}"
        )
    return "; ".join(reasons)


def _gate_states(
    report: dict[str, Any], tests: dict[str, list[str]], checks: Path
) -> dict[str, tuple[bool, str]]:
    """Each gate that ran: whether it passed, and what it did, as the summary says it."""
    empty = {"tests": 0, "passed": 0, "failed": 0, "errors": 0, "collection_errors": 0}
    states = {}
    for gate, paths in tests.items():
        name = GATE_NAMES[gate]
        stats = {"skipped": [], "findings": [], **empty, **report["gates"].get(name, {})}
        failures = [f for f in report["failures"] if f["gate"] == name]
        if stats["passed"] + stats["failed"] == 0:
            what = "collected" if stats["tests"] == 0 else "ran"
            why = _why_none_ran(stats, failures, paths, checks)
            states[gate] = (False, f"{name} FAILED: 0 tests {what}: {why}")
            continue
        counts = [_counted(stats["tests"], "test", "tests")]
        counts += [
            _counted(stats[key], *labels)
            for key, labels in (
                ("failed", ("failed", "failed")),
                ("errors", ("error at setup or teardown", "errors at setup or teardown")),
                ("collection_errors", ("file not collected", "files not collected")),
            )
            if stats[key]
        ]
        counts += [f"{len(stats['skipped'])} skipped"] if stats["skipped"] else []
        ok = not failures
        said = ", ".join(counts) + "".join(f"; {finding}" for finding in stats["findings"])
        states[gate] = (ok, f"{name} {'ok' if ok else 'FAILED'} ({said})")
    return states


def _counted(count: int, one: str, more: str) -> str:
    return f"{count} {one if count == 1 else more}"


def _paths_cell(key: str, gates: list[str], paths: dict[str, int]) -> str:
    """How many run paths of one environment/pipeline were executed, or why none."""
    if "executions" not in gates:
        return "not run (--gates)"
    if key in paths:
        return str(paths[key])
    if paths:  # recorded for the others: this pipeline's state machine was not found
        return "none: no state machine"
    return "none: no run recorded (executions)"


def _print_summary(
    rows: list[tuple[str, str, str, int]],
    stack_count: int,
    session: Session,
    gates: list[str],
    states: dict[str, tuple[bool, str]],
) -> None:
    """The table of environment x pipeline, the line of gates, and the tests skipped."""
    assert session.report is not None
    table = [
        [env, pipeline, stack, str(count), _paths_cell(f"{env}/{pipeline}", gates, session.paths)]
        for env, pipeline, stack, count in rows
    ]
    header = ["environment", "pipeline", "stack", "resources", "paths executed"]
    print(_table(header, table))
    ran = (text for _, text in states.values())
    left_out = (f"{name} not run (--gates)" for g, name in GATE_NAMES.items() if g not in gates)
    print(f"gates: validate ok, synth ok ({stack_count} stacks), " + ", ".join([*ran, *left_out]))
    for name, stats in session.report["gates"].items():
        for reason, count in Counter(stats["skipped"]).items():
            if stats["passed"] + stats["failed"]:  # else the gate's line says it
                print(f"skipped in {name}: {_counted(count, 'test', 'tests')}: {reason}")


def _print_failures(failures: list[dict[str, Any]]) -> None:
    for failure in failures:
        text = failure["text"].strip().splitlines()
        # pytest's "E " lines are the assertion and its message; else its last line.
        errors = [line for line in text if line.startswith("E ")] or text[-1:]
        when = {"call": "", "collect": " (not collected)"}.get(
            failure["when"], f" (at {failure['when']})"
        )
        print(f"\n{failure['gate']}: {failure['test']}{when}", file=sys.stderr)
        for line in dict.fromkeys(errors[:12]):
            print(f"  {line}", file=sys.stderr)


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
    paths = [path for gate_paths in tests.values() for path in gate_paths]
    if not paths:  # pytest given no path would run the whole repository's suite
        empty: dict[str, Any] = {"gates": {}, "failures": []}
        for _, text in _gate_states(empty, tests, args.checks).values():
            print(f"gates: {text}", file=sys.stderr)
        failed = ", ".join(GATE_NAMES[gate] for gate in tests)
        print(f"make check: failed gate: {failed}", file=sys.stderr)
        return 1

    from tools.synth import synthesize

    with tempfile.TemporaryDirectory() as temporary:
        outdir = Path(temporary) / "cdktf.out"
        stacks = synthesize(config, outdir)
        # Two workers pay off for the scanners and the engine; the team's checks alone run
        # sooner in one process than two workers start.
        workers = 2 if {"security", "executions"} & set(args.gates) else 0
        session = _run_session(source, outdir, paths, workers)

    if session.report is None:  # the session itself broke (collection error, crash)
        print(session.process.stdout[-4000:] + session.process.stderr[-2000:], file=sys.stderr)
        print("make check: failed gate: test session (see above)", file=sys.stderr)
        return 1
    states = _gate_states(session.report, tests, args.checks)
    _print_summary(_rows(config, stacks), len(stacks), session, args.gates, states)
    _print_failures(session.report["failures"])
    failed = [GATE_NAMES[gate] for gate, (ok, _) in states.items() if not ok]
    if failed:
        print(f"make check: failed gate: {', '.join(failed)}", file=sys.stderr)
        return 1
    if session.process.returncode != 0:
        print(session.process.stdout[-3000:], file=sys.stderr)
        print("make check: failed gate: test session", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
