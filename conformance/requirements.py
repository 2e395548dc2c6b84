"""Requirement lookup, and the generator of ``spec/requirements.json`` (spec chapters 00 and 13).

The Markdown chapters in ``spec/`` are the source of truth. ``python -m conformance.requirements``
parses them with a strict line grammar, lints them, and writes ``spec/requirements.json`` plus the
copies the installed suite reads at run time (``conformance/data/``: requirements.json, schemas,
vectors). ``--check`` regenerates in memory and fails with a diff when anything has drifted.

At run time the suite only calls :func:`load_requirements`, which reads the packaged copy, so it
works from a checkout and from an installed wheel alike. Standard library only.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "AREAS",
    "SPEC_VERSION",
    "Requirement",
    "SpecError",
    "data_dir",
    "data_path",
    "find_spec_dir",
    "load_requirements",
    "main",
    "parse_spec",
]

#: Chapter file (stem) -> the requirement area it holds (CONTRACTS: requirement IDs).
AREAS: Mapping[str, str] = {
    "01-conventions": "CONV",
    "02-transport": "TRANS",
    "03-authentication": "AUTH",
    "04-messages": "MSG",
    "05-control-frames": "CTRL",
    "06-lifecycle": "LIFE",
    "07-flow-control": "FLOW",
    "08-streaming": "STREAM",
    "09-raw-websocket": "RAW",
    "10-http": "HTTP",
    "11-webrtc": "RTC",
    "12-security": "SEC",
    "13-conformance": "CONF",
    "15-extensions": "EXT",
}
#: Chapters that hold no requirements but are part of the spec.
PROSE_CHAPTERS = ("00-introduction", "14-fal-differences")
#: Only this chapter may use bold key words outside requirements (the BCP 14 boilerplate).
_BOILERPLATE_CHAPTER = "00-introduction"

LEVELS = ("MUST", "SHOULD", "MAY")
PROFILES = ("core", "robust")
#: The protocol version the chapters describe; spec/README.md's title must name it, and a
#: requirement whose meta line has no "Since: X.Y." is from 1.0.
SPEC_VERSION = "1.1"
_FIRST_VERSION = "1.0"
PARTIES = ("server", "client")
#: The labels a requirement's "Applies to" line may name (spec 0.2), each with the side of the
#: wire it acts on: ``applies_to`` keeps the side (what the suites filter on), ``parties`` the
#: label, so a production server can claim conformance without the conformance app.
PARTY_SIDES: Mapping[str, str] = {
    "server": "server",
    "client": "client",
    "app": "server",
    "conformance app": "server",
    "token service": "server",
    "client adapter": "client",
}

_HEADING = re.compile(r"^#{1,6}\s")
_REQ_HEADING = re.compile(r"^#### (RT-[A-Z]+-\d{3})$")
_ANY_ID = re.compile(r"\bRT-[A-Z]+-\d{3}\b")
_PARTY = "|".join(PARTY_SIDES)
_META = re.compile(
    rf"^Applies to: ((?:{_PARTY})(?:, (?:{_PARTY}))*)\. "
    r"Level: (MUST|SHOULD|MAY)\. Profile: (core|robust)\.(?: Since: (\d+\.\d+)\.)?$"
)
_BOLD_KEYWORD = re.compile(
    r"\*\*(MUST NOT|MUST|SHALL NOT|SHALL|REQUIRED|SHOULD NOT|SHOULD|NOT RECOMMENDED|"
    r"RECOMMENDED|MAY|OPTIONAL)\*\*"
)
_KEYWORD_LEVEL = {
    "MUST": "MUST",
    "MUST NOT": "MUST",
    "SHALL": "MUST",
    "SHALL NOT": "MUST",
    "REQUIRED": "MUST",
    "SHOULD": "SHOULD",
    "SHOULD NOT": "SHOULD",
    "RECOMMENDED": "SHOULD",
    "NOT RECOMMENDED": "SHOULD",
    "MAY": "MAY",
    "OPTIONAL": "MAY",
}
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")

_PACKAGE_DIR = Path(__file__).resolve().parent
#: Subdirectories of spec/ copied verbatim into conformance/data/.
_COPIED_TREES = ("schemas", "vectors")


class SpecError(Exception):
    """The spec's Markdown breaks the requirement grammar or a lint rule."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


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
    since: str = _FIRST_VERSION

    def applies_to_server(self) -> bool:
        """Return True when the requirement binds servers."""
        return "server" in self.applies_to

    def applies_to_client(self) -> bool:
        """Return True when the requirement binds clients."""
        return "client" in self.applies_to

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
            since=str(record.get("since", _FIRST_VERSION)),
        )


# --------------------------------------------------------------------------- locating files


def find_spec_dir() -> Path | None:
    """Return the checkout's ``spec/`` directory, or None when running from an installed wheel."""
    candidate = _PACKAGE_DIR.parent / "spec"
    return candidate if (candidate / "00-introduction.md").is_file() else None


