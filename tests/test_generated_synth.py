"""Configs drawn by Hypothesis (tests/support/config_strategy/) synthesize, and every stack keeps
the structural invariants of tests/support/invariants.py: names within AWS limits, the partition in
every ARN, IAM without ``*`` outside the reasoned actions, every (cross-stack) reference resolving,
one backend per stack.

``GENERATED_EXAMPLES`` configs (environment variable, default 100; `make test-deep` raises it),
synthesized the way `make synth` does (``python -O``, tests/support/generated_synth.py). The first
half runs here, the second in tests/test_generated_synth_more.py, so that pytest-xdist's two
workers share them (``--dist loadfile`` gives each module to one worker).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from tests.conftest import REPO

EXAMPLES = int(os.environ.get("GENERATED_EXAMPLES", "100"))


def synthesize_generated(first: int, last: int) -> None:
    """Configs ``first`` to ``last`` (exclusive) of the ``EXAMPLES`` generated ones: each
    synthesizes and keeps every invariant; a failing one is shown whole, to reproduce it."""
    command = [sys.executable, "-O", "-m", "tests.support.generated_synth"]
    result = subprocess.run(
        [*command, str(EXAMPLES), str(first), str(last)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["index"] for line in lines] == list(range(first, last))
    assert all(line["stacks"] >= line["environments"] for line in lines)
    failing = [line for line in lines if line["problems"]]
    assert failing == [], "\n\n".join(
        f"config {line['index']}:\n"
        + "\n".join(line["problems"])
        + "\n"
        + yaml.safe_dump(line["document"], sort_keys=False)
        for line in failing
    )


def test_the_first_half_of_the_generated_configs_synthesize_and_keep_the_invariants() -> None:
    synthesize_generated(0, EXAMPLES // 2)
