"""Run by terraform, without the AWS provider: moving a one-stack environment's state to the
per-pipeline layout (tools/split_state.py), and the cross-stack wiring of the local backend.

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
from tools.split_state import split_state

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
