"""The product's tests read no team config (tests/support/team_config_guard.py, installed by
tests/conftest.py): proved on a session of its own, whose tests read the team's config each way a
test could, against one that names a fixture; and off in `make check`'s session."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXAMPLE_CONFIG, REPO
from tools.check import CHECK_CONFIG_ENV_VAR

PROBES = f"""
import os
import subprocess
import sys

from modules.config import DEFAULT_CONFIG_PATH, load_config


def test_loads_the_default_config():
    load_config()


def test_opens_the_default_path_and_swallows_the_refusal():
    try:
        DEFAULT_CONFIG_PATH.read_text()
    except Exception:
        pass


def test_starts_a_process_that_loads_the_default_config():
    program = "from modules.config import load_config; load_config()"
    subprocess.run([sys.executable, "-c", program], cwd={str(REPO)!r}, check=True)


def test_names_a_fixture():
    load_config({str(EXAMPLE_CONFIG)!r})


def test_config_variable_is_as_the_caller_set_it():
    assert os.environ.get("PIPELINE_CONFIG") == {str(EXAMPLE_CONFIG)!r}
"""


def _session(tmp_path: Path, *args: str, **env: str) -> dict[str, str]:
    """Each probe's outcome (PASSED, FAILED, ERROR; a test failing at teardown is both) in a
    pytest session with tests/conftest.py as its plugin, started with $PIPELINE_CONFIG naming
    the example fixture (as a developer's shell might name any config) and ``env``."""
    probes = tmp_path / "test_probes.py"
    probes.write_text(PROBES)
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider"),
            *("-p", "tests.conftest", "--rootdir", str(tmp_path), *args, str(probes)),
        ],
        cwd=REPO,
        env={**os.environ, "PIPELINE_CONFIG": str(EXAMPLE_CONFIG), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    outcomes: dict[str, str] = {}
    for outcome, name in re.findall(r"^(PASSED|FAILED|ERROR) \S*::(\w+)", result.stdout, re.M):
        outcomes[name] = " ".join(sorted({*outcomes.get(name, "").split(), outcome}))
    assert outcomes, result.stdout + result.stderr
    return outcomes


def test_a_test_that_reads_the_team_config_fails_however_it_reads_it(tmp_path: Path) -> None:
    outcomes = _session(tmp_path)
    assert outcomes == {
        "test_loads_the_default_config": "FAILED",  # $PIPELINE_CONFIG names no file
        "test_opens_the_default_path_and_swallows_the_refusal": "ERROR PASSED",  # at teardown
        "test_starts_a_process_that_loads_the_default_config": "FAILED",
        "test_names_a_fixture": "PASSED",
        "test_config_variable_is_as_the_caller_set_it": "FAILED",
    }


def test_make_checks_session_reads_the_config_it_is_given(tmp_path: Path) -> None:
    # (Not the probe that opens the team's config file itself: this session is still a product
    # test's, and reads no team config.)
    outcomes = _session(
        tmp_path, "-k", "not opens_the_default", **{CHECK_CONFIG_ENV_VAR: str(EXAMPLE_CONFIG)}
    )
    assert outcomes == {
        "test_loads_the_default_config": "PASSED",  # the example, as $PIPELINE_CONFIG names it
        "test_starts_a_process_that_loads_the_default_config": "PASSED",
        "test_names_a_fixture": "PASSED",
        "test_config_variable_is_as_the_caller_set_it": "PASSED",
    }
