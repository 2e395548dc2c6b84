"""The JSON conformance report and its Markdown summary (spec chapter 13-conformance).

Standard library only. The plugin records one `CheckResult` per check; `build()` folds them
into per-requirement verdicts. `python -m conformance.report summarize REPORT.json` prints a
Markdown summary of a report (used for the committed fal results).

Verdicts per requirement: pass, fail (a MUST, or a SHOULD at --level should), warn (a SHOULD
at --level must), not-applicable (every check behind it needs an undeclared feature), error
(the suite could not decide), not-covered (no check in the suite verifies it).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPORT_FORMAT = 1
SUITE_VERSION = "1.1.0"
VERDICTS = ("pass", "fail", "warn", "not-applicable", "error", "not-covered")
# Per (check, requirement) outcomes fold into a requirement verdict by this precedence.
_PRECEDENCE = ("fail", "error", "warn", "pass", "blocked", "not-applicable")


@dataclass
class CheckResult:
    """What one check did, and the requirement IDs behind it."""

    nodeid: str
    reqs: list[str]
    outcome: str  # pass, fail, warn, not-applicable, error
    blamed: list[str] = field(default_factory=list)  # the IDs a failure is attributed to
    verified: list[str] = field(default_factory=list)  # IDs whose assertions passed before it
    warned: list[str] = field(default_factory=list)  # blamed IDs that only warn (SHOULD/MAY)
    message: str = ""
    duration_s: float = 0.0
    repro: str = ""
    trace: str = ""
    measured: dict[str, str] = field(default_factory=dict)  # numbers a check reports (media)

    def per_requirement(self) -> dict[str, str]:
        """This check's outcome for each of its requirement IDs."""
        if self.outcome in ("fail", "warn") and self.blamed:
            # Frame validation may blame a requirement the check is not marked with.
            ids = [*self.reqs, *(r for r in self.blamed if r not in self.reqs)]
            return {r: self._blamed_outcome(r) for r in ids}
        return dict.fromkeys(self.reqs, self.outcome)

    def _blamed_outcome(self, req: str) -> str:
        if req in self.blamed:
            return "warn" if req in self.warned else "fail"
        return "pass" if req in self.verified else "blocked"


def fold(outcomes: Iterable[str]) -> str:
    """One verdict from the outcomes of every check behind a requirement."""
    seen = set(outcomes)
    for outcome in _PRECEDENCE:
        if outcome in seen:
            return "error" if outcome == "blocked" else outcome
    return "not-covered"


