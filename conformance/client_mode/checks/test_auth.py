"""Client checks: where the credential goes and how a key becomes a token (chapter 03)."""

from __future__ import annotations

import pytest

from conformance.client_mode.cases import KEY, TOKEN, get_case
from conformance.client_mode.judge import explain, failures, session_ended
from conformance.client_mode.recording import Connection
from conformance.client_mode.session import ClientRuns


def carries_token(conn: Connection, token: str) -> bool:
    """Whether the handshake carries ``token`` as fal_jwt_token or as a Bearer credential."""
    hs = conn.handshake
    return hs.query.get("fal_jwt_token") == [token] or f"Bearer {token}" in hs.header(
        "Authorization"
    )


@pytest.mark.req("TBD:token-placement")
def test_client_sends_token_as_query_parameter_or_bearer(client_runs: ClientRuns) -> None:
    """A token goes in the fal_jwt_token query parameter or an Authorization: Bearer header."""
    rec = client_runs.get("auth-token")
    assert rec.connections, explain(rec, "the client never connected")
    for conn in rec.connections:
        assert carries_token(conn, TOKEN), explain(rec, "the handshake does not carry the token")
        assert TOKEN not in conn.handshake.route, explain(rec, "the token is in the path")


@pytest.mark.req("TBD:key-placement")
def test_client_sends_key_as_header_or_exchanges_it(client_runs: ClientRuns) -> None:
    """A key goes in Authorization: Key, or is exchanged for a token that the handshake carries."""
    rec = client_runs.get("auth-key")
    assert rec.connections, explain(rec, "the client never connected")
    for conn in rec.connections:
        by_header = f"Key {KEY}" in conn.handshake.header("Authorization")
        by_token = bool(rec.token_calls) and carries_token(conn, str(rec.issued_token))
        assert by_header or by_token, explain(
            rec, "the handshake carries neither Authorization: Key nor the exchanged token"
        )
        assert KEY not in conn.handshake.path, explain(rec, "the key is in the URL")


@pytest.mark.req("TBD:token-request")
def test_client_token_request_has_the_documented_form(client_runs: ClientRuns) -> None:
    """A token request is POST {rest}/tokens/ with the key and {allowed_apps, token_expiration}."""
    rec = client_runs.get("auth-key")
    if not rec.token_calls:
        pytest.skip("not applicable: the client sent the key as a header, asking for no token")
    alias = get_case("auth-key").app_id.split("/")[-1]
    for call in rec.token_calls:
        assert call.method == "POST", explain(rec, f"token request used {call.method}")
        assert call.path.rstrip("/") == "/tokens", explain(rec, f"token request to {call.path}")
        assert f"Key {KEY}" in call.header("Authorization"), explain(
            rec, "token request lacks Authorization: Key <key>"
        )
        body = call.json_body()
        assert isinstance(body, dict), explain(rec, "token request body is not a JSON object")
        assert body.get("allowed_apps") == [alias], explain(
            rec, f"allowed_apps is {body.get('allowed_apps')!r}, expected {[alias]!r}"
        )
        expiry = body.get("token_expiration")
        positive_int = isinstance(expiry, int) and expiry > 0
        assert positive_int, explain(rec, f"token_expiration is {expiry!r}, not a positive integer")


@pytest.mark.req("TBD:token-response")
def test_client_accepts_token_as_object(client_runs: ClientRuns) -> None:
    """A token endpoint answering {"token": t} works like one answering the JSON string t."""
    rec = client_runs.get("auth-key-token-object")
    if not rec.token_calls:
        pytest.skip("not applicable: the client sent the key as a header, asking for no token")
    session_ended(rec)
    assert rec.connections, explain(rec, "the client never connected after the token call")
    for conn in rec.connections:
        assert carries_token(conn, str(rec.issued_token)), explain(
            rec, 'the handshake does not carry the token from {"token": ...}'
        )
    want = get_case("auth-key-token-object").expected_outputs
    assert rec.outputs == want, explain(rec, f"outputs {rec.outputs!r}, expected {want!r}")


@pytest.mark.req("TBD:refused")
def test_client_reports_a_refused_handshake(client_runs: ClientRuns) -> None:
    """A handshake answered 401 ends in a failure the user sees, promptly, with no output."""
    rec = client_runs.get("refused-401")
    session_ended(rec)
    closed_badly = [e for e in rec.of("closed") if not e.get("clean")]
    assert failures(rec) or closed_badly, explain(rec, "the refusal was not reported as a failure")
    assert not rec.outputs, explain(rec, "the client reported outputs from a refused handshake")
    assert len(rec.connections) <= 3, explain(rec, "the client kept retrying the handshake")
