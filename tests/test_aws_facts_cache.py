"""modules/config/aws_facts.json is botocore's data, only smaller: it matches what the installed
botocore gives, validation reads nothing else, and botocore answers whatever it cannot."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from modules.config import aws_names, botocore_facts
from modules.config.botocore_facts import (
    CACHE_PATH,
    _service_model,
    request_member,
    sagemaker_shape,
)
from tests.conftest import FIXTURES, REPO
from tools import aws_facts_cache


@pytest.fixture
def fresh_facts() -> Iterator[None]:
    """botocore_facts' (and aws_names') per-process caches emptied before and after the test."""
    cached = (
        botocore_facts._cached,
        botocore_facts.regions_with,
        botocore_facts._partitions,
        aws_names.name_rule,
    )
    for function in cached:
        function.cache_clear()
    yield
    for function in cached:
        function.cache_clear()


def test_the_cache_is_what_the_installed_botocore_gives() -> None:
    committed = CACHE_PATH.read_text()
    assert committed == aws_facts_cache.render(), "aws_facts.json is stale: make docs"
    cache = json.loads(committed)
    for service, shapes in cache["shapes"].items():
        model = _service_model(service)["shapes"]
        assert all(shape == model[name] for name, shape in shapes.items()), service


def test_validation_and_the_workflow_read_botocore_not_at_all() -> None:
    program = (
        "import sys; from modules.config import load_config; "
        f"load_config({str(FIXTURES / 'all-features.yaml')!r}); "
        "import modules.workflow; "  # its requests' bounds (botocore_facts.WORKFLOW_MEMBERS)
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'botocore'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_cache_from_another_botocore_is_not_used(
    fresh_facts: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = json.loads(CACHE_PATH.read_text())
    stale["botocore"] = "0.0.1"
    stale["shapes"]["iam"]["roleNameType"]["max"] = 1  # what an old botocore might have said
    monkeypatch.setattr(botocore_facts, "CACHE_PATH", tmp_path / "aws_facts.json")
    botocore_facts.CACHE_PATH.write_text(json.dumps(stale))
    assert botocore_facts._cached() == {}
    assert request_member("iam:CreateRole.RoleName")["max"] == 64


def test_what_the_cache_does_not_hold_comes_from_botocore(fresh_facts: None) -> None:
    assert "CreateEndpointInput" not in json.loads(CACHE_PATH.read_text())["shapes"]["sagemaker"]
    endpoint = sagemaker_shape("CreateEndpointInput.EndpointName")
    assert endpoint == _service_model("sagemaker")["shapes"]["EndpointName"]
