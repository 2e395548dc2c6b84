"""The JSON report of a client-mode run, in the server suite's format (spec chapter 13).

Every client-side MUST/SHOULD is in scope; the ones the adapter contract cannot exercise
(``coverage.NOT_TESTABLE``) are reported as not applicable with their reason.
"""

from __future__ import annotations

import time
from typing import Any

from conformance import catalog, report
from conformance.client_mode.coverage import NOT_TESTABLE, client_requirements

NOT_TESTABLE_CHECK = "conformance/client_mode (not testable through the adapter contract)"


def build_report(
    command: str,
    level: str,
    results: list[report.CheckResult],
    started: float,
    selectors: list[str] | None = None,
) -> dict[str, Any]:
    """The report document of one client-mode run (``selectors``: the --req selection)."""
    known = catalog.load()
    in_scope = {
        r
        for r in client_requirements()
        if not selectors or any(catalog.matches(r, s) for s in selectors)
    }
    checks = list(results)
    for req_id, reason in sorted(NOT_TESTABLE.items()):
        if req_id in in_scope:
            checks.append(
                report.CheckResult(
                    nodeid=f"{NOT_TESTABLE_CHECK}::{req_id}",
                    reqs=[req_id],
                    outcome="not-applicable",
                    message=f"not testable: {reason}",
                )
            )
    return report.build(
        target=f"client: {command}",
        embedded=False,
        features=[],
        level=level,
        spec_version=catalog.spec_version(),
        checks=checks,
        requirements={
            r.id: {"level": r.level, "profile": r.profile, "text": r.text, "link": r.link}
            for r in known.values()
        },
        in_scope=in_scope,
        extra={
            "mode": "client",
            "run": {
                "duration_s": round(time.monotonic() - started, 2),
                "command": command,
                "selectors": selectors or [],
            },
        },
    )


def write_report(
    path: str,
    command: str,
    level: str,
    results: list[report.CheckResult],
    started: float,
    selectors: list[str] | None = None,
) -> None:
    """Write the report of one client-mode run to ``path``."""
    report.write(path, build_report(command, level, results, started, selectors))
