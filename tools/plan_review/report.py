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
    BASE,
    BOOTSTRAP,
    DASHBOARD,
    ENVIRONMENT,
    FOREIGN,
    PIPELINE,
    Change,
    PlanError,
    StackPlan,
    StackRole,
    attach_role,
    load_plan,
)
from tools.plan_review.semantic import describe

EXIT_OK = 0
EXIT_UNREADABLE = 1
EXIT_CONFIG = 2
EXIT_GUARD = 3
MARKER = "<!-- plan-review -->"  # the CI workflow finds its own comment by this line
SYMBOL = {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}


# GitHub refuses a comment body longer than this many characters; the CI workflow posts the review
# as one comment, so a longer review is cut at a line, with a note saying so.
GITHUB_COMMENT_LIMIT = 65_536
# Unchanged stacks are one line: at most this many names of each kind, then "and N more".
UNCHANGED_NAMES_SHOWN = 5
KIND_ORDER = (BASE, ENVIRONMENT, PIPELINE, DASHBOARD, BOOTSTRAP, FOREIGN)
# What a stack's changes outside any pipeline-<name> construct path belong to, by stack kind.
SHARED_PART = {
    BASE: "shared (base)",
    ENVIRONMENT: "environment-wide",
    DASHBOARD: "dashboard",
    BOOTSTRAP: "state bootstrap",
    FOREIGN: "no pipeline",
}


def _counts_cells(counts: dict[str, int]) -> str:
    return " | ".join(str(counts[action]) if counts[action] else "·" for action in ACTIONS)


def _part(plan: StackPlan, pipeline: str | None) -> str:
    return f"pipeline `{pipeline}`" if pipeline else SHARED_PART.get(plan.kind, plan.kind)


def _stack_heading(plan: StackPlan) -> str:
    what = f"pipeline `{plan.own_pipeline}`" if plan.own_pipeline else plan.kind
    if plan.environment is None:
        guard = "no environment of the config: the data guard applies"
        return f"### Stack `{plan.stack}`: {what} ({guard})"
    allowed = " (sets `allow_destroy`)" if plan.allow_destroy else ""
    return f"### Stack `{plan.stack}`: {what}, environment `{plan.environment}`{allowed}"


def _unchanged(plans: Sequence[StackPlan]) -> str:
    """One line for every stack without changes, whatever their number."""
    by_kind: dict[str, list[str]] = {}
    for plan in plans:
        by_kind.setdefault(plan.kind, []).append(plan.stack)
    groups = []
    for kind in sorted(by_kind, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else 99):
        stacks = sorted(by_kind[kind])
        shown = ", ".join(f"`{name}`" for name in stacks[:UNCHANGED_NAMES_SHOWN])
        more = len(stacks) - UNCHANGED_NAMES_SHOWN
        groups.append(f"{kind} {shown}" + (f" and {more} more" if more > 0 else ""))
    count = len(plans)
    return f"{count} stack{'s' if count != 1 else ''} unchanged: " + "; ".join(groups) + "."


def _at_risk(plans: Sequence[StackPlan]) -> list[tuple[StackPlan, Change, str]]:
    return [
        (plan, change, reason)
        for plan in plans
        for change in plan.changes
        if (reason := change.guard_reason) is not None
    ]


def _fit(text: str, limit: int) -> str:
    """The review cut at a line so that it and the note fit in `limit` characters."""
    if len(text) <= limit:
        return text
    note = (
        f"\n**Review truncated** at {{shown:,}} of {len(text):,} characters (a GitHub comment "
        f"holds {GITHUB_COMMENT_LIMIT:,}): run `python -m tools.plan_review` on the plans "
        "for the rest.\n"
    )
    room = limit - len(note.format(shown=len(text)))
    cut = text.rfind("\n", 0, room) + 1
    return text[:cut] + note.format(shown=cut)


def _risk_section(risky: list[tuple[StackPlan, Change, str]], blocked: bool) -> list[str]:
    """The table of data a plan deletes or replaces, and why a blocked one exits 3."""
    out = ["### ⛔ Data at risk" if blocked else "### Data deleted (allowed)", ""]
    out += ["| stack | action | resource | what is lost | |", "|---|---|---|---|---|"]
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
    return out


