"""The plan reviewer (tools/plan_review) as tests/test_plan_review_*.py run it: its Markdown read
by section and by pipeline, and plans of this project's own resources built from two synthesized
configs (tools/plan_review/config_diff.py), the example config edited as a raw document.

Plain functions, no fixtures: each test module declares the fixtures it uses (``review``,
``raw_config``, ``synth``, ``baseline``) on top of these, with the scope it needs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from modules.config import ProjectConfig, parse_config
from modules.stack_names import is_environment_stack
from tests.conftest import EXAMPLE_CONFIG
from tools.plan_review.config_diff import build_plan
from tools.plan_review.report import main as review_main
from tools.synth import synthesize

REPO = Path(__file__).resolve().parent.parent.parent


class Review:
    def __init__(self, status: int, out: str, err: str) -> None:
        self.status, self.out, self.err = status, out, err

    def section(self, heading: str) -> str:
        """The text under one `#### ` heading, up to the next heading."""
        start = self.out.index(heading)
        return self._from(start)

    def pipeline(self, name: str) -> str:
        """The changes of one pipeline: its `####` part of a shared stack, or its own stack."""
        found = re.search(
            rf"^(#### Pipeline `{name}`|### Stack `[a-z0-9-]+`: pipeline `{name}`,.*)$",
            self.out,
            re.M,
        )
        assert found, self.out
        return self._from(found.start())

    def _from(self, start: int) -> str:
        end = min(
            (i for i in (self.out.find("\n###", start + 1),) if i != -1), default=len(self.out)
        )
        return self.out[start:end]


def run_reviewer(paths: list[str], args: tuple[str, ...]) -> int:
    """The reviewer on ``paths``, with the stacks' roles from the example config unless ``args``
    name another (its default is the team's config, which the product's tests never read)."""
    config = () if "--config" in args else ("--config", str(EXAMPLE_CONFIG))
    return review_main([*paths, *config, *args])


def reviewer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Review]:
    """What the ``review`` fixture gives: plans by stack name (and the reviewer's options) in,
    the review out."""

    def run(plans: dict[str, dict[str, Any]], *args: str) -> Review:
        paths = []
        for stack, plan in plans.items():
            path = tmp_path / f"{stack}.json"
            path.write_text(json.dumps(plan))
            paths.append(str(path))
        capsys.readouterr()
        status = run_reviewer(paths, args)
        captured = capsys.readouterr()
        return Review(status, captured.out, captured.err)

    return run


def example_raw_config() -> dict[str, Any]:
    """The example config (tests/fixtures/example.yaml) as the YAML document it is."""
    loaded: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    return loaded


def config_dict(raw: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """A copy of the raw config with ``edit`` applied."""
    copy: dict[str, Any] = json.loads(json.dumps(raw))
    edit(copy)
    return copy


def edited_config(raw: dict[str, Any], edit: Callable[[dict[str, Any]], None]) -> ProjectConfig:
    return parse_config(config_dict(raw, edit), "test.yaml")


def synthesizer(
    tmp_path_factory: pytest.TempPathFactory, raw: dict[str, Any]
) -> Callable[..., dict[str, dict[str, Any]]]:
    """What the ``synth`` fixture gives: the stacks of the raw config with an edit applied (of
    the environments named, or of all), by stack name."""

    def run(
        edit: Callable[[dict[str, Any]], None] = lambda raw: None,
        environments: list[str] | None = None,
    ) -> dict[str, dict[str, Any]]:
        outdir = tmp_path_factory.mktemp("synth")
        return synthesize(edited_config(raw, edit), outdir, environments)

    return run


def env_plans(
    before: dict[str, dict[str, Any]],
    after: dict[str, dict[str, Any]] | None,
    env: str,
    replace: tuple[str, ...] = (),
) -> dict[str, dict[str, Any]]:
    """A plan for every stack of one environment (one, or one per pipeline: whatever the app
    synthesizes); `after=None` destroys them all."""
    project = example_raw_config()["project"]
    names = set(before) | set(after or {})
    return {
        name: build_plan(before.get(name), (after or {}).get(name), replace)
        for name in sorted(names)
        if is_environment_stack(name, project, env)
    }


def row(
    pipeline: str | None, create: int, update: int, replace: int, delete: int
) -> re.Pattern[str]:
    """The summary row of a pipeline, in whichever stack holds it."""
    cells = " | ".join(str(n) if n else "·" for n in (create, update, replace, delete))
    label = f"pipeline `{pipeline}`" if pipeline else "shared (base)"
    return re.compile(rf"^\| `[a-z0-9-]+` \| {re.escape(label)} \| {re.escape(cells)} \|$", re.M)


def bucket_address(stacks: dict[str, dict[str, Any]], env: str, role: str) -> str:
    found = [
        f"aws_s3_bucket.{name}"
        for stack, body in stacks.items()
        if is_environment_stack(stack, example_raw_config()["project"], env)
        for name in body.get("resource", {}).get("aws_s3_bucket", {})
        if f"_{role}_" in name
    ]
    assert len(found) == 1, found
    return found[0]
