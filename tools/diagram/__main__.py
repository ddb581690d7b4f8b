"""The architecture picture: synthesize one environment of a config and write it as DOT (and SVG and
PNG where Graphviz is installed).

    .venv/bin/python -m tools.diagram                 # docs/architecture.*, from the example config
    make diagram                                      # yours: docs.out/architecture.*

The committed picture in docs/ is the product's (tests/test_diagram.py checks it against the
example config); ``make diagram`` draws the team's own config into docs.out/ (git-ignored).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from modules.config import load_config
from tools.diagram.graph import merge_stacks
from tools.diagram.render import build_diagram, title_for
from tools.generated import EXAMPLE_CONFIG
from tools.synth import synthesize

REPO = Path(__file__).resolve().parent.parent.parent
DOCS = REPO / "docs"
DEFAULT_ENVIRONMENT = "dev"
OUTPUT_STEM = "architecture"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--environment", default=DEFAULT_ENVIRONMENT)
    parser.add_argument("--outdir", type=Path, default=DOCS)
    # The default is the example config ($PIPELINE_CONFIG is ignored): the committed picture is
    # the one the test suite checks against it.
    parser.add_argument("--config", type=Path, default=EXAMPLE_CONFIG)
    args = parser.parse_args(argv)

    config = load_config(args.config)
    documents = synthesize(config, environments=[args.environment])
    from modules.stack_names import stack_name

    stack = stack_name(config.project, args.environment)
    merged, stacks = merge_stacks(documents)
    graph = build_diagram(merged, title=title_for(stack), stacks=stacks)
    args.outdir.mkdir(parents=True, exist_ok=True)
    dot_file = args.outdir / f"{OUTPUT_STEM}.dot"
    dot_file.write_text(graph.source, encoding="utf-8")
    written = [dot_file]
    if shutil.which("dot"):
        for fmt in ("svg", "png"):
            target = args.outdir / f"{OUTPUT_STEM}.{fmt}"
            target.write_bytes(graph.pipe(format=fmt))
            written.append(target)
    else:
        print("Graphviz 'dot' not found: wrote the DOT source only", file=sys.stderr)
    print(
        "Wrote",
        " ".join(str(p.relative_to(REPO) if p.is_relative_to(REPO) else p) for p in written),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
