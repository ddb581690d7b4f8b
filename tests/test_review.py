"""`make review` (tools/plan_review/review.py): a commit and the working tree, both synthesized,
reviewed as a plan; run on a clone of this repository whose config is the example fixture."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modules.config import DEFAULT_CONFIG_PATH
from tests.conftest import EXAMPLE_CONFIG, REPO
from tools.plan_review import review as review_module
from tools.plan_review.base_cache import KEEP, BaseCache, cache_key
from tools.plan_review.report import EXIT_GUARD
from tools.plan_review.review import MARKER, review

# The app's default config file, in the clone (this repository's own is never read here).
APP_CONFIG = DEFAULT_CONFIG_PATH.relative_to(REPO)


@pytest.fixture(autouse=True)
def _each_trees_own_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make review` as it is run: no $PIPELINE_CONFIG, so each tree's default config file
    (``APP_CONFIG``) is read; here the clone's and its commit's (the example fixture). The
    session's guard (tests/support/team_config_guard.py) still refuses this repository's own."""
    monkeypatch.delenv("PIPELINE_CONFIG")


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository's HEAD, with the example config committed as its config."""
    target = tmp_path_factory.mktemp("review") / "repo"
    subprocess.run(["git", "clone", "-q", str(REPO), str(target)], check=True)
    (target / APP_CONFIG).write_text(EXAMPLE_CONFIG.read_text())
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "commit", "-qam", "example config"], cwd=target, check=True)
    return target


def _edit(clone: Path, old: str, new: str) -> None:
    config = clone / APP_CONFIG
    config.write_text(EXAMPLE_CONFIG.read_text().replace(old, new, 1))


@dataclass
class Reviewed:
    text: str
    status: int
    synthesized: list[Path]  # the trees synthesized for the review (the base, the working tree)


@pytest.fixture(scope="module")
def reviews_of_a_changed_instance_count(clone: Path) -> tuple[Reviewed, Reviewed]:
    """The same change reviewed twice: with the base synthesized (and kept), then read from the
    cache; each with the trees the review synthesized."""
    _edit(
        clone,
        "      instance_count: 2\n      max_payload",
        "      instance_count: 3\n      max_payload",
    )
    synthesized: list[Path] = []
    start = review_module.start_app

    def recording(tree: Path, outdir: Path, **options: Any) -> Any:
        synthesized.append(tree)
        return start(tree, outdir, **options)

    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("PIPELINE_CONFIG")  # as _each_trees_own_config, which runs after this
        patch.setattr(review_module, "start_app", recording)
        runs = []
        for read_cache in (False, True):
            synthesized.clear()
            text, status = review("HEAD", repo=clone, read_cache=read_cache)
            runs.append(Reviewed(text, status, list(synthesized)))
    return runs[0], runs[1]


def test_a_changed_instance_count_is_reviewed_as_the_changed_stack(
    reviews_of_a_changed_instance_count: tuple[Reviewed, Reviewed],
) -> None:
    fresh, _ = reviews_of_a_changed_instance_count
    text = fresh.text
    assert fresh.status == 0
    assert text.startswith(f"{MARKER}\n## Configuration review\n")
    assert "No Terraform state" in text and "drift" in text
    assert "**9 stacks: 0 to create, 2 to update, 0 to replace, 0 to delete.**" in text
    assert "### Stack `mlbatch-prod-ltv`" in text
    assert "`Parameters.TransformResources.InstanceCount`: `2` → `3`" in text


def test_the_base_is_synthesized_once_and_then_read_from_the_cache(
    clone: Path, reviews_of_a_changed_instance_count: tuple[Reviewed, Reviewed]
) -> None:
    fresh, cached = reviews_of_a_changed_instance_count
    assert len(fresh.synthesized) == 2 and fresh.synthesized[-1] == clone  # base, working tree
    assert cached.synthesized == [clone]  # the working tree only
    assert (cached.text, cached.status) == (fresh.text, fresh.status)


def test_nothing_changed_reviews_every_stack_as_unchanged(clone: Path) -> None:
    _edit(clone, "", "")
    text, status = review("HEAD", repo=clone)
    assert status == 0
    assert "0 to create, 0 to update, 0 to replace, 0 to delete" in text


