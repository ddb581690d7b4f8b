"""Configs drawn by Hypothesis (tests/support/config_strategy/) synthesize, and every stack keeps
the structural invariants of tests/support/invariants.py: names within AWS limits, the partition in
every ARN, IAM without ``*`` outside the reasoned actions, every (cross-stack) reference resolving,
one backend per stack.

``GENERATED_EXAMPLES`` configs (environment variable, default 100; `make test-deep` raises it).
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from modules.config import parse_config
from tests.support import invariants
from tests.support.config_strategy import valid_configs
from tools.synth import synthesize

EXAMPLES = int(os.environ.get("GENERATED_EXAMPLES", "100"))


# No shrinking: each example is a synth, and shrinking one failure took over five minutes; the
# failing document is printed whole instead.
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(raw=valid_configs())
def test_every_generated_config_synthesizes_and_keeps_the_invariants(
    tmp_path_factory: pytest.TempPathFactory, raw: Any
) -> None:
    config = parse_config(raw, "generated.yaml")
    stacks = synthesize(config, tmp_path_factory.mktemp("synth"))
    problems = [
        *invariants.name_problems(config),
        *invariants.partition_problems(stacks),
        *invariants.iam_problems(stacks),
        *invariants.reference_problems(stacks),
        *invariants.backend_problems(stacks),
    ]
    assert problems == [], "\n".join(problems)
