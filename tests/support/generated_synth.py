"""Generated configs synthesized as `make synth` synthesizes (``python -O``: the provider
bindings' runtime type checks off, about a third of a synth's time) and held to the structural
invariants of tests/support/invariants.py, in a process of its own.

    python -O -m tests.support.generated_synth COUNT FIRST LAST

draws the ``COUNT`` configs tests/test_generated_synth*.py draw (the same on every run), and
prints one JSON line for each of those from ``FIRST`` to ``LAST`` (exclusive): its index, how many
environments and stacks it made and its problems, with the document itself when there are any.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from tests.support import invariants
from tests.support.config_strategy import drawn, valid_configs


def documents(count: int) -> list[dict[str, object]]:
    """The generated configs, the same on every run and in every process."""
    found: list[dict[str, object]] = drawn(valid_configs(), count)
    return found


def main(argv: list[str]) -> int:
    from modules.config import parse_config
    from tools.synth import synthesize

    count, first, last = (int(a) for a in argv)
    for index, document in enumerate(documents(count)[first:last], start=first):
        config = parse_config(document, f"generated-{index}.yaml")
        with tempfile.TemporaryDirectory() as outdir:
            stacks = synthesize(config, Path(outdir))
        problems = invariants.all_problems(config, stacks)
        line = {
            "index": index,
            "environments": len(config.environments),
            "stacks": len(stacks),
            "problems": problems,
        }
        print(json.dumps({**line, "document": document} if problems else line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
