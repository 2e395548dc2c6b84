"""The generator of ``spec/requirements.json`` (spec chapters 00 and 13).

The Markdown chapters in ``spec/`` are the source of truth. ``python -m conformance.requirements``
parses them with a strict line grammar, lints them, and writes ``spec/requirements.json``.
``--check`` regenerates in memory and fails with a diff when it has drifted. The installed
suite's copy (``conformance/data/``) is built from spec/ when the wheel is built
(:mod:`conformance.package_data`), never committed.

The requirement model and its run-time lookup live in :mod:`conformance.catalog` (re-exported
here); this module parses, lints and generates. Standard library only.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from conformance.catalog import (
    FIRST_VERSION,
    SPEC_VERSION,
    Requirement,
    data_dir,
    data_path,
    find_spec_dir,
    load_requirements,
)

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


class SpecError(Exception):
    """The spec's Markdown breaks the requirement grammar or a lint rule."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


# --------------------------------------------------------------------------- parsing


def _plain(text: str) -> str:
    """Strip Markdown emphasis and link targets from a normative sentence."""
    return _LINK.sub(r"\1", text).replace("**", "")


def _requirement(
    stem: str, req_id: str, sentence: str, meta: re.Match[str], where: str, problems: list[str]
) -> Requirement:
    """One requirement from its quoted sentence and meta line, linting level and profile."""
    applies, level, profile, since = meta.groups()
    parties = tuple(p.strip() for p in applies.split(","))
    sides = tuple(dict.fromkeys(PARTY_SIDES[p] for p in parties))
    keywords = _BOLD_KEYWORD.findall(sentence)
    if not keywords:
        problems.append(f"{where}: {req_id} has no bold BCP 14 key word")
    elif {_KEYWORD_LEVEL[k] for k in keywords} != {level}:
        problems.append(f"{where}: {req_id} key words {keywords} do not match 'Level: {level}'")
    if level == "MUST" and profile != "core":
        problems.append(f"{where}: {req_id}: every MUST is profile core")
    if profile == "robust" and level != "SHOULD":
        problems.append(f"{where}: {req_id}: profile robust is for SHOULDs only")
    return Requirement(
        id=req_id,
        level=level,
        applies_to=sides,
        profile=profile,
        text=_plain(sentence),
        anchor=f"spec/{stem}.md#{req_id.lower()}",
        chapter=stem,
        parties=parties,
        since=since or FIRST_VERSION,
    )


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
            reqs.append(_requirement(stem, req_id, " ".join(quote), meta, where, problems))
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
    """Return every generated file with the content it must have."""
    return {spec_dir / "requirements.json": render_json(parse_spec(spec_dir)).encode("utf-8")}


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
    return report


def write(spec_dir: Path) -> list[Path]:
    """Regenerate every generated file; return the paths that changed."""
    expected = _expected_files(spec_dir)
    changed: list[Path] = []
    for path, content in expected.items():
        if path.is_file() and path.read_bytes() == content:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        changed.append(path)
    return changed


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: regenerate (default) or ``--check`` for drift."""
    parser = argparse.ArgumentParser(
        prog="python -m conformance.requirements",
        description="Generate spec/requirements.json from spec/*.md.",
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
            print(f"requirements.json is in sync with the chapters ({spec_dir})")
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
