"""Why production-app mode cannot check a requirement (spec chapter 13.4).

A production app's outputs, validation, timing and optional behaviours are unknown to the
suite, so rules that need the conformance app's known answers are reported as not checked,
each with its reason, never as passed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from conformance.coverage import NOT_OBSERVABLE

if TYPE_CHECKING:
    from conformance.catalog import Requirement

# Reasons by requirement ID, then by area prefix (first match wins).
BY_ID: dict[str, str] = {
    "RT-MSG-012": "needs inputs the app's own validation is known to refuse (RT-CONF-012)",
    "RT-MSG-031": "needs large outputs on demand (the conformance app echoes a large prompt)",
    "RT-FLOW-020": "needs large outputs on demand (the conformance app echoes a large prompt)",
    "RT-FLOW-021": "needs large outputs on demand (the conformance app echoes a large prompt)",
    "RT-MSG-030": "output order needs the outputs the sample inputs must produce "
    "(a samples file with two inputs whose outputs differ)",
    "RT-CTRL-013": "output order needs the outputs the sample inputs must produce "
    "(a samples file with two inputs whose outputs differ)",
    "RT-TRANS-002": "needs the app's gateway owner/alias names (feature gateway-paths)",
    "RT-LIFE-001": "needs an endpoint with a known idle timeout (feature session-timeout)",
    "RT-LIFE-002": "needs an endpoint with a known idle timeout (feature session-timeout)",
    "RT-LIFE-003": "a production endpoint may declare an idle timeout (RT-LIFE-001)",
    "RT-LIFE-021": "the suite can shut down only a server it started itself",
    "RT-LIFE-025": "needs a handler that takes a known time (feature delay)",
    "RT-CTRL-015": "needs a handler that fails on demand (feature handler-error)",
    "RT-CTRL-016": "needs a handler that fails on demand (feature handler-error)",
    "RT-CTRL-017": "needs a known idle timeout or a streaming endpoint",
    "RT-CTRL-033": "only checked when the server sends x-fal-message timings",
    "RT-FLOW-001": "needs a handler that takes a known time (feature delay)",
    "RT-FLOW-002": "needs a handler that takes a known time (feature delay)",
    "RT-FLOW-007": "needs a handler that takes a known time (feature delay)",
    "RT-FLOW-003": "needs an endpoint with a known buffering limit (feature buffering)",
    "RT-FLOW-004": "needs an endpoint with a known buffering limit (feature buffering)",
    "RT-FLOW-010": "needs an endpoint with known batching (feature batching)",
    "RT-FLOW-011": "needs an endpoint with known batching (feature batching)",
}
BY_AREA: dict[str, str] = {
    "RT-CONF-": "a rule of the conformance app, which a production app does not host",
    "RT-HTTP-": "needs the app's HTTP endpoint with inputs and outputs known in advance",
    "RT-RAW-": "needs the conformance app's raw endpoint /echo",
    "RT-STREAM-": "needs a streaming endpoint with known outputs (streaming features)",
    "RT-RTC-": "needs the conformance app's WebRTC peer (feature webrtc-signaling)",
    "RT-AUTH-": "no key was given (the `key` of --target-config)",
}


def unchecked_reasons(
    known: Mapping[str, Requirement], judged: set[str], not_applicable: Mapping[str, str]
) -> dict[str, str]:
    """Every server-side MUST/SHOULD no production check judged -> why."""
    out: dict[str, str] = {}
    for req in known.values():
        if not req.server_side or req.level not in ("MUST", "SHOULD") or req.id in judged:
            continue
        out[req.id] = (
            not_applicable.get(req.id)
            or NOT_OBSERVABLE.get(req.id)
            or BY_ID.get(req.id)
            or next((why for area, why in BY_AREA.items() if req.id.startswith(area)), "")
            or "no production-mode check covers it"
        )
    return out
