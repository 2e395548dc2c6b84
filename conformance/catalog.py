"""Requirement lookup for the suite (spec chapter 13-conformance): IDs, levels, text, links.

The spec owns the requirement list (`conformance.requirements.load_requirements()`, generated
from `spec/*.md`); this module only normalises what it returns so the plugin and the report do
not depend on its exact record type.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ID_PATTERN = re.compile(r"^RT-[A-Z]+-\d{3}$")
SPEC_BASE = "spec/"
LEVELS = ("MUST", "SHOULD", "MAY")


@dataclass(frozen=True)
class Requirement:
    """One normative statement of the spec."""

    id: str
    level: str
    applies_to: tuple[str, ...]
    profile: str
    text: str
    anchor: str
    chapter: str

    @property
    def server_side(self) -> bool:
        """True when the requirement binds a server."""
        return "server" in self.applies_to

    @property
    def link(self) -> str:
        """Where the requirement is written, as a repository-relative spec link."""
        anchor = self.anchor or self.id.lower()
        if "#" in anchor or anchor.startswith(("http://", "https://", SPEC_BASE)):
            return anchor
        chapter = self.chapter if self.chapter.endswith(".md") else f"{self.chapter}.md"
        return f"{SPEC_BASE}{chapter}#{anchor}"


def _field(record: Any, name: str, default: Any = "") -> Any:
    if isinstance(record, Mapping):
        return record.get(name, default)
    return getattr(record, name, default)


def _normalise(record: Any) -> Requirement:
    applies = _field(record, "applies_to", ())
    if isinstance(applies, str):
        applies = [part.strip() for part in applies.split(",")]
    return Requirement(
        id=str(_field(record, "id")),
        level=str(_field(record, "level", "MUST")).upper(),
        applies_to=tuple(str(a).strip().lower() for a in applies),
        profile=str(_field(record, "profile", "core")),
        text=" ".join(str(_field(record, "text")).split()),
        anchor=str(_field(record, "anchor")),
        chapter=str(_field(record, "chapter")),
    )


@functools.cache
def load() -> dict[str, Requirement]:
    """All requirements of the spec by ID (empty when the spec's list is not available)."""
    try:
        from conformance.requirements import load_requirements
    except ImportError:
        return {}
    records: Iterable[Any] = load_requirements()
    if isinstance(records, Mapping):
        records = records.values()
    out: dict[str, Requirement] = {}
    for record in records:
        req = _normalise(record)
        out[req.id] = req
    return out


def spec_version() -> str:
    """The spec version the requirement list belongs to."""
    try:
        from conformance import requirements
    except ImportError:
        return "unknown"
    for name in ("SPEC_VERSION", "spec_version", "__version__"):
        value = getattr(requirements, name, None)
        if isinstance(value, str):
            return value
        if callable(value):
            return str(value())
    return "1.0"


def matches(req_id: str, selector: str) -> bool:
    """Selection by exact ID, prefix (`RT-MSG`, `RT-MSG-00`) or glob (`RT-*-001`)."""
    if any(ch in selector for ch in "*?["):
        import fnmatch

        return fnmatch.fnmatchcase(req_id, selector.upper())
    return req_id.startswith(selector.upper())
