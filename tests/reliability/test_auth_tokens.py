"""Credentials and tokens (spec 12.3; attack findings 6 and 10)."""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest
from relhelpers import KEY, ServerProc, connect, handshake, http_request, read_head, round_trip

_NON_ASCII = [
    ("query %C3%A9", "/realtime?fal_jwt_token=%C3%A9", {}),
    ("query %FF", "/realtime?fal_jwt_token=%FF", {}),
    ("Key latin-1", "/realtime", {"Authorization": "Key \xe9"}),
    ("Bearer latin-1", "/realtime", {"Authorization": "Bearer \xe9t\xe9"}),
]


@pytest.mark.parametrize(("case", "path", "headers"), _NON_ASCII, ids=[c[0] for c in _NON_ASCII])
def test_non_ascii_credential_on_upgrade_gets_403(
    keyed: ServerProc, case: str, path: str, headers: dict[str, str]
) -> None:
    """Finding 6 (RT-SEC-031): a non-ASCII credential is refused with 403, the server goes on.

    Before: hmac.compare_digest raised TypeError; the client got no HTTP response at all.
    """
    ws = handshake(keyed.port, path, headers)
    ws.close()
    assert ws.status == 403, f"{case}: the upgrade answered {ws.status or 'nothing'}"
    ok = handshake(keyed.port, "/realtime", {"Authorization": f"Key {KEY}"})
    try:
        round_trip(ok, "after")
    finally:
        ok.close()


def test_non_ascii_credential_on_post_gets_403(keyed: ServerProc) -> None:
    """Finding 6 (RT-SEC-031): POST / with `Key \\xe9` is answered 403 (before: never)."""
    body = b'{"prompt":"x"}'
    raw = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    raw += b"Authorization: Key \xe9\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    status, _ = http_request(keyed.port, raw, timeout=5)
    assert status == 403, f"POST / with a non-ASCII key answered {status}"


def test_refusal_comes_before_the_body(keyed: ServerProc) -> None:
    """RT-SEC-030: POST / without a credential is refused from its head, the body never sent."""
    raw = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    raw += b"Content-Length: 10000000\r\n\r\n"
    status, _ = http_request(keyed.port, raw, timeout=5)
    assert status == 401, f"POST / without a credential (body not sent) answered {status}"


def _token(server: ServerProc, body: dict[str, object]) -> str:
    data = json.dumps(body).encode()
    raw = b"POST /tokens/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    raw += f"Authorization: Key {KEY}\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data
    sock = connect(server.port)
    try:
        sock.sendall(raw)
        status, head, rest = read_head(sock)
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        while len(rest) < length:
            rest += sock.recv(4096)
    finally:
        sock.close()
    assert status in (200, 201), f"POST /tokens/ answered {status}"
    token = json.loads(rest)
    assert isinstance(token, str)
    return token


def _with_token(server: ServerProc, token: str, path: str = "/realtime") -> int:
    query = urllib.parse.urlencode({"fal_jwt_token": token})
    ws = handshake(server.port, f"{path}?{query}")
    ws.close()
    return ws.status


def test_token_works_until_its_expiration(keyed: ServerProc) -> None:
    """A token opens a session (holds today), and `token_expiration` is honoured (finding 10).

    Before: the lifetime was 120 s whatever was asked.
    """
    token = _token(keyed, {"allowed_apps": ["conformance-app"], "token_expiration": 1})
    assert _with_token(keyed, token) == 101
    time.sleep(2.5)
    assert _with_token(keyed, token) == 403, "a token asked for 1 s still opened a session"


def test_token_is_scoped_to_allowed_apps(keyed: ServerProc) -> None:
    """Finding 10 (RT-SEC-007): a token for alias `app-a` does not open another app."""
    token = _token(keyed, {"allowed_apps": ["app-a"], "token_expiration": 60})
    assert _with_token(keyed, token, "/alice/app-a/realtime") == 101
    got = _with_token(keyed, token, "/bob/app-b/realtime")
    assert got == 403, f"a token for alice/app-a opened /bob/app-b/realtime ({got})"


def test_token_secret_is_not_a_function_of_the_key() -> None:
    """Finding 10 (RT-SEC-033): two servers with the same key do not accept each other's tokens.

    Before: the signing secret was SHA-256("reference-token:" + key), so a token was an
    offline oracle for the key, and any server with the key accepted any other's tokens.
    """
    first, second = ServerProc(key=KEY), ServerProc(key=KEY)
    try:
        token = _token(first, {"allowed_apps": ["conformance-app"], "token_expiration": 60})
        assert _with_token(first, token) == 101
        got = _with_token(second, token)
    finally:
        first.stop()
        second.stop()
    assert got == 403, f"a token of one server opened a session on another ({got})"
