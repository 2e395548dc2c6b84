"""A Markdown job summary of a run, for GitHub Actions and pull requests (spec chapter 13).

Written to `--conformance-markdown PATH`, or appended to `$GITHUB_STEP_SUMMARY` when that is set
(GitHub renders it on the run's page). The verdict comes first, then each failure and warning
with its requirement, message, reproduce command and frame trace (folded), then the suite's
per-requirement summary (`conformance.report.summarize`), folded. Standard library only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conformance.report import summarize

ENV_STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


def _finding(check: Mapping[str, Any], requirements: Mapping[str, Any]) -> list[str]:
    ids = check.get("blamed") or check["reqs"]
    name = check["nodeid"].rsplit("::", 1)[-1]
    first = (check.get("message") or "").strip().splitlines()
    lines = [f"#### {check['outcome'].upper()} {' '.join(ids)}: `{name}`", ""]
    for req_id in ids:
        entry = requirements.get(req_id, {})
        lines.append(f"> **{req_id}** [{entry.get('level', '?')}] {entry.get('text', '')}")
        lines.append(f"> ({entry.get('link', '')})")
        lines.append(">")
    lines += ["", first[0] if first else "", ""]
    if check.get("repro"):
        lines += ["```sh", check["repro"], "```", ""]
    if check.get("trace") or len(first) > 1:
        lines += ["<details><summary>message and frame trace</summary>", "", "```"]
        lines += [check.get("message", ""), "", check.get("trace", ""), "```", "</details>", ""]
    return lines


def render(document: Mapping[str, Any]) -> str:
    """The Markdown job summary of one report document."""
    target = document["target"]
    summary = document["summary"]
    where = target.get("name") or target["url"]
    if target.get("embedded_reference"):
        where += " (the embedded reference server)"
    verdict = "✅ conformant" if summary["conformant"] else "❌ not conformant"
    counts = ", ".join(f"{n} {v}" for v, n in summary["requirements"].items() if n)
    lines = [
        f"### Conformance: {verdict} at level `{document['level']}`",
        "",
        f"Target `{where}`; requirements: {counts}.",
        "",
    ]
    findings = [c for c in document["checks"] if c["outcome"] in ("fail", "error", "warn")]
    for check in sorted(findings, key=lambda c: c["outcome"] == "warn"):
        lines += _finding(check, document["requirements"])
    lines += [
        "<details><summary>Every requirement</summary>",
        "",
        summarize(document),
        "</details>",
    ]
    return "\n".join(lines) + "\n"


def destination(option: str | None) -> tuple[str, bool] | None:
    """Where the summary goes and whether to append: the option, else $GITHUB_STEP_SUMMARY."""
    if option:
        return option, False
    env = os.environ.get(ENV_STEP_SUMMARY)
    return (env, True) if env else None


def write(path: str, document: Mapping[str, Any], append: bool = False) -> None:
    """Write (or append) the job summary of `document`."""
    with Path(path).open("a" if append else "w", encoding="utf-8") as out:
        out.write(render(document))
