"""Every relative link in spec/ Markdown reaches an existing file and heading (spec README)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conformance.requirements import find_spec_dir

_SPEC = find_spec_dir()
MARKDOWN = sorted(_SPEC.rglob("*.md")) if _SPEC else []
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*$")


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file (outside code fences)."""
    found: set[str] = set()
    in_fence = False
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            found.add(github_anchor(match.group(1)))
    return found


def test_github_anchor_matches_known_examples() -> None:
    """The slug rule gives the anchors the spec links to."""
    assert github_anchor("RT-CTRL-001") == "rt-ctrl-001"
    assert github_anchor("0.1 Document map") == "01-document-map"


@pytest.mark.parametrize("path", MARKDOWN, ids=lambda p: str(p.name))
def test_relative_links_resolve(path: Path) -> None:
    """Links to other spec files exist, and their #anchors name a heading there."""
    for target in _LINK.findall(path.read_text("utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue  # absolute URL
        file_part, _, anchor = target.partition("#")
        destination = (path.parent / file_part).resolve() if file_part else path
        assert destination.exists(), f"{path.name}: broken link {target}"
        if anchor and destination.suffix == ".md":
            assert anchor in anchors(destination), f"{path.name}: no heading for {target}"
