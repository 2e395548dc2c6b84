"""HTTP on the WebSocket port, refusals before the upgrade, raw endpoints, shutdown."""

from __future__ import annotations

import http.client
import json
import logging
import signal
import subprocess
import sys
import urllib.parse
from typing import Any

import pytest
from refhelpers import DEADLINE, Running, open_ws, pack, recv
from websockets.exceptions import ConnectionClosedError, InvalidStatus


def request(
    base: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    parts = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=DEADLINE)
    try:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body))
        conn.request(method, path, body=data, headers=headers or {})
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw) if raw else None
    finally:
        conn.close()


def test_http_post_matches_realtime_output(server: Running) -> None:
    assert request(server.http, "POST", "/", {"prompt": "hi"}) == (200, {"output": "hi"})
    assert request(server.http, "POST", "/owner/app", {"prompt": "gw"}) == (200, {"output": "gw"})


def test_http_validation_failure_is_422(server: Running) -> None:
    status, body = request(server.http, "POST", "/", {"prompt": 3})
    assert status == 422
    assert body["detail"][0]["loc"] == ["body", "prompt"]
    assert request(server.http, "POST", "/", b"{not json")[0] == 422


def test_http_requested_failure_is_500_and_one_info_line(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    """As on a realtime endpoint: a failure the client asked for is no server fault, so it
    is logged as one INFO line, not an ERROR with a traceback (before: ERROR + traceback)."""
    caplog.set_level(logging.INFO, logger="reference.server")
    status, body = request(server.http, "POST", "/", {"prompt": "x", "fail": True})
    assert (status, body) == (500, {"detail": "Internal Server Error"})
    lines = [r for r in caplog.records if "failed" in r.getMessage()]
    assert [(r.levelno, r.exc_info) for r in lines] == [(logging.INFO, None)]


def test_http_health_unknown_and_websocket_paths(server: Running) -> None:
    assert request(server.http, "GET", "/health") == (200, {"status": "ok"})
    assert request(server.http, "GET", "/nowhere")[0] == 404
    assert request(server.http, "GET", "/realtime")[0] == 426
    assert request(server.http, "GET", "/")[0] == 405


def test_server_refuses_unknown_ws_path_with_404(server: Running) -> None:
    with pytest.raises(InvalidStatus) as info:
        open_ws(server.url + "/nowhere")
    assert info.value.response.status_code == 404


def test_server_refuses_missing_credentials_with_401(keyed_server: Running) -> None:
    with pytest.raises(InvalidStatus) as info:
        open_ws(keyed_server.url + "/realtime")
    assert info.value.response.status_code == 401
    # RT-AUTH-014: a 401 names the scheme (RFC 9110 11.6.1), on handshakes and HTTP alike.
    assert info.value.response.headers.get("WWW-Authenticate") == "Key"
    parts = urllib.parse.urlsplit(keyed_server.http)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=DEADLINE)
    try:
        conn.request("POST", "/", body=json.dumps({"prompt": "x"}))
        resp = conn.getresponse()
        resp.read()
    finally:
        conn.close()
    assert (resp.status, resp.getheader("WWW-Authenticate")) == (401, "Key")


@pytest.mark.parametrize("headers", [None, {"Authorization": "Key sekrit"}])
def test_keyed_server_checks_the_path_before_the_credential(
    keyed_server: Running, headers: dict[str, str] | None
) -> None:
    """RT-AUTH-015: an unknown path is 404 with or without a credential, never 401/403."""
    with pytest.raises(InvalidStatus) as info:
        open_ws(keyed_server.url + "/nowhere", additional_headers=headers)
    assert info.value.response.status_code == 404


@pytest.mark.parametrize(
    ("suffix", "headers"),
    [
        ("?fal_jwt_token=forged", None),
        ("", {"Authorization": "Key wrong"}),
        ("", {"Authorization": "Bearer 1.abc"}),
    ],
)
def test_server_refuses_wrong_credentials_with_403(
    keyed_server: Running, suffix: str, headers: dict[str, str] | None
) -> None:
    with pytest.raises(InvalidStatus) as info:
        open_ws(keyed_server.url + "/realtime" + suffix, additional_headers=headers)
    assert info.value.response.status_code == 403


def test_server_accepts_key_header_and_issued_token(keyed_server: Running) -> None:
    with open_ws(
        keyed_server.url + "/realtime", additional_headers={"Authorization": "Key sekrit"}
    ) as ws:
        ws.send(pack({"prompt": "k"}))
        assert recv(ws) == {"output": "k"}
    body = {"allowed_apps": ["app"], "token_expiration": 120}
    assert request(keyed_server.http, "POST", "/tokens/", body)[0] == 401
    status, token = request(
        keyed_server.http, "POST", "/tokens/", body, {"Authorization": "Key sekrit"}
    )
    assert status == 201
    assert isinstance(token, str)
    with open_ws(f"{keyed_server.url}/o/app/realtime?fal_jwt_token={token}") as ws:
        ws.send(pack({"prompt": "t"}))
        assert recv(ws) == {"output": "t"}
    assert request(keyed_server.http, "GET", "/health")[0] == 200
    assert request(keyed_server.http, "POST", "/", {"prompt": "x"})[0] == 401


def test_raw_echo_text_then_close(server: Running) -> None:
    for path in ("/echo", "/owner/app/echo"):
        with open_ws(server.url + path) as ws:
            ws.send("m")
            assert [ws.recv(DEADLINE) for _ in range(3)] == ["m-0", "m-1", "m-2"]
            with pytest.raises(Exception):  # noqa: B017 - ConnectionClosedOK
                ws.recv(DEADLINE)
            assert ws.close_code == 1000


def test_raw_echo_binary(server: Running) -> None:
    with open_ws(server.url + "/echo") as ws:
        ws.send(b"\x00\x01")
        assert ws.recv(DEADLINE) == b"\x00\x01"
        ws.send(b"\x02")
        assert ws.recv(DEADLINE) == b"\x02"


def test_raw_handler_failure_closes_1011(server: Running) -> None:
    with open_ws(server.url + "/boom") as ws:
        ws.send("go")
        with pytest.raises(ConnectionClosedError):
            ws.recv(DEADLINE)
        assert ws.close_code == 1011


def test_cli_prints_url_and_stops_sessions_with_1001_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "reference", "serve", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("ws://127.0.0.1:")
        with open_ws(url + "/realtime") as ws:
            ws.send(pack({"prompt": "before"}))
            assert recv(ws) == {"output": "before"}
            proc.send_signal(signal.SIGTERM)
            with pytest.raises(Exception):  # noqa: B017 - closed by the server
                ws.recv(DEADLINE)
            assert ws.close_code == 1001
        assert proc.wait(DEADLINE) == 0
        assert proc.stdout.read() == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