def build(
    *,
    target: str,
    embedded: bool,
    features: Sequence[str],
    level: str,
    spec_version: str,
    checks: Sequence[CheckResult],
    requirements: Mapping[str, Mapping[str, Any]],
    in_scope: Iterable[str],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report document.

    `requirements` maps ID -> {level, text, link, ...}; `in_scope` lists the IDs the run was
    asked about (checks not run for an in-scope ID leave it not-covered only when the suite has
    no check for it at all; the plugin passes the right set).
    """
    by_req: dict[str, list[tuple[str, str]]] = {}
    for check in checks:
        for req, outcome in check.per_requirement().items():
            by_req.setdefault(req, []).append((check.nodeid, outcome))
    reqs_out: dict[str, Any] = {}
    for req_id in sorted(set(in_scope) | set(by_req)):
        info = dict(requirements.get(req_id, {}))
        entries = by_req.get(req_id, [])
        reqs_out[req_id] = {
            "verdict": fold(outcome for _, outcome in entries),
            "level": info.get("level", "MUST"),
            "profile": info.get("profile", ""),
            "text": info.get("text", ""),
            "link": info.get("link", ""),
            "checks": [{"check": nodeid, "outcome": outcome} for nodeid, outcome in entries],
        }
        if info.get("note") and not entries:
            reqs_out[req_id]["note"] = info["note"]
    counts = dict.fromkeys(VERDICTS, 0)
    for entry in reqs_out.values():
        counts[entry["verdict"]] += 1
    check_counts: dict[str, int] = {}
    for check in checks:
        check_counts[check.outcome] = check_counts.get(check.outcome, 0) + 1
    must_failed = [
        r for r, e in reqs_out.items() if e["verdict"] == "fail" and e["level"] == "MUST"
    ]
    return {
        "report_format": REPORT_FORMAT,
        "suite": {"name": "rt-conformance", "version": SUITE_VERSION},
        "spec_version": spec_version,
        "target": {"url": target, "embedded_reference": embedded, "features": sorted(features)},
        "level": level,
        "summary": {
            "requirements": counts,
            "checks": dict(sorted(check_counts.items())),
            "conformant": not must_failed and counts["error"] == 0,
        },
        "requirements": reqs_out,
        "checks": [_check_json(c) for c in checks],
        **(dict(extra) if extra else {}),
    }


def _check_json(check: CheckResult) -> dict[str, Any]:
    data = asdict(check)
    data["duration_s"] = round(check.duration_s, 3)
    for key in ("blamed", "verified", "warned", "message", "repro", "trace", "measured"):
        if not data[key]:
            del data[key]
    return data


def write(path: str | Path, document: Mapping[str, Any]) -> None:
    """Write the report as stable, indented JSON."""
    Path(path).write_text(json.dumps(document, indent=2, sort_keys=False) + "\n", "utf-8")


def summarize(document: Mapping[str, Any]) -> str:
    """A Markdown summary of a report: the totals, then one row per requirement."""
    target = document["target"]
    summary = document["summary"]
    lines = [
        f"# Conformance report: {target.get('name') or target['url']}",
        "",
        f"- Suite: {document['suite']['name']} {document['suite']['version']}; "
        f"spec version {document['spec_version']}; level `{document['level']}`",
        f"- Target: `{target['url']}`"
        + (" (embedded reference server)" if target.get("embedded_reference") else ""),
        f"- Declared features: {', '.join(target['features']) or '(none)'}",
        "- Conformant (every MUST passed, no errors): "
        + ("**yes**" if summary["conformant"] else "**no**"),
        "",
        "| verdict | requirements |",
        "|---|---|",
    ]
    lines += [f"| {v} | {n} |" for v, n in summary["requirements"].items() if n]
    lines += ["", "| requirement | level | verdict | checks |", "|---|---|---|---|"]
    for req_id, entry in document["requirements"].items():
        names = ", ".join(sorted({_short(c["check"]) for c in entry["checks"]}))
        names = names or entry.get("note", "") or "-"
        lines.append(f"| {req_id} | {entry['level']} | {entry['verdict']} | {names} |")
    notable = [c for c in document["checks"] if c["outcome"] in ("fail", "warn", "error")]
    if notable:
        lines += ["", "## Findings", ""]
        for check in notable:
            first = (check.get("message") or "").strip().splitlines()
            lines.append(
                f"- **{check['outcome']}** `{check['nodeid'].rsplit('::', 1)[-1]}` "
                f"({', '.join(check.get('blamed') or check['reqs'])}): "
                + (first[0][:160] if first else "")
            )
    na = [c for c in document["checks"] if c["outcome"] == "not-applicable"]
    if na:
        lines += ["", "## Not applicable", ""]
        for check in na:
            lines.append(f"- `{check['nodeid'].rsplit('::', 1)[-1]}`: {check.get('message', '')}")
    return "\n".join(lines) + "\n"


def _short(nodeid: str) -> str:
    """`path::test_name[param]` -> `test_name` (parametrized checks listed once)."""
    return nodeid.rsplit("::", 1)[-1].split("[", 1)[0]


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m conformance.report summarize REPORT.json` prints Markdown to stdout."""
    parser = argparse.ArgumentParser(prog="python -m conformance.report")
    sub = parser.add_subparsers(dest="command", required=True)
    summ = sub.add_parser("summarize", help="print a Markdown summary of a JSON report")
    summ.add_argument("report", type=Path)
    args = parser.parse_args(argv)
    document = json.loads(args.report.read_text("utf-8"))
    sys.stdout.write(summarize(document))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
