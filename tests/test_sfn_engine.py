"""The Step Functions engine the execution tests run on: pinned, and its patches fail loudly."""

from __future__ import annotations

import subprocess

import pytest

from tests.sfn_engine import ENGINE_DIR, ENGINE_PYTHON

_TASK = "localstack.services.stepfunctions.asl.component.state.state_execution.state_task"
MOVED = {
    "sagemaker-sync": f"from {_TASK}.service.state_task_service_callback import "
    "StateTaskServiceCallback as C; C._assert_integration_pattern_is_supported = lambda self: None",
    "states-error-names": f"import {_TASK}.local_mock_eval_utils as m; del m.CustomErrorName",
    "retry-clock": "from localstack.services.stepfunctions.asl.component.common.retry import "
    "retrier_decl as r; r.RetrierDecl._eval_body = lambda self, env: None",
    "mock-request": f"import {_TASK}.service.state_task_service as s; "
    "s.StateTaskService._eval_execution = lambda self, env: None",
    "jsonpath-cache": "import localstack.services.stepfunctions.asl.utils.json_path as j; "
    "j.parse = None",
}


def _apply_patches(prelude: str) -> subprocess.CompletedProcess[str]:
    assert ENGINE_PYTHON.exists(), "the engine is installed by `make test` (tools/sfn-engine)"
    path = f"import sys; sys.path.insert(0, {str(ENGINE_DIR)!r})"
    script = f"{path}; {prelude}; import patches; patches.apply()"
    return subprocess.run(
        [str(ENGINE_PYTHON), "-c", script], capture_output=True, text=True, timeout=120
    )


def test_the_engine_version_is_the_one_the_patches_are_written_for() -> None:
    lock = (ENGINE_DIR / "Pipfile.lock").read_text()
    assert '"version": "==2026.3.0"' in lock.split('"localstack-core"')[1][:600]
    result = _apply_patches("pass")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("patch", sorted(MOVED))
def test_a_patch_whose_engine_code_moved_fails_in_one_line(patch: str) -> None:
    result = _apply_patches(MOVED[patch])
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"patches.EnginePatchError: engine patch {patch!r}: "), last
