"""`make review`'s cache of the BASE side: a commit's synthesized stacks, kept so that reviewing
edit after edit against the same BASE synthesizes only the working tree.

    .git/mlbatch-review/<key>.json     {"stacks": {<stack>: <Terraform JSON>}}

The key is everything the base synthesis depends on: the commit (its code and, for an in-tree
config, its config), the content of a config given outside the tree, the interpreter and every
package installed in it (the base is synthesized with the working tree's virtualenv). Anything
else changing gives another key; the newest ``KEEP`` entries are kept. Under ``.git/`` the cache
is never committed, is per clone, and goes with it.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

FORMAT = 1  # bumped when what is stored changes
KEEP = 8


def _installed_packages() -> list[str]:
    return sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions())


def cache_key(commit: str, config: str | None, tree_relative: bool) -> str:
    """The key of ``commit`` synthesized with ``config`` (None: the tree's default config;
    ``tree_relative``: a path read inside the commit's own tree, so the commit covers it)."""
    parts: dict[str, Any] = {
        "format": FORMAT,
        "commit": commit,
        "config": config,
        "python": [sys.executable, sys.version],
        "packages": _installed_packages(),
    }
    if config and not tree_relative:
        parts["config_content"] = hashlib.sha256(Path(config).read_bytes()).hexdigest()
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:32]


class BaseCache:
    """Synthesized base stacks by key, in a folder of one repository's git directory."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def of(cls, repo: Path) -> BaseCache:
        git_dir = subprocess.run(
            ["git", "rev-parse", "--absolute-git-dir"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return cls(Path(git_dir) / "mlbatch-review")

    def get(self, key: str) -> dict[str, dict[str, Any]] | None:
        path = self.folder / f"{key}.json"
        try:
            stacks: dict[str, dict[str, Any]] = json.loads(path.read_text())["stacks"]
        except (OSError, ValueError, KeyError):
            return None  # absent, or left half-written by another run: synthesize again
        os.utime(path)  # recently used: kept longest
        return stacks

    def put(self, key: str, stacks: dict[str, dict[str, Any]]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f"{key}.{os.getpid()}.partial"
        partial.write_text(json.dumps({"stacks": stacks}))
        partial.replace(self.folder / f"{key}.json")  # whole or not at all
        entries = sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in entries[KEEP:]:
            stale.unlink(missing_ok=True)
