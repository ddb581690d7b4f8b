"""`make review [BASE=<git ref>]`: an offline review of a change, as the same Markdown as
`tools.plan_review`, from the difference between two synthesized configurations.

    .venv/bin/python -m tools.plan_review.review [--base REF]

BASE (default: the merge-base of HEAD with the main branch) is exported with `git archive` into
a temporary directory and synthesized there with its own code and config; the working tree is
synthesized as it is (uncommitted edits included). Each stack's plan-shaped diff
(tools/plan_review/config_diff.py) is reviewed like a `terraform plan`. It needs no AWS account,
no provider and no state: it says so in its header, and it cannot see drift, values only AWS
knows, provider defaults or plan-time errors (a `make plan` review can, where credentials exist).

Exit status as `tools.plan_review`: 0 fine, 3 data at risk where `allow_destroy` is not set,
2 a config error on either side, 1 when BASE cannot be read or synthesized.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools.plan_review.config_diff import build_plan
from tools.plan_review.model import StackRole, attach_role, load_plan
from tools.plan_review.report import (
    EXIT_CONFIG,
    EXIT_UNREADABLE,
    GITHUB_COMMENT_LIMIT,
    _roles,
    render,
)

REPO = Path(__file__).resolve().parents[2]
MARKER = "<!-- config-review -->"  # the CI workflow finds its own comment by this line
MAIN_BRANCHES = ("main", "origin/main", "master", "origin/master")


class ReviewFailed(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    if result.returncode != 0:
        raise ReviewFailed(f"git {' '.join(args)}: {result.stderr.strip()}", EXIT_UNREADABLE)
    return result.stdout.strip()


def default_base(repo: Path = REPO) -> str:
    """The merge-base of HEAD with the main branch (the first of MAIN_BRANCHES that exists)."""
    for branch in MAIN_BRANCHES:
        found = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", branch], cwd=repo, capture_output=True
        )
        if found.returncode == 0:
            return _git(repo, "merge-base", "HEAD", branch)
    raise ReviewFailed("no main branch to compare with: give BASE=<git ref>", EXIT_UNREADABLE)


def _synthesize(tree: Path, outdir: Path, config: str | None) -> dict[str, dict[str, Any]]:
    """The app of ``tree`` (its own main.py and modules), synthesized into ``outdir``."""
    env = {**os.environ, "CDKTF_OUTDIR": str(outdir)}
    env.pop("PIPELINE_ENVIRONMENTS", None)
    if config:
        env["PIPELINE_CONFIG"] = config
    result = subprocess.run(
        [sys.executable, "-O", "main.py"], cwd=tree, env=env, capture_output=True, text=True
    )
    if result.returncode == 2:
        raise ReviewFailed(result.stderr.strip(), EXIT_CONFIG)
    if result.returncode != 0:
        raise ReviewFailed(
            f"{tree}: synth failed: {result.stderr.strip()[-2000:]}", EXIT_UNREADABLE
        )
    from tools.synth import read_stacks

    return read_stacks(outdir)


def review(base: str, limit: int = GITHUB_COMMENT_LIMIT, repo: Path = REPO) -> tuple[str, int]:
    """The review of ``repo``'s working tree against ``base``, and its exit status."""
    commit = _git(repo, "rev-parse", "--verify", f"{base}^{{commit}}")
    config = os.environ.get("PIPELINE_CONFIG")
    with tempfile.TemporaryDirectory() as temporary:
        root = Path(temporary)
        old_tree = root / "base"
        old_tree.mkdir()
        archive = subprocess.run(["git", "archive", commit], cwd=repo, capture_output=True)
        if archive.returncode != 0:
            raise ReviewFailed(f"git archive {base}: {archive.stderr.decode().strip()}", 1)
        subprocess.run(["tar", "-x", "-C", str(old_tree)], input=archive.stdout, check=True)
        # The same config path on both sides: relative ones are read in each tree.
        old_config = str(old_tree / config) if config and not Path(config).is_absolute() else config
        before = _synthesize(old_tree, root / "base.out", old_config)
        after = _synthesize(repo, root / "head.out", config)
        roles: dict[str, StackRole] = {}
        bootstrap = ""
        new_config = config or str(repo / "config" / "pipelines.yaml")
        for config_path in (old_config or str(old_tree / "config" / "pipelines.yaml"), new_config):
            found, bootstrap = _roles(config_path)
            roles.update(found)  # the working tree's roles win; removed stacks keep theirs
        plans = []
        for stack in sorted(set(before) | set(after)):
            plan_file = root / f"{stack}.plan.json"
            plan_file.write_text(json.dumps(build_plan(before.get(stack), after.get(stack))))
            plan = load_plan(plan_file, stack)
            attach_role(plan, roles, bootstrap)
            plans.append(plan)
    header = (
        MARKER,
        "## Configuration review",
        "",
        f"A diff of the synthesized configuration: `{base}` ({commit[:12]}) → the working tree. "
        "No Terraform state and no AWS account are read: it shows what the change asks for, not "
        "drift, values only AWS knows (shown as `<…>` stand-ins) or plan-time errors; "
        "`make plan` adds those where credentials exist.",
    )
    return render(plans, limit, header)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="review", description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="git ref to compare with (default: merge-base with main)")
    parser.add_argument("--max-chars", type=int, default=GITHUB_COMMENT_LIMIT)
    args = parser.parse_args(argv)
    try:
        text, status = review(args.base or default_base(), args.max_chars)
    except ReviewFailed as error:
        print(f"review: {error}", file=sys.stderr)
        return error.status
    sys.stdout.write(text)
    return status


if __name__ == "__main__":
    sys.exit(main())
