"""The review as Markdown, and the command line of `make plan-review`.

    python -m tools.plan_review [--config FILE] PLAN.json [PLAN.json ...]

Prints the review on stdout. Exit status: 0 fine; 3 when a plan deletes or replaces something
that holds or guards data in a stack whose environment does not set `allow_destroy` (the state
bootstrap stack never does); 1 with one line when a plan cannot be read; 2 on a config error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.plan_review.model import (
    ACTIONS,
    Change,
    Environment,
    PlanError,
    StackPlan,
    attach_environment,
    load_plan,
)
from tools.plan_review.semantic import describe

EXIT_OK = 0
EXIT_UNREADABLE = 1
EXIT_CONFIG = 2
EXIT_GUARD = 3
MARKER = "<!-- plan-review -->"  # the CI workflow finds its own comment by this line
SYMBOL = {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}


def _counts_cells(counts: dict[str, int]) -> str:
    return " | ".join(str(counts[action]) if counts[action] else "·" for action in ACTIONS)


def _environment_note(plan: StackPlan) -> str:
    if plan.environment is None:
        return "no environment of the config: the data guard applies"
    allowed = ", sets `allow_destroy`" if plan.allow_destroy else ""
    return f"environment `{plan.environment}`{allowed}"


def _at_risk(plans: Sequence[StackPlan]) -> list[tuple[StackPlan, Change, str]]:
    return [
        (plan, change, reason)
        for plan in plans
        for change in plan.changes
        if (reason := change.guard_reason) is not None
    ]


def render(plans: Sequence[StackPlan]) -> tuple[str, int]:
    """The Markdown review and the exit status it calls for."""
    out = [MARKER, "## Plan review", ""]
    totals = {a: sum(p.counts(None, whole_stack=True)[a] for p in plans) for a in ACTIONS}
    out.append(
        f"**{len(plans)} stack{'s' if len(plans) != 1 else ''}: "
        + ", ".join(f"{totals[a]} to {a}" for a in ACTIONS)
        + ".**"
    )
    out.append("")

    risky = _at_risk(plans)
    blocked = [item for item in risky if not item[0].allow_destroy]
    if risky:
        out.append("### ⛔ Data at risk" if blocked else "### Data deleted (allowed)")
        out.append("")
        out.append("| stack | action | resource | what is lost | |")
        out.append("|---|---|---|---|---|")
        for plan, change, reason in risky:
            verdict = "allowed: `allow_destroy`" if plan.allow_destroy else "**blocked**"
            out.append(
                f"| `{plan.stack}` | {change.action} | `{change.address}` | {reason} | {verdict} |"
            )
        out.append("")
        if blocked:
            out.append(
                "This plan destroys data in a stack whose environment does not set "
                "`allow_destroy`; check it is intended (the review exits 3)."
            )
            out.append("")

    out.append("| stack | pipeline | create | update | replace | delete |")
    out.append("|---|---|--:|--:|--:|--:|")
    for plan in plans:
        for pipeline in plan.pipelines or [None]:
            label = f"`{pipeline}`" if pipeline else "(environment)"
            out.append(f"| `{plan.stack}` | {label} | {_counts_cells(plan.counts(pipeline))} |")
    out.append("")

    for plan in plans:
        out.append(f"### Stack `{plan.stack}` ({_environment_note(plan)})")
        out.append("")
        if not plan.pipelines:
            out.append("No changes.")
            out.append("")
        for pipeline in plan.pipelines:
            changes = [c for c in plan.changes if c.pipeline == pipeline and c.action != "no-op"]
            out.append(f"#### Pipeline `{pipeline}`" if pipeline else "#### Environment-wide")
            out.append("")
            for change in sorted(
                changes, key=lambda c: (ACTIONS_ORDER.get(c.action, 9), c.address)
            ):
                symbol = SYMBOL.get(change.action, change.action)
                out.append(f"- `{symbol}` {change.action} `{change.address}`")
                out.extend(
                    f"    {line.lstrip()}" if line.startswith("  - ") else f"  - {line}"
                    for line in describe(change)
                )
            out.append("")
    return "\n".join(out).rstrip() + "\n", EXIT_GUARD if blocked else EXIT_OK


ACTIONS_ORDER = {"delete": 0, "replace": 1, "update": 2, "create": 3}


def _environments(config_path: str | None) -> tuple[str, dict[str, Environment]]:
    from modules.config import load_config

    config = load_config(config_path)
    return config.project, {
        name: Environment(
            allow_destroy=env.allow_destroy, pipelines=frozenset(p.name for p in env.pipelines)
        )
        for name, env in config.environments.items()
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="plan-review", description=__doc__.splitlines()[0])
    parser.add_argument("plans", nargs="*", type=Path, help="`terraform show -json` output files")
    parser.add_argument("--config", help="project config (default: $PIPELINE_CONFIG or shipped)")
    args = parser.parse_args(argv)
    if not args.plans:
        print(
            "plan-review: no plan given (make plan-review PLAN=plans/<stack>.json)", file=sys.stderr
        )
        return EXIT_UNREADABLE
    try:
        plans = [load_plan(path) for path in args.plans]
    except PlanError as error:
        print(f"plan-review: {error}", file=sys.stderr)
        return EXIT_UNREADABLE

    from modules.config import ConfigError

    try:
        project, environments = _environments(args.config)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    for plan in plans:
        attach_environment(plan, project, environments)
    text, status = render(plans)
    sys.stdout.write(text)
    return status
