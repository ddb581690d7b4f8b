"""The second half of tests/test_generated_synth.py's generated configs (a module of its own so
that the other pytest-xdist worker runs it)."""

from __future__ import annotations

from tests.test_generated_synth import EXAMPLES, synthesize_generated


def test_the_second_half_of_the_generated_configs_synthesize_and_keep_the_invariants() -> None:
    synthesize_generated(EXAMPLES // 2, EXAMPLES)
