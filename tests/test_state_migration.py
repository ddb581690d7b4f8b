"""Run by terraform, without the AWS provider: moving a one-stack environment's state to the
per-pipeline layout (tools/split_state.py), the cross-stack wiring of the local backend, moving
the state bootstraps' files to their stable names (tools/state_move.py) and a bootstrap's state
into its own bucket (tools/state_self_host.py, with a local stand-in for the bucket).

Without the AWS provider, real resources cannot be planned here. Terraform's built-in
``terraform_data`` can: every resource of the dev environment becomes a ``terraform_data`` with
the same logical id, in one stack (the old layout) and in the per-pipeline stacks (the new one).
The old stack is applied, its state split with ``terraform state mv``, and each new stack must
then plan no change: every resource arrived in its stack's state, and nothing else did.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modules.config import ProjectConfig
from modules.stack_names import bootstrap_stack_prefix, state_bootstraps
from tests.test_config_cross_checks import parse
from tools.split_state import managed_addresses, split_state
from tools.state_move import legacy_bootstraps, move_bootstrap_states, state_file
from tools.state_self_host import LOCAL_OVERRIDE, self_host

TERRAFORM = shutil.which("terraform")
pytestmark = pytest.mark.skipif(TERRAFORM is None, reason="terraform is not installed")
BASE = "mlbatch-dev"


def _as_terraform_data(document: dict[str, Any], state: Path) -> dict[str, Any]:
    """The stack's resources as terraform_data, addresses kept apart by type in the name."""
    return {
        "terraform": {"backend": {"local": {"path": str(state)}}},
        "resource": {
            "terraform_data": {
                f"{resource_type}--{name}": {"input": f"{resource_type}.{name}"}
                for resource_type, instances in sorted(document.get("resource", {}).items())
                for name in sorted(instances)
            }
        },
    }


