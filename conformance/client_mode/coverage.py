"""Which client-side requirement each client check verifies (spec chapter 13, client mode).

A static reading of ``@pytest.mark.req(...)`` in ``conformance/client_mode/checks``, like the
server suite's ``conformance.coverage``. ``python -m conformance.client_mode.coverage`` prints
every client-side MUST/SHOULD with its checks and exits 1 when one has none.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from conformance.coverage import marked_checks

CHECKS_DIR = Path(__file__).resolve().parent / "checks"

# Client-side requirements that the adapter contract cannot exercise, with the reason. They
# are reported as not applicable with this reason, never as passes.
NOT_TESTABLE: dict[str, str] = {
    "RT-TRANS-022": "the adapter contract passes no max_buffering value to the client",
    "RT-LIFE-034": "a caller can always bound the wait from outside; only the adapter's "
    "timeout (RT-CONF-044) is visible",
    "RT-RAW-006": "the adapter contract drives realtime endpoints only, not raw WebSockets",
    "RT-RTC-002": "WebRTC signaling clients are outside the adapter contract",
    "RT-RTC-004": "WebRTC signaling clients are outside the adapter contract",
    "RT-RTC-005": "WebRTC signaling clients are outside the adapter contract",
    "RT-RTC-006": "WebRTC signaling clients are outside the adapter contract",
    "RT-RTC-010": "a WebRTC media client (its peer and frame source) is outside the adapter "
    "contract",
    "RT-RTC-011": "a WebRTC media client (its peer and frame source) is outside the adapter "
    "contract",
    "RT-RTC-012": "a WebRTC media client (its peer and frame source) is outside the adapter "
    "contract",
    "RT-SEC-005": "the scripted server is on loopback, where ws:// is allowed",
    "RT-SEC-006": "where the client runs (browser or not) is not visible on the wire",
    "RT-CTRL-027": "the adapter's error record does not say whether the client treats an error "
    "as one of an input or of the session",
    "RT-LIFE-027": "the scripted server answers every close frame at once; no case holds one back",
    "RT-TRANS-048": "a client's own inbound limit is not declared to the suite",
}


@functools.cache
def matrix() -> dict[str, list[str]]:
    """Requirement ID -> the client checks (``module::function``) marked with it."""
    return marked_checks(CHECKS_DIR)


def client_requirements() -> list[str]:
    """Every client-side MUST/SHOULD requirement ID of the spec, sorted."""
    from conformance import catalog

    return sorted(
        r.id
        for r in catalog.load().values()
        if "client" in r.applies_to and r.level in ("MUST", "SHOULD")
    )


def uncovered() -> list[str]:
    """Client-side MUST/SHOULD IDs with neither a check nor a NOT_TESTABLE reason."""
    cov = matrix()
    return [r for r in client_requirements() if r not in cov and r not in NOT_TESTABLE]


def main() -> int:
    """Print the client coverage matrix."""
    from conformance import catalog

    reqs = catalog.load()
    cov = matrix()
    for req_id in client_requirements():
        level = reqs[req_id].level
        if req_id in cov:
            print(f"{req_id:<14} {level:<6} {', '.join(cov[req_id])}")
        elif req_id in NOT_TESTABLE:
            print(f"{req_id:<14} {level:<6} (not testable: {NOT_TESTABLE[req_id]})")
        else:
            print(f"{req_id:<14} {level:<6} NOT COVERED")
    missing = uncovered()
    print(f"{len(missing)} client-side MUST/SHOULD requirement(s) without a check", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
