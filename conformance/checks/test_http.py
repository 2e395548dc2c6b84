"""The HTTP endpoint of the conformance app (spec chapters 10-http and 13)."""

from __future__ import annotations

import pytest

from conformance.failures import requirement
from conformance.wire import Target


@pytest.mark.req("RT-HTTP-001", "RT-HTTP-002")
@pytest.mark.parametrize("prompt", ["hello", "é ✓", ""])
def test_server_http_matches_realtime(target: Target, prompt: str) -> None:
    """POST / with a JSON input answers 200 with the same output as /realtime."""
    resp = target.http("POST", "/", {"prompt": prompt, "extra": [1, 2]})
    with requirement("RT-HTTP-001"):
        assert resp.status == 200, f"POST / answered {resp.status}: {resp.body[:200]!r}"
        body = resp.json()
    with target.connect() as conn:
        conn.send_msgpack({"prompt": prompt, "extra": [1, 2]})
        realtime = conn.recv_output()
    with requirement("RT-HTTP-002"):
        assert body == realtime, f"HTTP gave {body!r}, realtime gave {realtime!r}"


@pytest.mark.req("RT-HTTP-003")
@pytest.mark.parametrize("body", [{}, {"prompt": 1}, {"prompt": "x", "delay_ms": -1}])
def test_server_http_refuses_invalid_input_with_422(
    target: Target, body: dict[str, object]
) -> None:
    """An input the app's validation refuses gets 422."""
    resp = target.http("POST", "/", body)
    assert resp.status == 422, f"POST / with {body} answered {resp.status}"


@pytest.mark.req("RT-HTTP-004")
@pytest.mark.feature("handler-error")
def test_server_http_reports_handler_failure_with_500(target: Target) -> None:
    """A handler failure on an HTTP call gets 500."""
    resp = target.http("POST", "/", {"prompt": "x", "fail": True})
    assert resp.status == 500, f"a failing handler answered {resp.status}"


@pytest.mark.req("RT-HTTP-005")
def test_server_http_unknown_path_gets_404(target: Target) -> None:
    """An HTTP request for a path the app does not serve gets 404."""
    resp = target.http("POST", "/no-such-path", {"prompt": "x"})
    assert resp.status == 404, f"an unknown path answered {resp.status}"


@pytest.mark.req("RT-HTTP-006", "RT-CONF-020")
@pytest.mark.feature("auth")
def test_server_http_requires_credential(target: Target) -> None:
    """HTTP calls need the credential: refused 401/403 without it, accepted with Key."""
    refused = target.http("POST", "/", {"prompt": "x"}, auth=False)
    assert refused.status in (401, 403), f"a call without credential answered {refused.status}"
    accepted = target.http("POST", "/", {"prompt": "x"})
    assert accepted.status == 200, f"a call with `Authorization: Key` answered {accepted.status}"
