"""The per-pipeline layout: a base stack, one stack per pipeline, a dashboard stack.

Proves what the split promises: the same resources at the same addresses as the one-stack layout,
a base stack that does not change with the pipelines, one state per stack, cross-stack references
only through the base stack's outputs, and that a change to one pipeline reaches one stack.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modules.config import ProjectConfig
from tests.support import invariants
from tools.synth import stack_files, synthesize

LARGEST_PIPELINE_STACK = 30
Stacks = dict[str, str]


def _synth_app(config: ProjectConfig, outdir: Path, env: str) -> Stacks:
    synthesize(config, outdir, [env])
    return {name: path.read_text() for name, path in stack_files(outdir).items()}


@pytest.fixture
def synth_dev(tmp_path: Path) -> Callable[[ProjectConfig], Stacks]:
    """Every stack of the dev environment of a config, as the exact bytes written."""
    count = iter(range(100))

    def synth(config: ProjectConfig) -> Stacks:
        return _synth_app(config, tmp_path / f"app-{next(count)}", "dev")

    return synth


def _addresses(document: dict[str, Any]) -> set[str]:
    return {f"{t}.{i}" for t, rs in document.get("resource", {}).items() for i in rs}


def _example(stacks: dict[str, dict[str, Any]], env: str) -> dict[str, dict[str, Any]]:
    prefix = f"example/mlbatch-{env}"
    return {
        name.removeprefix("example/"): doc
        for name, doc in stacks.items()
        if name == prefix or name.startswith(f"{prefix}-")
    }


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_split_holds_the_same_resources_at_the_same_addresses(
    env: str,
    stacks: dict[str, dict[str, Any]],
    default_config: ProjectConfig,
    synth_env: Callable[[ProjectConfig, str], str],
) -> None:
    """So moving state from the one-stack layout moves each address unchanged."""
    single = json.loads(synth_env(default_config, env))
    split = _example(stacks, env)
    per_stack = [_addresses(doc) for doc in split.values()]
    assert sum(len(a) for a in per_stack) == len(set().union(*per_stack))  # no address twice
    assert set().union(*per_stack) == _addresses(single)
    assert all(
        address.split(".")[1].startswith(f"pipeline-{name.rsplit('-', 1)[1]}_")
        for name, doc in split.items()
        if name.removeprefix(f"mlbatch-{env}-") in ("churn", "ltv")
        for address in _addresses(doc)
    )


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_each_stack_has_its_own_state_and_pipelines_read_the_base_state(
    env: str, stacks: dict[str, dict[str, Any]]
) -> None:
    split = _example(stacks, env)
    base_name = f"mlbatch-{env}"
    backends = {name: doc["terraform"]["backend"] for name, doc in split.items()}
    locations = [json.dumps(b, sort_keys=True) for b in backends.values()]
    assert len(set(locations)) == len(split), "two stacks share a state"
    [(kind, base_backend)] = backends[base_name].items()
    for name in (f"{base_name}-churn", f"{base_name}-ltv"):
        [remote] = split[name]["data"]["terraform_remote_state"].values()
        assert remote["backend"] == kind
        for setting in ("path", "bucket", "key", "region"):
            assert remote["config"].get(setting) == base_backend.get(setting), setting
        # Everything of the base stack passes through local.base, nothing else reads it.
        text = json.dumps(split[name]["resource"])
        assert "terraform_remote_state" not in text and "${local.base." in text
        assert set(split[name]["locals"]["base"]) == {
            "kms_key_arn",
            "kms_key_alias",
            "alert_topic_arn",
            "alert_key_arn",
            "schedule_group",
            *(
                f"{p}_bucket{s}"
                for p in ("input", "output", "models", "logs")
                for s in ("", "_arn")
            ),
        }
    assert "terraform_remote_state" not in json.dumps(split[f"{base_name}-dashboard"])
    assert (
        "data" not in split[base_name] or "terraform_remote_state" not in split[base_name]["data"]
    )


def test_deploy_order_base_then_pipelines_then_dashboard(
    tmp_path: Path, default_config: ProjectConfig
) -> None:
    synthesize(default_config, outdir=tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())["stacks"]
    dependencies = {name: sorted(s["dependencies"]) for name, s in manifest.items()}
    assert dependencies["mlbatch-prod"] == []
    assert dependencies["mlbatch-prod-churn"] == ["mlbatch-prod"]
    assert dependencies["mlbatch-prod-ltv"] == ["mlbatch-prod"]
    assert dependencies["mlbatch-prod-dashboard"] == ["mlbatch-prod-churn", "mlbatch-prod-ltv"]


def test_changing_one_pipeline_changes_exactly_its_stack_byte_for_byte(
    make_config: Callable[..., ProjectConfig], synth_dev: Callable[[ProjectConfig], Stacks]
) -> None:
    def bigger_churn(raw: dict[str, Any]) -> None:
        raw["pipelines"][0]["transform"]["instance_type"] = "ml.c5.4xlarge"
        raw["pipelines"][0]["schedule"]["expression"] = "rate(2 hours)"
        raw["pipelines"][0]["alarms"] = {"dlq_messages_threshold": 3}

    before, after = synth_dev(make_config()), synth_dev(make_config(bigger_churn))
    assert set(before) == set(after)
    changed = sorted(name for name in before if before[name] != after[name])
    assert changed == ["mlbatch-dev-churn"]


def test_adding_a_pipeline_adds_its_stack_and_changes_only_the_dashboard(
    make_config: Callable[..., ProjectConfig], synth_dev: Callable[[ProjectConfig], Stacks]
) -> None:
    def third_pipeline(raw: dict[str, Any]) -> None:
        churn = json.loads(json.dumps(raw["pipelines"][0]))
        churn["name"] = "upsell"
        churn["model"]["artifact_key"] = "upsell/model.tar.gz"
        raw["pipelines"].append(churn)

    before, after = synth_dev(make_config()), synth_dev(make_config(third_pipeline))
    assert set(after) - set(before) == {"mlbatch-dev-upsell"}
    assert set(before) <= set(after)
    changed = sorted(name for name in before if before[name] != after[name])
    assert changed == ["mlbatch-dev-dashboard"]
    assert "mlbatch-dev-upsell" in after["mlbatch-dev-dashboard"]


def test_base_stack_does_not_grow_with_pipelines(
    make_config: Callable[..., ProjectConfig], synth_dev: Callable[[ProjectConfig], Stacks]
) -> None:
    def only_ltv(raw: dict[str, Any]) -> None:
        # A registry-following pipeline alone uses neither the model bucket nor a SageMaker model:
        # the base stack must still export exactly the same.
        raw["pipelines"] = raw["pipelines"][1:]
        for env in raw["environments"].values():
            env.get("pipelines", {}).pop("churn", None)

    one, two = synth_dev(make_config(only_ltv)), synth_dev(make_config())
    assert one["mlbatch-dev"] == two["mlbatch-dev"]
    assert set(two) - set(one) == {"mlbatch-dev-churn"}


def test_largest_pipeline_stack_is_small(
    full_config: ProjectConfig, tmp_path: Path, stacks: dict[str, dict[str, Any]]
) -> None:
    """Every optional feature on (all-features.yaml, here in the per-pipeline layout)."""
    env = full_config.environments["stage"].model_copy(update={"layout": "per-pipeline"})
    config = full_config.model_copy(update={"environments": {"stage": env}})
    split = _synth_app(config, tmp_path, "stage")
    sizes = {
        name: sum(len(r) for r in json.loads(doc).get("resource", {}).values())
        for name, doc in split.items()
    }
    pipelines = {n: s for n, s in sizes.items() if n not in ("full-stage", "full-stage-dashboard")}
    assert len(pipelines) == len(env.pipelines)
    assert max(pipelines.values()) <= LARGEST_PIPELINE_STACK, pipelines
    # The same resources as the one-stack layout of the same config, split without loss.
    whole = stacks["all-features/full-stage"]
    assert sum(sizes.values()) == sum(len(r) for r in whole["resource"].values())
    types = Counter(t for doc in split.values() for t in json.loads(doc).get("resource", {}))
    assert types["aws_sfn_state_machine"] == len(env.pipelines)


def test_single_layout_is_one_stack(
    make_config: Callable[..., ProjectConfig], synth_dev: Callable[[ProjectConfig], Stacks]
) -> None:
    def single(raw: dict[str, Any]) -> None:
        raw["environments"]["dev"]["layout"] = "single"

    assert list(synth_dev(make_config(single))) == ["mlbatch-dev"]


def test_a_local_state_path_is_per_stack_outside_cdktf_out_and_read_across_stacks(
    make_config: Callable[..., ProjectConfig], synth_dev: Callable[[ProjectConfig], Stacks]
) -> None:
    """Found by the generated configs: a path was taken relative to cdktf.out/stacks/<stack>/, so
    'state/{stack}.tfstate' put every state inside cdktf.out/ (which each synth replaces), and a
    pipeline stack's remote state looked for the base stack's file in its own directory."""

    def state_dir(raw: dict[str, Any]) -> None:
        raw["environments"]["dev"]["state"] = {"backend": "local", "path": "st/{stack}.tfstate"}

    split = {name: json.loads(doc) for name, doc in synth_dev(make_config(state_dir)).items()}
    paths = {name: doc["terraform"]["backend"]["local"]["path"] for name, doc in split.items()}
    project = Path("/project")
    for name, path in paths.items():
        assert (
            project / "cdktf.out/stacks" / name / path
        ).resolve() == project / f"st/{name}.tfstate"
    assert invariants.reference_problems(split) == []
    assert invariants.backend_problems(split) == []
