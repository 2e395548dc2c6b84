"""Configured limits of spec chapter 12 on a live reference server (issue 12), real sockets.

Each limit is set low through `ServerLimits` (what the `serve` flags build) so the test sees
it act quickly: idle HTTP connections closed (RT-SEC-018), connections over the cap refused
with 503 (RT-SEC-019), an input decoding to too many objects rejected with the session going
on (RT-SEC-012). Every test here failed before the limits existed.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import msgpack
import pytest
from refhelpers import Running, open_ws, pack, recv

from reference.apps.conformance import ConformanceApp
from reference.server.limits import ServerLimits
from reference.server.serve import Server, serve

LIMITS = ServerLimits(idle_timeout=0.5, max_connections=4, max_input_objects=1000)


@pytest.fixture(scope="module")
def limited() -> Iterator[Running]:
    loop = asyncio.new_event_loop()
    holder: list[Server] = []
    ready = threading.Event()

    def main() -> None:
        asyncio.set_event_loop(loop)
        holder.append(
            loop.run_until_complete(serve(ConformanceApp(), "127.0.0.1", 0, None, limits=LIMITS))
        )
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield Running(holder[0], loop, holder[0].url)
    finally:
        asyncio.run_coroutine_threadsafe(holder[0].stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _connect(running: Running) -> socket.socket:
    return socket.create_connection(("127.0.0.1", running.server.port), timeout=5)


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except TimeoutError:
        data += b"<timeout>"
    return data


def test_idle_keep_alive_connection_is_closed(limited: Running) -> None:
    """RT-SEC-018: after its response, a keep-alive connection with no request is closed."""
    sock = _connect(limited)
    try:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        data = _read_all(sock)  # returns at EOF; a 5 s timeout means it stayed open
    finally:
        sock.close()
    assert data.startswith(b"HTTP/1.1 200"), data[:80]
    assert not data.endswith(b"<timeout>"), "an idle keep-alive connection stayed open"


def test_connections_over_the_cap_get_503(limited: Running) -> None:
    """RT-SEC-019: with max_connections 4, a fifth open connection is answered 503."""
    held = [_connect(limited) for _ in range(4)]
    try:
        deadline = time.monotonic() + 5
        while limited.connection_count() < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        extra = _connect(limited)
        try:
            answer = _read_all(extra)
        finally:
            extra.close()
    finally:
        for sock in held:
            sock.close()
    assert answer.startswith(b"HTTP/1.1 503"), answer[:80]


def test_input_of_too_many_objects_is_rejected_and_the_session_goes_on(limited: Running) -> None:
    """RT-SEC-012: 2,000 empty maps over a limit of 1,000 -> INVALID_INPUT, next input served."""
    with open_ws(limited.url + "/realtime") as ws:
        ws.send(msgpack.packb({"prompt": "x", "a": [{}] * 2000}))
        got = recv(ws)
        assert isinstance(got, dict), got
        assert got.get("error") == "INVALID_INPUT", got
        assert "objects" in got.get("reason", ""), got
        ws.send(pack({"prompt": "next"}))
        assert recv(ws) == {"output": "next"}


def test_every_limit_has_a_serve_flag() -> None:
    """Each field of ServerLimits is a `python -m reference serve` flag."""
    out = subprocess.run(
        [sys.executable, "-m", "reference", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    for name in ServerLimits.__dataclass_fields__:
        assert "--" + name.replace("_", "-") in out, name