def data_dir() -> Path:
    """Return the packaged data directory (``conformance/data``)."""
    return _PACKAGE_DIR / "data"


def data_path(*parts: str) -> Path:
    """Return a path inside the packaged data directory, e.g. ``data_path("schemas", "x.json")``."""
    return data_dir().joinpath(*parts)


def load_requirements() -> dict[str, Requirement]:
    """Return every requirement of the spec by ID, in spec order.

    Reads the packaged ``conformance/data/requirements.json`` (kept in sync with the spec by the
    generator), falling back to ``spec/requirements.json`` in a checkout.
    """
    path = data_path("requirements.json")
    if not path.is_file():
        spec = find_spec_dir()
        if spec is None:
            raise FileNotFoundError("requirements.json is neither packaged nor in a checkout")
        path = spec / "requirements.json"
    records = json.loads(path.read_text(encoding="utf-8"))
    reqs = (Requirement.from_json(r) for r in records)
    return {r.id: r for r in reqs}


# --------------------------------------------------------------------------- parsing


def _plain(text: str) -> str:
    """Strip Markdown emphasis and link targets from a normative sentence."""
    return _LINK.sub(r"\1", text).replace("**", "")


def _parse_chapter(stem: str, text: str, problems: list[str]) -> list[Requirement]:
    """Parse one chapter, appending every grammar or lint problem found to ``problems``."""
    area = AREAS.get(stem)
    lines = text.splitlines()
    reqs: list[Requirement] = []
    quoted: set[int] = set()  # line numbers that are requirement quotes
    in_fence = False
    i = 0
    while i < len(lines):
        line = lines[i]
        where = f"spec/{stem}.md:{i + 1}"
        if line.startswith("```"):
            in_fence = not in_fence
        if in_fence or not _HEADING.match(line) or not _ANY_ID.search(line):
            i += 1
            continue
        match = _REQ_HEADING.match(line)
        if match is None:
            problems.append(f"{where}: a requirement heading must be exactly '#### RT-AREA-NNN'")
            i += 1
            continue
        req_id = match.group(1)
        if area is None:
            problems.append(f"{where}: {req_id} in a chapter that holds no requirements")
        elif req_id.split("-")[1] != area:
            problems.append(f"{where}: {req_id} is not in this chapter's area RT-{area}")
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        quote: list[str] = []
        while j < len(lines) and lines[j].startswith(">"):
            quote.append(lines[j][1:].strip())
            quoted.add(j)
            j += 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        meta = _META.match(lines[j]) if j < len(lines) else None
        if not quote:
            problems.append(f"{where}: {req_id} has no block quote under its heading")
        if meta is None:
            problems.append(
                f"{where}: {req_id} needs the line 'Applies to: ... Level: ... Profile: ...' "
                "after its block quote"
            )
        if quote and meta is not None:
            sentence = " ".join(quote)
            applies, level, profile, since = meta.groups()
            parties = tuple(p.strip() for p in applies.split(","))
            sides = tuple(dict.fromkeys(PARTY_SIDES[p] for p in parties))
            keywords = _BOLD_KEYWORD.findall(sentence)
            if not keywords:
                problems.append(f"{where}: {req_id} has no bold BCP 14 key word")
            elif {_KEYWORD_LEVEL[k] for k in keywords} != {level}:
                problems.append(
                    f"{where}: {req_id} key words {keywords} do not match 'Level: {level}'"
                )
            if level == "MUST" and profile != "core":
                problems.append(f"{where}: {req_id}: every MUST is profile core")
            if profile == "robust" and level != "SHOULD":
                problems.append(f"{where}: {req_id}: profile robust is for SHOULDs only")
            reqs.append(
                Requirement(
                    id=req_id,
                    level=level,
                    applies_to=sides,
                    profile=profile,
                    text=_plain(sentence),
                    anchor=f"spec/{stem}.md#{req_id.lower()}",
                    chapter=stem,
                    parties=parties,
                    since=since or _FIRST_VERSION,
                )
            )
        i = j + 1 if meta is not None else j
    if stem != _BOILERPLATE_CHAPTER:
        in_fence = False
        for n, line in enumerate(lines):
            if line.startswith("```"):
                in_fence = not in_fence
            if n not in quoted and not in_fence and _BOLD_KEYWORD.search(line):
                problems.append(
                    f"spec/{stem}.md:{n + 1}: bold key word outside a requirement's block quote"
                )
    return reqs


