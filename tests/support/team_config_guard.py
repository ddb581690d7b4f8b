"""The product's tests never read the team's config: they run on tests/fixtures/ only, and
`make check` (tools/check) is the one command that holds the team's config to the gates.

tests/conftest.py installs this guard in every pytest session but make check's own (which sets
``MLBATCH_CHECK_CONFIG``):

- ``$PIPELINE_CONFIG`` names a file that does not exist (``NO_CONFIG``), for the session's
  processes and every process they start: the app, a `make` target or a tool started without
  naming its config fails on that file ("cannot read config file") instead of reading the team's:
  the default config file, ``modules.config.DEFAULT_CONFIG_PATH`` (or whatever the shell's
  $PIPELINE_CONFIG names);
- an audit hook on ``open`` refuses the opening of ``modules.config.DEFAULT_CONFIG_PATH`` in the
  session's own processes (code that unsets $PIPELINE_CONFIG, or names the default path itself)
  and records it: the test it happened in then fails at teardown (``check_no_team_config_read``),
  even where the code that opened it swallowed the error.

Needs the standard library and modules.config's default path.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from modules.config import DEFAULT_CONFIG_PATH

# Where $PIPELINE_CONFIG points in the product's tests: a file that cannot exist, whose path says
# what went wrong in the "cannot read config file" that names it.
NO_CONFIG = Path("/nonexistent/product-tests-name-a-config-from-tests-fixtures.yaml")
CONFIG_PATH_ENV_VAR = "PIPELINE_CONFIG"

_TEAM_CONFIG = os.path.realpath(DEFAULT_CONFIG_PATH)
_reads: list[str] = []
_installed = False


class TeamConfigRead(RuntimeError):
    """A product test opened the team's config (not an OSError: no "cannot read" handler takes
    it for a missing file)."""


def _on_audit(event: str, args: tuple[object, ...]) -> None:
    if event != "open":
        return
    path = args[0]
    if not isinstance(path, str | bytes | os.PathLike):
        return  # a file descriptor
    name = os.fsdecode(os.fspath(path))
    # Every open in the process passes here: compare the name's end before resolving anything.
    if name.endswith(DEFAULT_CONFIG_PATH.name) and os.path.realpath(name) == _TEAM_CONFIG:
        _reads.append(name)
        raise TeamConfigRead(
            f"a product test opened the team's config {DEFAULT_CONFIG_PATH}: name a config from "
            "tests/fixtures/ (only `make check` reads the team's)"
        )


def install() -> None:
    """Point $PIPELINE_CONFIG at ``NO_CONFIG`` and refuse opening the default config, from now on
    in this process (an audit hook cannot be removed: installed once per process)."""
    global _installed
    os.environ[CONFIG_PATH_ENV_VAR] = str(NO_CONFIG)
    if not _installed:
        sys.addaudithook(_on_audit)
        _installed = True


def check_no_team_config_read() -> None:
    """Fail (and forget them) if the team's config was opened since the last check."""
    if _reads:
        opened = list(dict.fromkeys(_reads))
        _reads.clear()
        raise AssertionError(
            f"this test opened the team's config ({', '.join(opened)}); the product's tests "
            "name a config from tests/fixtures/"
        )