def _terraform(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert TERRAFORM is not None
    return subprocess.run(
        [TERRAFORM, f"-chdir={directory}", *args, "-no-color"],
        capture_output=True,
        text=True,
        env={
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "PATH": "/usr/bin:/bin",
        },
    )


def _stack_dir(root: Path, name: str, document: dict[str, Any], state: Path) -> Path:
    directory = root / name
    directory.mkdir(parents=True)
    (directory / "cdk.tf.json").write_text(json.dumps(_as_terraform_data(document, state)))
    result = _terraform(directory, "init")
    assert result.returncode == 0, result.stderr
    return directory


def test_single_stack_state_splits_into_the_per_pipeline_states(
    tmp_path: Path,
    stacks: dict[str, dict[str, Any]],
    default_config: ProjectConfig,
    synth_env: Callable[[ProjectConfig, str], str],
) -> None:
    old_state = tmp_path / "old.tfstate"
    single = json.loads(synth_env(default_config, "dev"))
    old = _stack_dir(tmp_path / "old", BASE, single, old_state)
    applied = _terraform(old, "apply", "-auto-approve")
    assert applied.returncode == 0, applied.stderr

    split = {
        name.removeprefix("example/"): doc
        for name, doc in stacks.items()
        if name == f"example/{BASE}" or name.startswith(f"example/{BASE}-")
    }
    new_states = tmp_path / "split"
    new = tmp_path / "new"
    dirs = {
        name: _stack_dir(new, name, doc, new_states / f"{name}.tfstate")
        for name, doc in split.items()
    }
    # Before the move, a pipeline stack would create everything again: the check below can fail.
    assert _terraform(dirs[f"{BASE}-churn"], "plan", "-detailed-exitcode").returncode == 2

    counts = split_state(old_state, BASE, new, new_states, terraform=TERRAFORM or "terraform")
    assert set(counts) == set(split)
    assert sum(counts.values()) == len(
        _as_terraform_data(single, old_state)["resource"]["terraform_data"]
    )
    for name, directory in dirs.items():
        plan = _terraform(directory, "plan", "-detailed-exitcode")
        assert plan.returncode == 0, f"{name}: {plan.stdout}{plan.stderr}"
    assert json.loads(old_state.read_text())["resources"], "the input state was changed"


def test_pipeline_stack_reads_the_base_stack_outputs_through_local_state(
    tmp_path: Path, stacks: dict[str, dict[str, Any]]
) -> None:
    """The wiring cdktf generated (backend paths, remote state, output names, ``local.base``),
    run by terraform: the base stack's outputs (literal stand-ins for its resources' attributes)
    reach the pipeline stack. Both keep their state where the dev backends say: the project root."""
    base, churn = stacks[f"example/{BASE}"], stacks[f"example/{BASE}-churn"]
    project = tmp_path / "project"
    base_outputs = {
        name: {"value": f"from-base:{name}", "sensitive": True}
        for name in base["output"]
        if name.startswith("cross-stack-output-")
    }
    documents = {
        BASE: {"terraform": {"backend": base["terraform"]["backend"]}, "output": base_outputs},
        f"{BASE}-churn": {
            "terraform": {"backend": churn["terraform"]["backend"]},
            "data": {"terraform_remote_state": churn["data"]["terraform_remote_state"]},
            "locals": churn["locals"],
            "resource": {"terraform_data": {"uses_key": {"input": "${local.base.kms_key_arn}"}}},
            "output": {"base": {"value": "${local.base}"}},  # an error if it were sensitive
        },
    }
    for name, document in documents.items():
        directory = project / "cdktf.out" / "stacks" / name
        directory.mkdir(parents=True)
        (directory / "cdk.tf.json").write_text(json.dumps(document))
        for command in (["init"], ["plan"], ["apply", "-auto-approve"]):
            result = _terraform(directory, *command)
            assert result.returncode == 0, f"{name} {command}: {result.stdout}{result.stderr}"
            if name != BASE and command == ["plan"]:
                # cdktf marks its cross-stack outputs sensitive; the mark does not travel through
                # terraform_remote_state, so pipeline plans show key and bucket ARNs in clear.
                assert 'input  = "from-base:cross-stack-output-aws_kms_key' in result.stdout
                assert "(sensitive value)" not in result.stdout
    assert sorted(p.name for p in project.glob("terraform.*.tfstate")) == [
        f"terraform.{BASE}-churn.tfstate",
        f"terraform.{BASE}.tfstate",
    ]
    shown = _terraform(project / "cdktf.out" / "stacks" / f"{BASE}-churn", "output", "-json")
    received = json.loads(shown.stdout)["base"]["value"]
    assert set(received) == set(churn["locals"]["base"])
    for key, value in received.items():
        assert value.startswith("from-base:cross-stack-output-"), key
    assert received["kms_key_arn"] == "from-base:" + next(
        n for n in base_outputs if n.startswith("cross-stack-output-aws_kms_keystorage_key")
    )


# --- the state bootstraps: stable names (tools/state_move.py) and self-hosting -----------------


def _bootstrap_docs(config: ProjectConfig, outdir: Path) -> dict[str, dict[str, Any]]:
    from tools.synth import synthesize

    prefix = bootstrap_stack_prefix(config.project)
    return {n: d for n, d in synthesize(config, outdir).items() if n.startswith(f"{prefix}-")}


def _applied_old_bootstrap(root: Path, documents: list[dict[str, Any]], state: Path) -> None:
    """The old bootstrap stack, applied: every resource of ``documents`` in one state."""
    merged: dict[str, Any] = {}
    for document in documents:
        for resource_type, instances in document["resource"].items():
            merged.setdefault(resource_type, {}).update(instances)
    old = _stack_dir(root, "old", {"resource": merged}, state)
    assert _terraform(old, "apply", "-auto-approve").returncode == 0


def _moved_into_new_stacks(
    tmp_path: Path, config: ProjectConfig, old_name: str
) -> tuple[dict[str, Path], list[str]]:
    project = tmp_path / "project"
    project.mkdir()
    documents = _bootstrap_docs(config, tmp_path / "out")
    _applied_old_bootstrap(
        tmp_path / "old", list(documents.values()), state_file(project, old_name)
    )
    stacks = tmp_path / "stacks"
    dirs = {
        name: _stack_dir(stacks, name, doc, state_file(project, name))
        for name, doc in documents.items()
    }
    # Before the move each new stack would create its resources again: the check below can fail.
    assert all(_terraform(d, "plan", "-detailed-exitcode").returncode == 2 for d in dirs.values())
    done = move_bootstrap_states(config, project, stacks, terraform=TERRAFORM or "terraform")
    for name, directory in dirs.items():
        plan = _terraform(directory, "plan", "-detailed-exitcode")
        assert plan.returncode == 0, f"{name}: {plan.stdout}{plan.stderr}"
    assert not state_file(project, old_name).exists()
    assert state_file(project, old_name).with_suffix(".tfstate.moved").exists()
    return dirs, done


def test_state_move_renames_a_single_account_bootstrap_to_its_stable_name(
    tmp_path: Path, default_config: ProjectConfig
) -> None:
    # Before the stable names, one account's bootstrap was <project>-state.
    old = bootstrap_stack_prefix(default_config.project)
    dirs, done = _moved_into_new_stacks(tmp_path, default_config, old)
    [new] = dirs
    assert new != old and len(done) == 1
    # Once moved, nothing is left to move; a second run changes nothing.
    project = tmp_path / "project"
    kept = state_file(project, new).read_text()
    assert move_bootstrap_states(default_config, project, tmp_path / "stacks") == []
    assert state_file(project, new).read_text() == kept


def test_state_move_splits_an_old_bootstrap_of_unpinned_buckets_into_one_each(
    tmp_path: Path,
) -> None:
    def edit(raw: dict[str, Any]) -> None:
        del raw["environments"]["prod"]["account_id"]
        raw["environments"]["staging"] = {"state": {"backend": "s3", "bucket": "mlb-tfstate-stg"}}

    config = parse(edit)
    # Every environment unpinned, in one region: the old rule made that one <project>-state.
    assert list(legacy_bootstraps(config)) == [bootstrap_stack_prefix(config.project)]
    dirs, _ = _moved_into_new_stacks(tmp_path, config, bootstrap_stack_prefix(config.project))
    assert len(dirs) == 2


def test_state_move_leaves_an_existing_new_state_as_it_is(
    tmp_path: Path, default_config: ProjectConfig
) -> None:
    project = tmp_path
    [new] = [b.name for b in state_bootstraps(default_config)]
    old = state_file(project, bootstrap_stack_prefix(default_config.project))
    old.write_text('{"old": true}')
    state_file(project, new).write_text('{"new": true}')
    done = move_bootstrap_states(default_config, project, tmp_path / "stacks")
    assert done == [f"{state_file(project, new)} exists: left as it is"]
    assert json.loads(state_file(project, new).read_text()) == {"new": True}
    assert old.exists()


def _bootstrap_with_stand_in_bucket(
    tmp_path: Path, default_config: ProjectConfig
) -> tuple[Path, Path, Path]:
    """The bootstrap's stack directory with its backend pointed at a stand-in for its S3 key (a
    local path: no AWS here), and its local state file after the first apply."""
    [(name, document)] = _bootstrap_docs(default_config, tmp_path / "out").items()
    local = state_file(tmp_path / "project", name)
    local.parent.mkdir()
    _applied_old_bootstrap(tmp_path / "first-apply", [document], local)
    remote = tmp_path / "bucket" / f"{name}.tfstate"
    return _stack_dir(tmp_path / "stacks", name, document, remote), local, remote


def test_self_host_moves_the_bootstrap_state_into_its_backend(
    tmp_path: Path, default_config: ProjectConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHECKPOINT_DISABLE", "1")
    stack, local, remote = _bootstrap_with_stand_in_bucket(tmp_path, default_config)
    assert _terraform(stack, "plan", "-detailed-exitcode").returncode == 2
    expected = managed_addresses(local)
    assert self_host(stack, local, terraform=TERRAFORM or "terraform") == len(expected)
    assert managed_addresses(remote) == expected
    assert _terraform(stack, "plan", "-detailed-exitcode").returncode == 0
    assert not local.exists() and local.with_suffix(".tfstate.self-hosted").exists()
    assert not (stack / LOCAL_OVERRIDE).exists()


def test_self_host_refuses_a_backend_that_holds_state_already(
    tmp_path: Path, default_config: ProjectConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHECKPOINT_DISABLE", "1")
    stack, local, remote = _bootstrap_with_stand_in_bucket(tmp_path, default_config)
    remote.parent.mkdir()
    shutil.copyfile(local, remote)
    kept = remote.read_text()
    stale = json.loads(local.read_text()) | {"resources": []}
    local.write_text(json.dumps(stale))  # a stale copy would overwrite it under -force-copy
    with pytest.raises(SystemExit, match="holds state already, nothing moved"):
        self_host(stack, local, terraform=TERRAFORM or "terraform")
    assert remote.read_text() == kept and local.exists()
