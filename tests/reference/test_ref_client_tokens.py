"""The reference client's token exchange over loopback sockets (reference/client/tokens.py; ch. 03).

A token service (http.server on 127.0.0.1) records each request and answers as told; a
recording WebSocket server shows where the client put the credential.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from refhelpers import DEADLINE, Running
from websockets.http11 import Request
from websockets.sync.server import Server, ServerConnection, serve

from reference.client import (
    RecvTimeout,
    TokenError,
    realtime,
    realtime_async,
    ws_connect,
    ws_connect_async,
)
from reference.client.tokens import app_alias

KEY = "key-id:key-secret"


@dataclass
class TokenCall:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class TokenService:
    """What the service answers (status, body) and the calls it saw."""

    url: str = ""
    status: int = 200
    body: bytes = b'"tok-1"'
    delay: float = 0.0  # seconds before answering (a slow token service)
    calls: list[TokenCall] = field(default_factory=list)


@pytest.fixture
def tokens() -> Iterator[TokenService]:
    service = TokenService()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            size = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(size)
            service.calls.append(TokenCall("POST", self.path, dict(self.headers), body))
            time.sleep(service.delay)
            self.send_response(service.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(service.body)))
            self.end_headers()
            self.wfile.write(service.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield service
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(DEADLINE)


@dataclass
class Handshakes:
    url: str
    requests: list[Request]


@pytest.fixture
def ws_echo() -> Iterator[Handshakes]:
    """A WebSocket server that records each handshake and echoes binary messages."""
    seen: list[Request] = []

    def record(_conn: ServerConnection, request: Request) -> None:
        seen.append(request)

    def echo(conn: ServerConnection) -> None:
        for message in conn:
            conn.send(message)

    server: Server = serve(echo, "127.0.0.1", 0, process_request=record, compression=None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Handshakes(f"ws://127.0.0.1:{server.socket.getsockname()[1]}", seen)
    finally:
        server.shutdown()
        thread.join(DEADLINE)


def query(request: Request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.path).query)


def test_token_request_has_the_documented_form(tokens: TokenService, ws_echo: Handshakes) -> None:
    """RT-AUTH-020: POST {rest}/tokens/, Key header, alias only, 120 s; token in the query only."""
    with realtime("owner/my-app/realtime", base_url=ws_echo.url, key=KEY, rest_url=tokens.url) as c:
        c.send({"prompt": "x"})
        assert c.recv(timeout=DEADLINE) == {"prompt": "x"}
    [call] = tokens.calls
    assert call.path == "/tokens/"
    assert call.headers["Authorization"] == f"Key {KEY}"
    assert call.headers["Content-Type"] == "application/json"
    assert json.loads(call.body) == {"allowed_apps": ["my-app"], "token_expiration": 120}
    [hs] = ws_echo.requests
    assert urlsplit(hs.path).path == "/owner/my-app/realtime"
    assert query(hs) == {"fal_jwt_token": ["tok-1"]}
    assert "Authorization" not in hs.headers  # JWT mode sends no key (RT-AUTH-004)


def test_issued_token_opens_a_keyed_server(tokens: TokenService, keyed_server: Running) -> None:
    """RT-AUTH-023: {"token": t} works end to end; the key itself is not what the server gets."""
    tokens.body, tokens.status = b'{"token": "sekrit"}', 201
    with realtime(
        "owner/app", base_url=keyed_server.url, key="not-the-key", rest_url=tokens.url + "/"
    ) as c:
        c.send({"prompt": "jwt"})
        assert c.recv(timeout=DEADLINE) == {"output": "jwt"}
    assert [call.path for call in tokens.calls] == ["/tokens/"]


def test_async_client_exchanges_in_a_thread(tokens: TokenService, keyed_server: Running) -> None:
    """RT-AUTH-022: a JSON-string token, fetched off the event loop by realtime_async."""
    tokens.body = b'"sekrit"'

    async def main() -> Any:
        async with realtime_async(
            "owner/app", base_url=keyed_server.url, key=KEY, rest_url=tokens.url
        ) as conn:
            await conn.send({"prompt": "async"})
            return await conn.recv(timeout=DEADLINE)

    assert asyncio.run(main()) == {"output": "async"}
    assert len(tokens.calls) == 1


def test_refused_token_request_is_an_actionable_error(
    tokens: TokenService, ws_echo: Handshakes
) -> None:
    """RT-AUTH-024: a 401 raises TokenError naming the status, the service's detail, the fix."""
    tokens.status, tokens.body = 401, b'{"detail": "key not accepted"}'
    with (
        pytest.raises(TokenError) as info,
        realtime("owner/app", base_url=ws_echo.url, key=KEY, rest_url=tokens.url),
    ):
        pass
    err = info.value
    assert (err.code, err.status) == ("TOKEN_REQUEST_FAILED", 401)
    assert "HTTP 401" in err.reason
    assert "key not accepted" in err.reason
    assert "check key=" in err.reason
    assert KEY not in str(err)
    assert ws_echo.requests == []  # nothing was sent with a missing token


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<html>gateway</html>", "not JSON"),
        (b'{"nope": "x"}', "object with keys ['nope']"),
        (b"42", "not a token"),
        (b'""', "not a token"),
        (b'{"detail": "quota exceeded"}', "refused: quota exceeded"),
    ],
)
def test_malformed_token_response_is_an_error(
    tokens: TokenService, ws_echo: Handshakes, body: bytes, says: str
) -> None:
    tokens.body = body
    with (
        pytest.raises(TokenError, match="token service") as info,
        realtime("owner/app", base_url=ws_echo.url, key=KEY, rest_url=tokens.url),
    ):
        pass
    assert says in info.value.reason
    assert ws_echo.requests == []


