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


def _listed(ids: list[str]) -> str:
    return ", ".join(ids[:MAX_LISTED]) + (" ..." if len(ids) > MAX_LISTED else "")


def verdict_line(state: SuiteState, document: Mapping[str, Any], written: list[str]) -> str:
    """One line: conformant or not, the level, the target, where the reports are."""
    entries = document["requirements"]
    failed = [r for r, e in entries.items() if e["verdict"] == "fail"]
    errors = [r for r, e in entries.items() if e["verdict"] == "error"]
    if failed or errors:
        why = [f"{len(failed)} failed: {_listed(failed)}"] if failed else []
        why += [f"{len(errors)} undecided (error): {_listed(errors)}"] if errors else []
        verdict = f"NOT CONFORMANT at level {state.level} ({'; '.join(why)})"
    else:
        verdict = f"CONFORMANT at level {state.level}"
    where = ", ".join(written) if written else "none written (--conformance-report PATH)"
    return f"conformance: {verdict}; {state.describe_target()}; report: {where}"


def _why_left_out(state: SuiteState) -> str:
    if state.selectors and not state.other_mode:
        return f"not of --req {' '.join(state.selectors)}"
    if state.client_mode:
        return "server checks do not run with --client-cmd"
    return "client checks run only with --client-cmd COMMAND"


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
    if state.not_selected:
        lines.append(
            f"{state.not_selected} checks left out (pytest: deselected): {_why_left_out(state)}"
        )
    for r in results:
        if r.outcome == "warn":
            lines.append(f"WARN {' '.join(r.blamed or r.reqs)} {r.nodeid}")
            lines.append(f"     {r.message.splitlines()[0][:160] if r.message else ''}")
            lines.append(f"     reproduce: {r.repro}")
    for r in results:
        for name, value in r.measured.items():
            lines.append(f"measured {name}: {value} ({r.nodeid.rsplit('::', 1)[-1]})")
    reasons = Counter(r.message for r in results if r.outcome == "not-applicable")
    if reasons:
        lines.append(f"not applicable ({sum(reasons.values())}):")
        lines += [
            f"  {n} x {reason.removeprefix('not applicable: ')}" for reason, n in reasons.items()
        ]
    return lines
