"""The one report writer: a run's verdicts as the JSON report document (spec chapter 13).

Server and client mode build the same document (`conformance.report.build`); they differ only
in scope: which requirements the run was asked about, what stands in for requirements no check
can exercise, and what the `run` section records.
"""

from __future__ import annotations

import time
from typing import Any

from conformance import catalog, report
from conformance.runstate import SuiteState
from conformance.selection import req_ids

NOT_TESTABLE_CHECK = "conformance/client_mode (not testable through the adapter contract)"


def _in_selection(req_id: str, selectors: list[str]) -> bool:
    return not selectors or any(catalog.matches(req_id, s) for s in selectors)


def _server_document(state: SuiteState) -> dict[str, Any]:
    from conformance import coverage, schemas

    known = catalog.load()
    covered = {r for item in state.selected for r in req_ids(item)}
    suite_covers = coverage.covered_ids()
    in_scope = {
        req.id
        for req in known.values()
        if req.server_side
        and req.level in ("MUST", "SHOULD")
        and _in_selection(req.id, state.selectors)
        and (req.id in covered or req.id not in suite_covers)
    }
    results = list(state.results.values())
    if state.target_error:  # nothing ran: every selected check is an error, not a verdict
        results = [
            report.CheckResult(i.nodeid, req_ids(i), "error", message=state.target_error)
            for i in state.selected
        ]
    cfg = state.target
    doc = report.build(
        target=cfg.url if cfg else "",
        embedded=bool(cfg and cfg.embedded),
        features=sorted(cfg.features) if cfg else [],
        level=state.level,
        spec_version=catalog.spec_version(),
        checks=results,
        requirements=_requirement_info(coverage.NOT_OBSERVABLE),
        in_scope=in_scope,
        extra={
            "run": {
                "duration_s": round(time.monotonic() - state.started, 2),
                "selectors": state.selectors,
                "schemas": schemas.sources(),
                "error": state.target_error or None,
            }
        },
    )
    if cfg is not None and cfg.extra.get("name"):
        doc["target"]["name"] = cfg.extra["name"]
    return doc


def _client_document(state: SuiteState) -> dict[str, Any]:
    from conformance.client_mode.coverage import NOT_TESTABLE, client_requirements

    in_scope = {r for r in client_requirements() if _in_selection(r, state.selectors)}
    checks = list(state.results.values())
    checks += [
        report.CheckResult(
            nodeid=f"{NOT_TESTABLE_CHECK}::{req_id}",
            reqs=[req_id],
            outcome="not-applicable",
            message=f"not testable: {reason}",
        )
        for req_id, reason in sorted(NOT_TESTABLE.items())
        if req_id in in_scope
    ]
    return report.build(
        target=f"client: {state.command}",
        embedded=False,
        features=[],
        level=state.level,
        spec_version=catalog.spec_version(),
        checks=checks,
        requirements=_requirement_info({}),
        in_scope=in_scope,
        extra={
            "mode": "client",
            "run": {
                "duration_s": round(time.monotonic() - state.started, 2),
                "command": state.command,
                "selectors": state.selectors,
            },
        },
    )


def _requirement_info(notes: dict[str, str]) -> dict[str, dict[str, str]]:
    info = {}
    for r in catalog.load().values():
        entry = {"level": r.level, "profile": r.profile, "text": r.text, "link": r.link}
        if notes:
            entry["note"] = notes.get(r.id, "")
        info[r.id] = entry
    return info


def build_document(state: SuiteState) -> dict[str, Any]:
    """The JSON report document of this run (either mode)."""
    return _client_document(state) if state.client_mode else _server_document(state)