def test_async_client_reports_a_refused_token_request(tokens: TokenService) -> None:
    tokens.status = 403

    async def main() -> None:
        async with realtime_async("owner/app", key=KEY, rest_url=tokens.url):
            pass

    with pytest.raises(TokenError, match="HTTP 403"):
        asyncio.run(main())


def test_unreachable_token_service_says_what_to_check(ws_echo: Handshakes) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    rest = f"http://127.0.0.1:{port}"  # bound and released: nothing listens there
    with (
        pytest.raises(TokenError, match=r"cannot reach the token service.*check rest_url"),
        realtime("owner/app", base_url=ws_echo.url, key=KEY, rest_url=rest),
    ):
        pass
    assert ws_echo.requests == []


def test_key_header_without_rest_url_or_with_use_jwt_false(
    tokens: TokenService, ws_echo: Handshakes
) -> None:
    """Header mode: `Authorization: Key <key>`, no token call, no fal_jwt_token."""
    with realtime("owner/app", base_url=ws_echo.url, key=KEY):
        pass
    with realtime("owner/app", base_url=ws_echo.url, key=KEY, rest_url=tokens.url, use_jwt=False):
        pass
    with ws_connect("owner/app/echo", base_url=ws_echo.url, key=KEY, rest_url=tokens.url):
        pass  # the raw endpoint helper exchanges too
    assert [call.path for call in tokens.calls] == ["/tokens/"]
    header_mode, raw = ws_echo.requests[:2], ws_echo.requests[2]
    for hs in header_mode:
        assert hs.headers["Authorization"] == f"Key {KEY}"
        assert "fal_jwt_token" not in query(hs)
    assert query(raw) == {"fal_jwt_token": ["tok-1"]}


def test_ws_connect_async_exchanges_in_a_thread_and_sends_max_buffering(
    tokens: TokenService, ws_echo: Handshakes
) -> None:
    """As fal_client's ws_connect_async: token in the query, max_buffering too, no key header."""

    async def main() -> Any:
        async with ws_connect_async(
            "owner/app",
            path="/echo",
            base_url=ws_echo.url,
            key=KEY,
            rest_url=tokens.url,
            max_buffering=3,
        ) as conn:
            await conn.send(b"raw")
            return await conn.recv(DEADLINE)

    assert asyncio.run(main()) == b"raw"
    with ws_connect("owner/app", path="/echo", base_url=ws_echo.url, token="t", max_buffering=4):
        pass
    [call, *_] = tokens.calls
    assert json.loads(call.body)["allowed_apps"] == ["app"]
    async_hs, sync_hs = ws_echo.requests
    assert urlsplit(async_hs.path).path == "/owner/app/echo"
    assert query(async_hs) == {"fal_jwt_token": ["tok-1"], "max_buffering": ["3"]}
    assert "Authorization" not in async_hs.headers
    assert query(sync_hs) == {"fal_jwt_token": ["t"], "max_buffering": ["4"]}


