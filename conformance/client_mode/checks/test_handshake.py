"""Client checks: the URL, path, query and extensions of the opening handshake (chapter 02)."""

from __future__ import annotations

import pytest

from conformance.client_mode.judge import expect, outputs_match, session_ended, usable
from conformance.client_mode.recording import Recording
from conformance.client_mode.session import ClientRuns


def _routes(rec: Recording) -> list[str]:
    usable(rec)
    expect(rec.connections, rec, "the client never connected")
    return [conn.handshake.route for conn in rec.connections]


@pytest.mark.req("RT-TRANS-010", "RT-CONF-040")
@pytest.mark.parametrize(
    ("case", "path"),
    [
        ("echo", "/local/conformance-app/realtime"),
        ("server-streaming", "/local/conformance-app/realtime/stream"),
    ],
)
def test_client_builds_the_url_from_app_id_and_path(
    client_runs: ClientRuns, case: str, path: str
) -> None:
    """The request path is /{app id} followed by the endpoint path."""
    rec = client_runs.get(case)
    routes = _routes(rec)
    expect(routes == [path] * len(routes), rec, f"requested {routes}, expected {path!r}")


@pytest.mark.req("RT-TRANS-011")
def test_client_keeps_a_namespaced_app_id_unchanged(client_runs: ClientRuns) -> None:
    """An app id with a namespace goes into the path unchanged."""
    rec = client_runs.get("namespaced-app-id")
    want = "/workflows/local/conformance-app/realtime"
    routes = _routes(rec)
    expect(routes == [want] * len(routes), rec, f"requested {routes}, expected {want!r}")


@pytest.mark.req("RT-TRANS-012")
def test_client_does_not_append_a_second_realtime(client_runs: ClientRuns) -> None:
    """With no endpoint path and an app id ending in /realtime, /realtime is not added again."""
    rec = client_runs.get("app-id-ends-with-realtime")
    want = "/local/conformance-app/realtime"
    routes = _routes(rec)
    expect(routes == [want] * len(routes), rec, f"requested {routes}, expected {want!r}")


@pytest.mark.req("RT-TRANS-013")
def test_client_rewrites_a_legacy_app_id(client_runs: ClientRuns) -> None:
    """The legacy app id 12345-conformance-app becomes 12345/conformance-app."""
    rec = client_runs.get("legacy-app-id")
    want = "/12345/conformance-app/realtime"
    routes = _routes(rec)
    expect(routes == [want] * len(routes), rec, f"requested {routes}, expected {want!r}")


@pytest.mark.req("RT-TRANS-014")
def test_client_percent_encodes_query_values(client_runs: ClientRuns) -> None:
    """A token holding + / = & space and % survives the query string unchanged."""
    from conformance.client_mode.cases import SPECIAL_TOKEN

    rec = client_runs.get("auth-token-special")
    _routes(rec)
    for conn in rec.connections:
        got = conn.handshake.query.get("fal_jwt_token")
        if got is None and conn.handshake.header("Authorization"):
            continue  # sent as a header: nothing to encode
        expect(got == [SPECIAL_TOKEN], rec, f"fal_jwt_token decoded to {got!r}")


@pytest.mark.req("RT-TRANS-032")
@pytest.mark.parametrize("case", ["echo", "deflate-accepted"])
def test_client_works_with_or_without_compression(client_runs: ClientRuns, case: str) -> None:
    """Declined (echo) or accepted (deflate-accepted), permessage-deflate changes nothing."""
    rec = client_runs.get(case)
    session_ended(rec)
    outputs_match(rec)