def _stack_section(plan: StackPlan) -> list[str]:
    """A changed stack: its heading, then each part's changes (deletions first)."""
    out = [_stack_heading(plan), ""]
    parts = plan.pipelines
    for pipeline in parts:
        changes = [c for c in plan.changes if c.pipeline == pipeline and c.action != "no-op"]
        # A stack of one part (a pipeline stack, the dashboard) needs no heading per part.
        if len(parts) > 1 or (plan.own_pipeline is None and pipeline is not None):
            out += [f"#### {_part(plan, pipeline).capitalize()}", ""]
        for change in sorted(changes, key=lambda c: (ACTIONS_ORDER.get(c.action, 9), c.address)):
            symbol = SYMBOL.get(change.action, change.action)
            out.append(f"- `{symbol}` {change.action} `{change.address}`")
            out.extend(
                f"    {line.lstrip()}" if line.startswith("  - ") else f"  - {line}"
                for line in describe(change)
            )
        out.append("")
    return out


def render(
    plans: Sequence[StackPlan],
    limit: int = GITHUB_COMMENT_LIMIT,
    header: Sequence[str] = (MARKER, "## Plan review"),
) -> tuple[str, int]:
    """The Markdown review (at most `limit` characters) and the exit status it calls for;
    ``header``: its first lines (`make review` says it is a configuration diff)."""
    totals = {a: sum(p.counts(None, whole_stack=True)[a] for p in plans) for a in ACTIONS}
    out = [*header, ""]
    out.append(
        f"**{len(plans)} stack{'s' if len(plans) != 1 else ''}: "
        + ", ".join(f"{totals[a]} to {a}" for a in ACTIONS)
        + ".**"
    )
    out.append("")
    risky = _at_risk(plans)
    blocked = [item for item in risky if not item[0].allow_destroy]
    if risky:
        out += _risk_section(risky, bool(blocked))
    # Only stacks with changes get a row and a section: a one-pipeline change among hundreds of
    # stacks stays one screen, and every other stack is named in one line.
    changed = [plan for plan in plans if plan.changed]
    if changed:
        out += [
            "| stack | part | create | update | replace | delete |",
            "|---|---|--:|--:|--:|--:|",
        ]
        for plan in changed:
            out += [
                f"| `{plan.stack}` | {_part(plan, p)} | {_counts_cells(plan.counts(p))} |"
                for p in plan.pipelines
            ]
        out.append("")
    unchanged = [plan for plan in plans if not plan.changed]
    if unchanged:
        out += [_unchanged(unchanged), ""]
    for plan in changed:
        out += _stack_section(plan)
    text = "\n".join(out).rstrip() + "\n"
    return _fit(text, limit) if limit else text, EXIT_GUARD if blocked else EXIT_OK


ACTIONS_ORDER = {"delete": 0, "replace": 1, "update": 2, "create": 3}


def _roles(config_path: str | None) -> tuple[dict[str, StackRole], str]:
    """Every stack the config synthesizes, with its role; and what every state bootstrap's name
    begins with."""
    from modules.config import load_config
    from modules.stack_names import (
        bootstrap_stack_prefix,
        dashboard_stack_name,
        stack_holding_pipeline,
        stack_name,
    )

    config = load_config(config_path)
    roles: dict[str, StackRole] = {}
    for name, env in config.environments.items():
        allow = env.allow_destroy
        if env.layout == "single":
            roles[stack_name(config.project, name)] = StackRole(ENVIRONMENT, name, allow)
            continue
        roles[stack_name(config.project, name)] = StackRole(BASE, name, allow)
        roles[dashboard_stack_name(config.project, name)] = StackRole(DASHBOARD, name, allow)
        for pipeline in env.pipelines:
            stack = stack_holding_pipeline(config.project, env, pipeline.name)
            roles[stack] = StackRole(PIPELINE, name, allow, pipeline.name)
    return roles, bootstrap_stack_prefix(config.project)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="plan-review", description=__doc__.splitlines()[0])
    parser.add_argument("plans", nargs="*", type=Path, help="`terraform show -json` output files")
    parser.add_argument("--config", help="project config (default: $PIPELINE_CONFIG or shipped)")
    parser.add_argument(
        "--max-chars",
        type=int,
        default=GITHUB_COMMENT_LIMIT,
        help="cut the review at a line to fit this many characters, with a note (0: no limit); "
        "default: a GitHub comment's limit",
    )
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
        roles, bootstrap = _roles(args.config)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    for plan in plans:
        attach_role(plan, roles, bootstrap)
    text, status = render(plans, args.max_chars)
    sys.stdout.write(text)
    return status
