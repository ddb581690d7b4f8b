"""The command line the state bootstrap tools share (``make state-move``, ``state-self-host``,
``state-recover``): which config, where the synthesized stacks are, and (for the tools that move
state files) the project directory the files' relative paths start from."""

from __future__ import annotations

import argparse
from pathlib import Path

STACKS_DIR = Path("cdktf.out/stacks")


def state_tool_arguments(
    description: str, argv: list[str] | None, *, project_dir: bool = True
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", default=None, help="config file (default: the app's)")
    if project_dir:
        parser.add_argument("--project-dir", type=Path, default=Path("."))
    parser.add_argument("--stacks", type=Path, default=STACKS_DIR)
    return parser.parse_args(argv)