def test_ws_connect_async_key_header_and_refused_token(
    tokens: TokenService, ws_echo: Handshakes
) -> None:
    async def open_(**kwargs: Any) -> None:
        async with ws_connect_async("owner/app", path="/echo", base_url=ws_echo.url, **kwargs):
            pass

    asyncio.run(open_(key=KEY))  # no rest_url: header mode
    assert ws_echo.requests[0].headers["Authorization"] == f"Key {KEY}"
    tokens.status = 401
    with pytest.raises(TokenError, match="HTTP 401"):
        asyncio.run(open_(key=KEY, rest_url=tokens.url))
    assert len(ws_echo.requests) == 1  # nothing was sent with a missing token


def test_lazy_reconnect_fetches_a_new_token(tokens: TokenService, keyed_server: Running) -> None:
    """As @fal-ai/client: a close clears the token; the next connection asks for a new one."""
    tokens.body = b'"sekrit"'
    with realtime(
        "owner/app",
        path="/realtime/stream",
        base_url=keyed_server.url,
        key=KEY,
        rest_url=tokens.url,
        lazy=True,
    ) as conn:
        for prompt in ("a", "b"):
            conn.send({"prompt": prompt, "count": 1})
            assert conn.recv(timeout=DEADLINE) == {"output": f"{prompt}-0"}
            assert conn.recv(timeout=DEADLINE) is None  # TIMEOUT, close 1000
    assert [call.path for call in tokens.calls] == ["/tokens/", "/tokens/"]


def test_lazy_async_recv_timeout_while_reopening_keeps_the_open(
    tokens: TokenService, keyed_server: Running
) -> None:
    """A recv that times out during a slow reconnect must not cancel it (a bug once)."""
    tokens.body = b'"sekrit"'

    async def main() -> list[Any]:
        async with realtime_async(
            "owner/app",
            path="/realtime/stream",
            base_url=keyed_server.url,
            key=KEY,
            rest_url=tokens.url,
            lazy=True,
        ) as conn:
            await conn.send({"prompt": "a", "count": 1})
            got = [await conn.recv(timeout=DEADLINE), await conn.recv(timeout=DEADLINE)]
            tokens.delay = 0.5
            await conn.send({"prompt": "b", "count": 1})  # opens anew: a slow token call
            try:
                await conn.recv(timeout=0.05)
            except RecvTimeout:
                got.append("timed out")
            got.append(await conn.recv(timeout=DEADLINE))
            return got

    assert asyncio.run(main()) == [{"output": "a-0"}, None, "timed out", {"output": "b-0"}]


def test_explicit_token_skips_the_exchange(tokens: TokenService, ws_echo: Handshakes) -> None:
    with realtime("owner/app", base_url=ws_echo.url, token="given", key=KEY, rest_url=tokens.url):
        pass
    assert tokens.calls == []
    assert query(ws_echo.requests[0]) == {"fal_jwt_token": ["given"]}


def test_token_mode_needs_an_app_id(tokens: TokenService, ws_echo: Handshakes) -> None:
    with (
        pytest.raises(ValueError, match="needs an app id"),
        realtime(ws_echo.url + "/realtime", key=KEY, rest_url=tokens.url),
    ):
        pass
    with (
        pytest.raises(ValueError, match="http:// or https://"),
        realtime("owner/app", key=KEY, rest_url="ws://127.0.0.1:1"),
    ):
        pass
    assert tokens.calls == []


@pytest.mark.parametrize(
    ("app_id", "alias"),
    [
        ("owner/app", "app"),
        ("owner/app/realtime", "app"),
        ("workflows/owner/flow/x", "flow"),
        ("12345-legacy-app", "legacy-app"),
    ],
)
def test_allowed_apps_holds_the_alias_only(app_id: str, alias: str) -> None:
    assert app_alias(app_id) == alias
