"""The command line every generated document shares: write it, or with ``--check`` exit 1 when
the committed file differs from what would be written (``make docs`` regenerates them all).

The committed documents under docs/ describe the product: they are built from the example config
(tests/fixtures/example.yaml), never from config/pipelines.yaml, which belongs to the team that
uses the project. A document built from a config takes ``--config`` and ``--output`` so that a team
can draw its own (``make diagram``, ``make outputs``: written to docs.out/, git-ignored)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The config the product's committed documents, snapshots and tests are built from.
EXAMPLE_CONFIG = REPO / "tests" / "fixtures" / "example.yaml"
# Where a team's own documents go (git-ignored): the commands that make them rewrite them.
USER_DOCS = REPO / "docs.out"


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO) if path.is_relative_to(REPO) else path)


def document_main(
    output: Path,
    render: Callable[[], str] | Callable[[Path], str],
    description: str,
    *,
    from_config: bool = False,
) -> int:
    """Write (or ``--check``) one document. With ``from_config``, ``render`` takes a config path:
    ``--config`` (default: the example config) and ``--output`` (default: ``output``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="fail if the document is stale")
    if from_config:
        parser.add_argument("--config", type=Path, default=EXAMPLE_CONFIG, help="config to read")
        parser.add_argument("--output", type=Path, default=output, help="file to write")
    args = parser.parse_args()
    if from_config:
        output = args.output
        text = render(args.config)  # type: ignore[call-arg]
    else:
        text = render()  # type: ignore[call-arg]
    if args.check:
        if (output.read_text() if output.exists() else "") != text:
            print(f"{_shown(output)} is stale: run `make docs`", file=sys.stderr)
            return 1
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    print(f"wrote {_shown(output)}")
    return 0
