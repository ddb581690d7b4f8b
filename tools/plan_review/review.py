"""`make review [BASE=<git ref>]`: an offline review of a change, as the same Markdown as
`tools.plan_review`, from the difference between two synthesized configurations.

    .venv/bin/python -m tools.plan_review.review [--base REF]

BASE (default: the merge-base of HEAD with the main branch) is exported with `git archive` into
a temporary directory and synthesized there with its own code and config; the working tree is
synthesized as it is (uncommitted edits included), side by side with the base. The base's
stacks are kept in the clone's review cache (tools/plan_review/base_cache.py, under .git/), so a
second review against the same BASE synthesizes the working tree only (``--no-cache``
synthesizes the base again, and keeps that). Each stack's plan-shaped diff
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

from modules.config import DEFAULT_CONFIG_PATH
from tools.plan_review.base_cache import BaseCache, cache_key
from tools.plan_review.config_diff import build_plan
from tools.plan_review.model import StackRole, attach_role, load_plan
from tools.plan_review.report import (
    EXIT_CONFIG,
    EXIT_UNREADABLE,
    GITHUB_COMMENT_LIMIT,
    _roles,
    render,
)
from tools.synth import Stacks, read_stacks, start_app

REPO = Path(__file__).resolve().parents[2]
MARKER = "<!-- config-review -->"  # the CI workflow finds its own comment by this line
MAIN_BRANCHES = ("main", "origin/main", "master", "origin/master")
DEFAULT_CONFIG = DEFAULT_CONFIG_PATH.relative_to(REPO)  # the app's default, in either tree


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


def _synthesized(synth: subprocess.Popen[str], tree: Path, outdir: Path) -> Stacks:
    """The stacks ``synth`` wrote, once it has finished."""
    _, stderr = synth.communicate()
    if synth.returncode == 2:
        raise ReviewFailed(stderr.strip(), EXIT_CONFIG)
    if synth.returncode != 0:
        raise ReviewFailed(f"{tree}: synth failed: {stderr.strip()[-2000:]}", EXIT_UNREADABLE)
    return read_stacks(outdir)


def _both_sides(
    old_tree: Path,
    old_config: str | None,
    repo: Path,
    config: str | None,
    root: Path,
    key: str,
    read_cache: bool,
) -> tuple[Stacks, Stacks]:
    """The base's stacks (from the cache when it has them and ``read_cache``) and the working
    tree's; the two syntheses run side by side. A synthesized base is kept in the cache."""
    cache = BaseCache.of(repo)
    before = cache.get(key) if read_cache else None
    base = None if before is not None else start_app(old_tree, root / "base.out", config=old_config)
    head = start_app(repo, root / "head.out", config=config)
    try:
        if base is not None:
            before = _synthesized(base, old_tree, root / "base.out")
            cache.put(key, before)
        after = _synthesized(head, repo, root / "head.out")
    finally:
        for synth in (base, head):
            if synth is not None and synth.poll() is None:
                synth.kill()
                synth.wait()
    assert before is not None
    return before, after


def _stack_roles(old_config: str, new_config: str) -> tuple[dict[str, StackRole], str]:
    """Every stack's role, from both configs (the working tree's win; removed stacks keep the
    base's), and the state bootstrap's name. Both are read with the working tree's code: a base
    config it refuses (a field renamed since) gives no roles, and its stacks are still compared."""
    from modules.config import ConfigError

    try:
        roles, _ = _roles(old_config)
    except ConfigError:
        roles = {}
    found, bootstrap = _roles(new_config)
    return roles | found, bootstrap


def review(
    base: str, limit: int = GITHUB_COMMENT_LIMIT, repo: Path = REPO, read_cache: bool = True
) -> tuple[str, int]:
    """The review of ``repo``'s working tree against ``base``, and its exit status. The base's
    synthesized stacks are read from the repository's review cache (base_cache) if it has them
    and ``read_cache``; a base that had to be synthesized is kept there."""
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
        # The same config path on both sides: relative ones are read in each tree (the working
        # tree's in ``repo``, wherever the review runs).
        in_tree = bool(config) and not Path(config or "").is_absolute()
        old_config = str(old_tree / config) if config and in_tree else config
        new_config = str(repo / config) if config and in_tree else config
        key = cache_key(commit, config, in_tree)
        before, after = _both_sides(old_tree, old_config, repo, config, root, key, read_cache)
        roles, bootstrap = _stack_roles(
            old_config or str(old_tree / DEFAULT_CONFIG), new_config or str(repo / DEFAULT_CONFIG)
        )
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
    parser.add_argument(
        "--no-cache", action="store_true", help="synthesize BASE again even if the cache has it"
    )
    args = parser.parse_args(argv)
    try:
        text, status = review(
            args.base or default_base(), args.max_chars, read_cache=not args.no_cache
        )
    except ReviewFailed as error:
        print(f"review: {error}", file=sys.stderr)
        return error.status
    sys.stdout.write(text)
    return status


if __name__ == "__main__":
    sys.exit(main())
