"""The documents form one web from the README: every document under docs/ is reachable from it
through links, and every relative link (file and `#anchor`) points at something that exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO

LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]+`")
HEADING = re.compile(r"^#{1,6} (.+?)\s*$", re.MULTILINE)


def _anchor(heading: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _prose(path: Path) -> str:
    """The text outside code blocks (links in code are examples, not links)."""
    return FENCE.sub("", path.read_text())


def _links(path: Path) -> list[str]:
    text = CODE_SPAN.sub("", _prose(path))
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:", t)]


def _anchors(path: Path) -> set[str]:
    return {_anchor(h) for h in HEADING.findall(_prose(path))}


def _reachable() -> set[Path]:
    seen: set[Path] = set()
    todo = [REPO / "README.md"]
    while todo:
        page = todo.pop()
        if page in seen or page.suffix != ".md" or not page.exists():
            continue
        seen.add(page)
        todo += [(page.parent / t.split("#")[0]).resolve() for t in _links(page) if t[0] != "#"]
    return seen


def _documents() -> list[Path]:
    return sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])


def test_every_document_is_linked_from_the_readme() -> None:
    unlinked = [p.relative_to(REPO) for p in _documents() if p not in _reachable()]
    assert not unlinked, f"not reachable by links from README.md: {unlinked}"


@pytest.mark.parametrize("page", _documents(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_link_points_somewhere(page: Path) -> None:
    broken = []
    for target in _links(page):
        file, _, anchor = target.partition("#")
        path = (page.parent / file).resolve() if file else page
        missing_anchor = bool(anchor) and path.suffix == ".md" and anchor not in _anchors(path)
        if not path.exists() or missing_anchor:
            broken.append(target)
    assert not broken, f"{page.relative_to(REPO)}: links to nothing: {broken}"


def test_the_link_checker_sees_a_broken_anchor(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    text = "# Title\n\n## A `run`, in short\n\n[x](#a-run-in-short) [y](#nowhere) `[z](#c)`\n"
    page.write_text(text)
    assert _anchors(page) == {"title", "a-run-in-short"}
    assert _links(page) == ["#a-run-in-short", "#nowhere"]
