"""Read one requirement of the spec offline: ``python -m conformance.spec RT-MSG-021`` (chapter 13).

Prints the requirement as its chapter states it (the normative sentence and its Applies
to/Level/Profile line), the notes that follow it up to the next heading, where the chapter lives
on disk (the copy packaged with the suite, or ``spec/`` in a checkout), and the server and
client checks that verify it. A failure's spec link (``spec/04-messages.md#rt-msg-021``) thus
resolves for an installed user with no network. Standard library only.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from conformance import coverage
from conformance.client_mode import coverage as client_coverage
from conformance.requirements import data_dir, load_requirements

__all__ = ["RequirementText", "main", "requirement_text"]

_HEADING = re.compile(r"^#{1,6}\s")


@dataclass(frozen=True)
class RequirementText:
    """One requirement as its chapter writes it.

    Attributes:
        req_id: the requirement ID.
        path: the chapter file it was read from.
        line: the 1-based line of its ``#### RT-...`` heading.
        statement: the block quote and the meta line, as Markdown.
        notes: the paragraphs after the meta line, up to the next heading (may be empty).
    """

    req_id: str
    path: Path
    line: int
    statement: str
    notes: str


def requirement_text(req_id: str, chapter: str, spec_dir: Path | None = None) -> RequirementText:
    """Return the text of ``req_id`` from ``<spec_dir>/<chapter>.md``.

    Raises:
        LookupError: the chapter has no heading for ``req_id``.
    """
    path = (spec_dir or data_dir()) / f"{chapter}.md"
    lines = path.read_text(encoding="utf-8").splitlines()
    try:
        start = lines.index(f"#### {req_id}")
    except ValueError:
        raise LookupError(f"{path} has no heading '#### {req_id}'") from None
    end = next((i for i in range(start + 1, len(lines)) if _HEADING.match(lines[i])), len(lines))
    body = lines[start + 1 : end]
    meta = next((i for i, text in enumerate(body) if text.startswith("Applies to:")), len(body))
    statement = "\n".join(body[: meta + 1]).strip()
    notes = "\n".join(body[meta + 1 :]).strip()
    return RequirementText(req_id, path, start + 1, statement, notes)


def _checks(req_id: str) -> list[str]:
    server = [f"conformance/checks/{c}" for c in coverage.matrix().get(req_id, [])]
    client = [
        f"conformance/client_mode/checks/{c}" for c in client_coverage.matrix().get(req_id, [])
    ]
    return server + client


def render(req_id: str) -> str:
    """Return the text ``python -m conformance.spec REQ_ID`` prints."""
    req = load_requirements()[req_id]
    text = requirement_text(req_id, req.chapter)
    checks = _checks(req_id)
    parts = [
        f"{req_id} [{req.level}] ({req.anchor})",
        f"{text.path}:{text.line}",
        "",
        text.statement,
    ]
    if text.notes:
        parts += ["", text.notes]
    parts += ["", f"Checks that verify it ({len(checks)}):"]
    if checks:
        parts += [f"  {check}" for check in checks]
    else:
        reason = coverage.NOT_OBSERVABLE.get(req_id) or client_coverage.NOT_TESTABLE.get(req_id)
        parts.append(f"  none ({reason})" if reason else "  none")
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print each requirement named; exit 2 on an unknown ID."""
    parser = argparse.ArgumentParser(
        prog="python -m conformance.spec",
        description="Print a requirement of the spec, its notes and the checks that verify it.",
    )
    parser.add_argument("ids", nargs="+", metavar="RT-AREA-NNN", help="requirement ID(s)")
    args = parser.parse_args(argv)
    known = load_requirements()
    status = 0
    for n, raw in enumerate(args.ids):
        req_id = raw.strip().upper()
        if req_id not in known:
            print(f"{raw}: no such requirement in the spec", file=sys.stderr)
            status = 2
            continue
        print(("\n" if n else "") + render(req_id))
    return status


if __name__ == "__main__":
    sys.exit(main())
