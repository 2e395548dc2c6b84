"""The spec's requirements at run time: the one `Requirement` model and its lookup (chapter 13).

`spec/*.md` is the source of truth; `python -m conformance.requirements` generates
`requirements.json` from it. At run time the suite reads the packaged copy through
:func:`load` (cached), so it works from a checkout and from an installed wheel alike. Standard
library only: the plugin imports this while pytest starts.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ID_PATTERN = re.compile(r"^RT-[A-Z]+-\d{3}$")
LEVELS = ("MUST", "SHOULD", "MAY")
#: The protocol version the chapters describe; spec/README.md's title must name it, and a
#: requirement whose meta line has no "Since: X.Y." is from 1.0.
SPEC_VERSION = "1.1"
FIRST_VERSION = "1.0"

_PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Requirement:
    """One normative statement of the spec.

    Attributes:
        id: the stable ID, e.g. ``RT-CTRL-001``.
        level: ``MUST``, ``SHOULD`` or ``MAY``.
        applies_to: the sides of the wire that must act, ``server`` and/or ``client``.
        profile: ``core`` (every fal-compatible peer meets it) or ``robust``.
        text: the normative sentence, Markdown emphasis and link targets removed.
        anchor: the GitHub link target, e.g. ``spec/05-control-frames.md#rt-ctrl-001``.
        chapter: the chapter file stem, e.g. ``05-control-frames``.
        parties: the labels of the "Applies to" line (``server``, ``app``, ``token service``,
            ...); defaults to ``applies_to`` for records written before 1.1.
        since: the protocol version that added the requirement.
    """

    id: str
    level: str
    applies_to: tuple[str, ...]
    profile: str
    text: str
    anchor: str
    chapter: str
    parties: tuple[str, ...] = ()
    since: str = FIRST_VERSION

    @property
    def server_side(self) -> bool:
        """True when the requirement binds servers."""
        return "server" in self.applies_to

    @property
    def client_side(self) -> bool:
        """True when the requirement binds clients."""
        return "client" in self.applies_to

    def applies_to_server(self) -> bool:
        """Return True when the requirement binds servers."""
        return self.server_side

    def applies_to_client(self) -> bool:
        """Return True when the requirement binds clients."""
        return self.client_side

    @property
    def link(self) -> str:
        """Where the requirement is written, as a repository-relative spec link."""
        return self.anchor or f"spec/{self.chapter}.md#{self.id.lower()}"

    def to_json(self) -> dict[str, object]:
        """Return the record written to requirements.json."""
        return {
            "id": self.id,
            "level": self.level,
            "applies_to": list(self.applies_to),
            "profile": self.profile,
            "text": self.text,
            "anchor": self.anchor,
            "chapter": self.chapter,
            "parties": list(self.parties or self.applies_to),
            "since": self.since,
        }

    @classmethod
    def from_json(cls, record: Mapping[str, object]) -> Requirement:
        """Build a requirement from one requirements.json record."""
        applies = record["applies_to"]
        if not isinstance(applies, list):
            raise ValueError(f"bad applies_to in {record!r}")
        parties = record.get("parties", applies)
        if not isinstance(parties, list):
            raise ValueError(f"bad parties in {record!r}")
        return cls(
            id=str(record["id"]),
            level=str(record["level"]),
            applies_to=tuple(str(p) for p in applies),
            profile=str(record["profile"]),
            text=str(record["text"]),
            anchor=str(record["anchor"]),
            chapter=str(record["chapter"]),
            parties=tuple(str(p) for p in parties),
            since=str(record.get("since", FIRST_VERSION)),
        )


def find_spec_dir() -> Path | None:
    """Return the checkout's ``spec/`` directory, or None when running from an installed wheel."""
    candidate = _PACKAGE_DIR.parent / "spec"
    return candidate if (candidate / "00-introduction.md").is_file() else None


def data_dir() -> Path:
    """Return the directory holding the spec as the suite reads it at run time.

    In a checkout that is ``spec/`` itself (always current); in an installed wheel it is
    ``conformance/data``, the copy the build made from spec/ (:mod:`conformance.package_data`).
    Both hold the same layout: chapters, requirements.json, schemas/, vectors/.
    """
    return find_spec_dir() or _PACKAGE_DIR / "data"


def data_path(*parts: str) -> Path:
    """Return a path inside the packaged data directory, e.g. ``data_path("schemas", "x.json")``."""
    return data_dir().joinpath(*parts)


def load_requirements() -> dict[str, Requirement]:
    """Return every requirement of the spec by ID, in spec order.

    Reads ``requirements.json`` in :func:`data_dir` (the checkout's spec/ or the packaged copy).
    """
    path = data_path("requirements.json")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: requirements.json is neither packaged nor in a checkout")
    records = json.loads(path.read_text(encoding="utf-8"))
    reqs = (Requirement.from_json(r) for r in records)
    return {r.id: r for r in reqs}


@functools.cache
def load() -> dict[str, Requirement]:
    """All requirements of the spec by ID, read once per process."""
    return load_requirements()


def spec_version() -> str:
    """The spec version the requirement list belongs to."""
    return SPEC_VERSION


def matches(req_id: str, selector: str) -> bool:
    """Selection by exact ID, prefix (`RT-MSG`, `RT-MSG-00`) or glob (`RT-*-001`)."""
    if any(ch in selector for ch in "*?["):
        return fnmatch.fnmatchcase(req_id, selector.upper())
    return req_id.startswith(selector.upper())
