"""The command line every generated document shares: write it, or with ``--check`` exit 1 when
the committed file differs from what would be written (``make docs`` regenerates them all)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def document_main(output: Path, render: Callable[[], str], description: str) -> int:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="fail if the document is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        if (output.read_text() if output.exists() else "") != text:
            print(f"{output.relative_to(REPO)} is stale: run `make docs`", file=sys.stderr)
            return 1
        return 0
    output.parent.mkdir(exist_ok=True)
    output.write_text(text)
    print(f"wrote {output.relative_to(REPO)}")
    return 0