def test_data_at_risk_exits_3(clone: Path) -> None:
    # Renaming the project renames (replaces) prod's buckets, which hold data.
    _edit(clone, "project: mlbatch", "project: mlbatch2")
    text, status = review("HEAD", repo=clone)
    assert status == EXIT_GUARD
    assert "Data at risk" in text


def test_a_relative_config_path_is_read_in_each_tree(
    clone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative PIPELINE_CONFIG (``APP_CONFIG``) names each tree's own file: the roles of the
    working tree's stacks come from the reviewed repository's, not from the directory the review
    runs in (here this repository, whose config the guard refuses)."""
    _edit(clone, "project: mlbatch", "project: mlbatch2")
    monkeypatch.setenv("PIPELINE_CONFIG", str(APP_CONFIG))
    text, status = review("HEAD", repo=clone)
    assert status == EXIT_GUARD
    assert "### Stack `mlbatch2-prod`: base, environment `prod`" in text


def test_a_base_config_the_working_tree_refuses_is_still_reviewed(
    clone: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The base is synthesized by its own code, but its config is read for the stacks' roles by
    the working tree's: a field renamed since must not end the review in a traceback."""
    from modules.config import ConfigError

    roles_of = review_module._roles

    def refusing_the_base(config_path: str) -> Any:
        if not config_path.startswith(str(clone)):  # the base's tree is a temporary export
            raise ConfigError("", [f"{config_path}:1: renamed: no such field"])
        return roles_of(config_path)

    monkeypatch.setattr(review_module, "_roles", refusing_the_base)
    _edit(clone, "", "")
    text, status = review("HEAD", repo=clone)
    assert status == 0
    assert "0 to create, 0 to update, 0 to replace, 0 to delete" in text


def test_the_cache_key_follows_what_the_base_synthesis_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "outside.yaml"
    config.write_text("project: a\n")
    outside = cache_key("c1", str(config), tree_relative=False)
    assert outside == cache_key("c1", str(config), tree_relative=False)
    assert outside != cache_key("c2", str(config), tree_relative=False)  # another commit
    config.write_text("project: b\n")
    assert outside != cache_key("c1", str(config), tree_relative=False)  # a config outside changed
    # A config inside the tree is the commit's own: its path is the key, not its content here.
    monkeypatch.chdir(tmp_path)
    in_tree = cache_key("c1", config.name, tree_relative=True)
    config.write_text("project: c\n")
    assert in_tree == cache_key("c1", config.name, tree_relative=True)


def test_a_half_written_entry_is_a_miss_and_old_entries_go(tmp_path: Path) -> None:
    cache = BaseCache(tmp_path / "cache")
    cache.put("broken", {"s": {}})
    (cache.folder / "broken.json").write_text('{"stacks": {"s"')  # cut short
    assert cache.get("broken") is None
    for n in range(KEEP + 2):
        cache.put(f"k{n}", {f"stack{n}": {}})
        os.utime(cache.folder / f"k{n}.json", (n + 10, n + 10))
    cache.put("newest", {"stack": {}})
    kept = sorted(p.stem for p in cache.folder.glob("*.json"))
    assert len(kept) == KEEP and "newest" in kept and "k0" not in kept
    assert cache.get("newest") == {"stack": {}}


def test_a_config_error_exits_2(clone: Path) -> None:
    _edit(clone, "instance_type: ml.m5.2xlarge", "instance_type: ml.m5.3xlarge")
    result = subprocess.run(
        ["make", "--no-print-directory", "review", "BASE=HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"PIPELINE_CONFIG": str(clone / APP_CONFIG), **_path()},
    )
    assert result.returncode == 2
    assert "config error:" in result.stderr and "instance_type" in result.stderr
    assert "review: status 2" in result.stderr


def _path() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PIPELINE_CONFIG"}


def test_every_pull_request_gets_the_configuration_review() -> None:
    import yaml

    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "plan-review.yml").read_text())
    jobs = workflow["jobs"]
    review_job = jobs["config-review"]
    assert "needs" not in review_job and "if" not in review_job  # every pull request, at once
    assert "needs" not in jobs["plan"]  # the plan's review does not wait for the tests either
    run = "\n".join(step.get("run", "") for step in review_job["steps"])
    assert "-m tools.plan_review.review --base" in run
    posted = [s for s in review_job["steps"] if s.get("uses") == "./.github/actions/pr-comment"]
    assert posted and posted[0]["with"]["marker"] == MARKER