def parse_spec(spec_dir: Path) -> list[Requirement]:
    """Parse and lint every chapter of ``spec_dir``.

    Returns:
        The requirements, ordered by chapter and then by ID.

    Raises:
        SpecError: listing every problem found (all chapters are checked before raising).
    """
    problems: list[str] = []
    reqs: list[Requirement] = []
    texts: dict[str, str] = {}
    for stem in sorted([*AREAS, *PROSE_CHAPTERS]):
        path = spec_dir / f"{stem}.md"
        if not path.is_file():
            problems.append(f"spec/{stem}.md: chapter missing")
            continue
        texts[stem] = path.read_text(encoding="utf-8")
        reqs.extend(_parse_chapter(stem, texts[stem], problems))
    readme = spec_dir / "README.md"
    title = readme.read_text(encoding="utf-8").partition("\n")[0] if readme.is_file() else ""
    if readme.is_file() and not title.endswith(f"version {SPEC_VERSION}"):
        problems.append(f"spec/README.md: the title must end with 'version {SPEC_VERSION}'")
    known = {p.stem for p in spec_dir.glob("[0-9][0-9]-*.md")}
    for stray in sorted(known - set(AREAS) - set(PROSE_CHAPTERS)):
        problems.append(f"spec/{stray}.md: not a known chapter (add it to AREAS)")
    seen: set[str] = set()
    for req in reqs:
        if req.id in seen:
            problems.append(f"{req.anchor}: duplicate requirement ID {req.id}")
        seen.add(req.id)
    # Every ID cited anywhere in the prose (chapters, READMEs) must exist.
    cited = {f"spec/{stem}.md": text for stem, text in texts.items()}
    for readme in sorted(spec_dir.rglob("README.md")):
        cited[_relative(readme)] = readme.read_text(encoding="utf-8")
    for name, text in cited.items():
        for ref in sorted(set(_ANY_ID.findall(text)) - seen):
            problems.append(f"{name}: cites unknown requirement {ref}")
    if problems:
        raise SpecError(problems)
    return sorted(reqs, key=lambda r: (r.chapter, r.id))


def render_json(reqs: Iterable[Requirement]) -> str:
    """Return the text of requirements.json for ``reqs`` (stable, diff-friendly)."""
    return json.dumps([r.to_json() for r in reqs], indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- generation


def _expected_files(spec_dir: Path) -> dict[Path, bytes]:
    """Return every generated or copied file with the content it must have."""
    rendered = render_json(parse_spec(spec_dir)).encode("utf-8")
    files = {spec_dir / "requirements.json": rendered, data_path("requirements.json"): rendered}
    for tree in _COPIED_TREES:
        source = spec_dir / tree
        for path in sorted(source.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                files[data_path(tree, *path.relative_to(source).parts)] = path.read_bytes()
    return files


def _stale_copies(expected: Mapping[Path, bytes]) -> list[Path]:
    """Return files in the copied data trees that no longer exist in spec/."""
    stale = []
    for tree in _COPIED_TREES:
        root = data_path(tree)
        if root.is_dir():
            stale += [p for p in sorted(root.rglob("*")) if p.is_file() and p not in expected]
    return stale


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(_PACKAGE_DIR.parent))
    except ValueError:
        return str(path)


def check(spec_dir: Path) -> list[str]:
    """Return a description of every drifted generated file (empty when all are in sync)."""
    expected = _expected_files(spec_dir)
    report: list[str] = []
    for path, content in expected.items():
        actual = path.read_bytes() if path.is_file() else None
        if actual == content:
            continue
        if actual is None:
            report.append(f"missing: {_relative(path)}")
        elif path.suffix == ".json" and path.name == "requirements.json":
            diff = difflib.unified_diff(
                actual.decode("utf-8", "replace").splitlines(),
                content.decode("utf-8").splitlines(),
                fromfile=f"{_relative(path)} (committed)",
                tofile=f"{_relative(path)} (from the Markdown)",
                lineterm="",
            )
            report.append("\n".join(diff))
        else:
            report.append(f"differs from its source in spec/: {_relative(path)}")
    report += [f"stale copy (no source in spec/): {_relative(p)}" for p in _stale_copies(expected)]
    return report


def write(spec_dir: Path) -> list[Path]:
    """Regenerate every generated file and copy; return the paths that changed."""
    expected = _expected_files(spec_dir)
    changed: list[Path] = []
    for path, content in expected.items():
        if path.is_file() and path.read_bytes() == content:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        changed.append(path)
    for path in _stale_copies(expected):
        path.unlink()
        changed.append(path)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: regenerate (default) or ``--check`` for drift."""
    parser = argparse.ArgumentParser(
        prog="python -m conformance.requirements",
        description="Generate spec/requirements.json and the packaged copies from spec/*.md.",
    )
    parser.add_argument("--check", action="store_true", help="fail on drift instead of writing")
    parser.add_argument("--spec-dir", type=Path, default=None, help="default: the checkout's spec/")
    args = parser.parse_args(argv)
    spec_dir = args.spec_dir or find_spec_dir()
    if spec_dir is None:
        print("no spec/ directory found (run from a checkout)", file=sys.stderr)
        return 2
    try:
        if args.check:
            drift = check(spec_dir)
            if drift:
                print("\n".join(drift), file=sys.stderr)
                print(
                    "generated files are out of date: run `python -m conformance.requirements`",
                    file=sys.stderr,
                )
                return 1
            print(f"requirements and data copies are in sync ({spec_dir})")
            return 0
        for path in write(spec_dir):
            print(f"wrote {_relative(path)}")
    except SpecError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) in spec/", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
