"""Client checks: where the credential goes and how a key becomes a token (chapter 03)."""

from __future__ import annotations

from urllib.parse import unquote_plus

import pytest

from conformance.client_mode.cases import KEY, TOKEN, get_case
from conformance.client_mode.judge import expect, failures, outputs_match, session_ended, usable
from conformance.client_mode.recording import Connection, Recording
from conformance.client_mode.session import ClientRuns


def carries_token(conn: Connection, token: str) -> bool:
    """Whether the handshake carries ``token`` as fal_jwt_token or as a Bearer credential."""
    hs = conn.handshake
    bearer = f"Bearer {token}" in hs.header("Authorization")
    return hs.query.get("fal_jwt_token") == [token] or bearer


def carries_key(conn: Connection) -> bool:
    """Whether the handshake carries the key as Authorization: Key."""
    return f"Key {KEY}" in conn.handshake.header("Authorization")


def exchanges_tokens(rec: Recording) -> bool:
    """Whether the client obtains tokens; not applicable when it sent the key as a header."""
    usable(rec)
    if rec.token_calls:
        return True
    if rec.connections and all(carries_key(c) for c in rec.connections):
        pytest.skip(NO_EXCHANGE)
    return False


NO_EXCHANGE = (
    "not applicable: the client has no token exchange (it sent RT_KEY as Authorization: Key "
    "and ignored RT_REST_URL)"
)


def _connected(rec: Recording) -> list[Connection]:
    usable(rec)
    expect(rec.connections, rec, "the client never connected")
    return rec.connections


@pytest.mark.req("RT-AUTH-004")
@pytest.mark.parametrize("case", ["auth-token", "auth-key-header", "auth-key"])
def test_client_sends_the_credential_as_query_or_header(client_runs: ClientRuns, case: str) -> None:
    """The credential goes in fal_jwt_token or Authorization, and a key never in the URL."""
    rec = client_runs.get(case)
    for conn in _connected(rec):
        has = conn.handshake.query.get("fal_jwt_token") or conn.handshake.header("Authorization")
        expect(has, rec, "the handshake carries no credential")
        expect(KEY not in unquote_plus(conn.handshake.path), rec, "the key is in the URL")
        expect(TOKEN not in conn.handshake.route, rec, "the token is in the path")


@pytest.mark.req("RT-CONF-046")
@pytest.mark.parametrize("case", ["echo", "auth-token", "auth-key-header", "auth-key"])
def test_adapter_uses_the_credential_it_is_given(client_runs: ClientRuns, case: str) -> None:
    """RT_TOKEN is used as given, RT_KEY as a Key header or exchanged at RT_REST_URL; none: none."""
    rec = client_runs.get(case)
    spec = get_case(case)
    for conn in _connected(rec):
        hs = conn.handshake
        if spec.token is not None:
            expect(carries_token(conn, spec.token), rec, "the handshake lacks RT_TOKEN")
            expect(not rec.token_calls, rec, "a token call was made although RT_TOKEN was given")
        elif spec.key is not None and spec.token_shape is None:
            expect(carries_key(conn), rec, "the handshake lacks Authorization: Key RT_KEY")
        elif spec.key is not None and not rec.token_calls and carries_key(conn):
            pass  # a client without token exchange: see NO_EXCHANGE
        elif spec.key is not None:
            expect(rec.token_calls, rec, "no token was obtained at RT_REST_URL")
            expect(carries_token(conn, str(rec.issued_token)), rec, "the token is not used")
        else:
            credential = hs.header("Authorization") or hs.query.get("fal_jwt_token")
            expect(not credential, rec, f"a credential was sent, none was given: {credential}")


@pytest.mark.req("RT-AUTH-020")
def test_client_token_request_has_the_documented_form(client_runs: ClientRuns) -> None:
    """A token request is POST {rest}/tokens/ with the key and {allowed_apps, token_expiration}."""
    rec = client_runs.get("auth-key")
    expect(exchanges_tokens(rec), rec, "the client made no token request")
    alias = get_case("auth-key").app_id.split("/")[-1]
    for call in rec.token_calls:
        expect(call.method == "POST", rec, f"token request used {call.method}")
        expect(call.path == "/tokens/", rec, f"token request went to {call.path}")
        expect(f"Key {KEY}" in call.header("Authorization"), rec, "no Authorization: Key <key>")
        body = call.json_body()
        expect(isinstance(body, dict), rec, "the token request body is not a JSON object")
        apps = body.get("allowed_apps")
        expect(apps == [alias], rec, f"allowed_apps is {apps!r}, expected {[alias]!r}")
        expiry = body.get("token_expiration")
        positive = isinstance(expiry, int) and not isinstance(expiry, bool) and expiry > 0
        expect(positive, rec, f"token_expiration is {expiry!r}, not a positive integer")


@pytest.mark.req("RT-AUTH-022")
def test_client_accepts_a_token_given_as_a_json_string(client_runs: ClientRuns) -> None:
    """A token endpoint answering the JSON string t leads to a session authenticated with t."""
    rec = client_runs.get("auth-key")
    expect(exchanges_tokens(rec), rec, "the client made no token request")
    session_ended(rec)
    for conn in _connected(rec):
        expect(carries_token(conn, str(rec.issued_token)), rec, "the issued token is not used")
    outputs_match(rec)


@pytest.mark.req("RT-AUTH-023")
def test_client_accepts_a_token_given_as_an_object(client_runs: ClientRuns) -> None:
    """A token endpoint answering {"token": t} leads to a session authenticated with t."""
    rec = client_runs.get("auth-key-token-object")
    expect(exchanges_tokens(rec), rec, "the client made no token request")
    session_ended(rec)
    for conn in _connected(rec):
        expect(carries_token(conn, str(rec.issued_token)), rec, "the issued token is not used")
    outputs_match(rec)


@pytest.mark.req("RT-AUTH-024")
def test_client_reports_a_failed_token_request(client_runs: ClientRuns) -> None:
    """A token endpoint answering 401 reaches the caller as an error, not as silence."""
    rec = client_runs.get("token-endpoint-fails")
    expect(exchanges_tokens(rec), rec, "the client made no token request")
    session_ended(rec)
    reported = [e for e in rec.events if e.get("event") in ("error", "exception")]
    expect(reported, rec, "the failed token request was not reported")


@pytest.mark.req("RT-AUTH-013")
def test_client_reports_a_refused_handshake(client_runs: ClientRuns) -> None:
    """A handshake answered 401 ends in an error the caller sees, with no output."""
    rec = client_runs.get("refused-401")
    session_ended(rec)
    expect(failures(rec), rec, "the refused handshake was not reported as an error")
    expect(not rec.outputs, rec, "the client reported outputs from a refused handshake")
