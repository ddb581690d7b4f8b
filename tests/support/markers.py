"""Markers by what a test needs beyond the project's virtualenv, applied in this one place.

A test is marked by what it uses: the fixtures it requests (directly or through other fixtures),
and what its code, the fixtures' code and the test modules' helper functions they call name (the
engine's client, a scanner's path, a `terraform` command line). No test file carries these
markers itself, so a new test that uses the engine is marked without anyone remembering to.

- ``engine``: LocalStack's Step Functions engine (Python 3.13, JDK 17+; tools/sfn-engine);
- ``npm``: Node tools from package-lock.json (asl-validator, jsonata; node_modules);
- ``scanners``: checkov (tools/checkov), asl-validator, parliament;
- ``terraform``: the ``terraform`` binary (what needs the AWS provider skips here);
- ``go``: tools built with Go (actionlint in .tools);
- ``eager``: nothing more, but about 15 s of CPU: the provider imported the obvious way;
- ``cdktn``: the other CDK engine's virtualenv (tools/cdktn/.venv: CDK Terrain beside cdktf),
  and about 25 s of CPU: every fixture synthesized on both engines.

``pytest --quick`` (``make test-quick``) leaves out ``engine``, ``npm``, ``go``, ``eager`` (one
test whose cost alone is half the quick run's budget) and ``cdktn`` (a second 900 MB virtualenv
and as much CPU again); ``make test`` runs everything. Registered
with ``-p tests.support.markers`` in pyproject.toml (so ``--strict-markers`` knows them).
"""

from __future__ import annotations

import functools
import inspect
import re
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class Needs:
    """What marks a test: fixtures it requests, or a pattern in the code it runs."""

    description: str
    fixtures: frozenset[str] = frozenset()
    pattern: str | None = None


# The patterns name what tests/support/environments.py and the engine client export.
MARKERS = {
    "engine": Needs(
        "needs LocalStack's Step Functions engine (Python 3.13, JDK 17+; tools/sfn-engine)",
        frozenset({"engine"}),
        r"\b(Engine|ENGINE_PYTHON|ENGINE_DIR)\b",
    ),
    "npm": Needs(
        "needs Node tools from package-lock.json (asl-validator, jsonata; node_modules)",
        frozenset({"jsonata"}),
        r"\b(ASL_VALIDATOR|Jsonata|JSONATA)\b|node_modules",
    ),
    "scanners": Needs(
        "runs a security scanner (checkov in tools/checkov, asl-validator, parliament)",
        pattern=r"\b(CHECKOV|ASL_VALIDATOR)\b|^\s*(from|import) parliament\b",
    ),
    "terraform": Needs(
        "runs the terraform binary",
        pattern=r"\bTERRAFORM\b|\[\s*[\"']terraform[\"']\s*,|which\(\s*[\"']terraform[\"']\s*\)",
    ),
    "eager": Needs(
        "imports the whole AWS provider the obvious way (~15 s of CPU in one test process)",
        pattern=r"\bEAGER_APP\b",
    ),
    "cdktn": Needs(
        "needs both CDK engines' virtualenvs (.venv and tools/cdktn/.venv)",
        pattern=r"\bCDK_PYTHONS\b",
    ),
    "go": Needs(
        "needs a tool built with Go (actionlint in .tools)",
        pattern=r"\b(ACTIONLINT|actionlint)\b",
    ),
}
QUICK_DESELECTS = ("engine", "npm", "go", "eager", "cdktn")  # what `make test-quick` leaves out


def _is_test_code(function: Callable[..., Any]) -> bool:
    return (getattr(function, "__module__", None) or "").split(".")[0] == "tests"


def _names(code: types.CodeType) -> Iterable[str]:
    yield from code.co_names
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):  # nested functions, comprehensions, lambdas
            yield from _names(constant)


@functools.cache
def _source_closure(function: Callable[..., Any]) -> str:
    """The source of a function and of every test-package function it calls, transitively."""
    seen: set[Callable[..., Any]] = set()
    texts: list[str] = []
    pending = [function]
    while pending:
        current = inspect.unwrap(pending.pop())
        if current in seen or not isinstance(current, types.FunctionType):
            continue
        seen.add(current)
        try:
            texts.append(inspect.getsource(current))
        except (OSError, TypeError):
            continue
        for name in _names(current.__code__):
            called = current.__globals__.get(name)
            if callable(called) and _is_test_code(called):  # functools.cache'd ones too
                pending.append(called)
    return "\n".join(texts)


def needs_of(item: pytest.Item) -> set[str]:
    """The markers a collected test gets."""
    info = getattr(item, "_fixtureinfo", None)
    fixtures = set(getattr(item, "fixturenames", ()))
    functions: list[Callable[..., Any]] = []
    if isinstance(item, pytest.Function):
        functions.append(item.function)
    if info is not None:
        for name in fixtures:
            for definition in info.name2fixturedefs.get(name, ()):
                if _is_test_code(definition.func):
                    functions.append(definition.func)
    # A test that runs a whole command (`make check`) says what the command needs with marks.
    marked = {mark.name for mark in item.iter_markers() if mark.name in MARKERS}
    return needs(fixtures, functions) | marked


def needs(fixtures: set[str], functions: Iterable[Callable[..., Any]]) -> set[str]:
    """The markers of a test that requests these fixtures and runs these functions."""
    code = "\n".join(_source_closure(f) for f in functions)
    return {
        marker
        for marker, needs in MARKERS.items()
        if fixtures & needs.fixtures
        or (needs.pattern is not None and re.search(needs.pattern, code, re.MULTILINE))
    }


def pytest_configure(config: pytest.Config) -> None:
    for marker, needs in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {needs.description}")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--quick",
        action="store_true",
        help=f"leave out the tests marked {', '.join(QUICK_DESELECTS)} (`make test-quick`)",
    )


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    left_out = []
    for item in items:
        needs = needs_of(item)
        for marker in sorted(needs):
            item.add_marker(marker)
        if config.getoption("quick") and needs & set(QUICK_DESELECTS):
            left_out.append(item)
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]
