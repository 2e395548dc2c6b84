"""What the suite prints at the end of a run (spec chapter 13: reports people read).

A short summary (verdict counts, warnings, not-applicable reasons), then one verdict line:
conformant or not, at which level, against what, and where the reports went.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from conformance.runstate import SuiteState

MAX_LISTED = 8


def failing_requirements(document: Mapping[str, Any]) -> list[str]:
    """Requirements whose verdict fails the run (fail or error)."""
    return [r for r, e in document["requirements"].items() if e["verdict"] in ("fail", "error")]


def verdict_line(state: SuiteState, document: Mapping[str, Any], written: list[str]) -> str:
    """One line: conformant or not, the level, the target, where the reports are."""
    failing = failing_requirements(document)
    if failing:
        shown = ", ".join(failing[:MAX_LISTED]) + (" ..." if len(failing) > MAX_LISTED else "")
        verdict = f"NOT CONFORMANT at level {state.level} ({len(failing)} failing: {shown})"
    else:
        verdict = f"CONFORMANT at level {state.level}"
    where = ", ".join(written) if written else "none written (--conformance-report PATH)"
    return f"conformance: {verdict}; {state.describe_target()}; report: {where}"


def summary_lines(state: SuiteState) -> list[str]:
    """The lines of the conformance summary section (without the verdict line)."""
    results = list(state.results.values())
    counts = Counter(r.outcome for r in results)
    lines = []
    if state.client_mode:
        lines.append(f"client {state.command}; level {state.level}")
    elif state.target is not None:
        lines.append(f"target {state.target.url}; level {state.level}")
        if state.target.embedded:
            lines.append(
                "the suite started the embedded reference server (no --target given); "
                "pass --target ws://HOST:PORT to test your own server"
            )
    lines.append("checks: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    for r in results:
        if r.outcome == "warn":
            lines.append(f"WARN {' '.join(r.blamed or r.reqs)} {r.nodeid}")
            lines.append(f"     {r.message.splitlines()[0][:160] if r.message else ''}")
            lines.append(f"     reproduce: {r.repro}")
    reasons = Counter(r.message for r in results if r.outcome == "not-applicable")
    if reasons:
        lines.append(f"not applicable ({sum(reasons.values())}):")
        lines += [
            f"  {n} x {reason.removeprefix('not applicable: ')}" for reason, n in reasons.items()
        ]
    return lines
