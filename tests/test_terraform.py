"""Terraform's own verdict on the synthesized stacks, where terraform and the AWS provider exist.

The build machines have a `terraform` binary but no registry access, so `terraform init` cannot
install hashicorp/aws: these tests then skip and say why. On a machine with registry access (or a
provider mirror / plugin cache) they run.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from imports.core import Testing
from modules.config import ProjectConfig


@cache
def terraform_unavailable(probe_dir: Path) -> str | None:
    """None when `terraform init` can install the AWS provider here, else the reason it cannot."""
    if shutil.which("terraform") is None:
        return "terraform is not installed"
    result = subprocess.run(
        ["terraform", "init", "-backend=false", "-input=false", "-no-color"],
        cwd=probe_dir,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if result.returncode != 0:
        errors = [line.strip("│ ") for line in result.stderr.splitlines() if "Error" in line]
        return "terraform cannot install the AWS provider here: " + (errors[:1] or ["unknown"])[0]
    return None


def _init_and_validate(stack_dir: Path) -> subprocess.CompletedProcess[str]:
    reason = terraform_unavailable(stack_dir)
    if reason:
        pytest.skip(reason)
    return subprocess.run(
        ["terraform", "validate", "-no-color"],
        cwd=stack_dir,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_dev_stack_is_valid_terraform(default_config: ProjectConfig) -> None:
    from modules.stacks.environment import EnvironmentStack

    stack = EnvironmentStack(
        Testing.app(), default_config.project, default_config.environments["dev"]
    )
    out_dir = Path(Testing.full_synth(stack))
    stack_dir = next(out_dir.glob("stacks/*"))
    reason = terraform_unavailable(stack_dir)
    if reason:
        pytest.skip(reason)
    assert Testing.to_be_valid_terraform(str(out_dir))


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_terraform_validate(
    env: str,
    default_config: ProjectConfig,
    synth_env: Callable[[ProjectConfig, str], str],
    tmp_path: Path,
) -> None:
    (tmp_path / "cdk.tf.json").write_text(synth_env(default_config, env))
    result = _init_and_validate(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
