"""With no opt-in, the server's bytes are exactly 1.0's (spec 15, RT-EXT-003), over real sockets.

Each script runs on a raw socket and records every byte the server sends after the 101. The
expected 1.0 bytes are written out by hand (frame heads, msgpack in hex, JSON text), so a
change in the 1.0 paths fails here whatever the code under test does. With `rt_ext` the same
script gets the `hello` first and, with no extension enabled, nothing else differs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from refhelpers import Running
from wirebytes import binary, masked, server_frames

from reference.apps.conformance import ConformanceApp
from reference.server.serve import Server, serve

TEXT, CLOSE = 0x1, 0x8
OUTPUT_A = bytes.fromhex("81a66f7574707574a161")  # {"output": "a"}
BAD_INPUT = (
    '{"type":"x-fal-error","error":"INVALID_INPUT",'
    '"reason":"invalid input: prompt: Field required"}'
)
TEXT_INPUT = (
    '{"type":"x-fal-error","error":"INVALID_INPUT",'
    '"reason":"text frames are not inputs; send each input as a binary msgpack map"}'
)
TIMEOUT = '{"type":"x-fal-error","error":"TIMEOUT","reason":"no inputs, reconnect when needed!"}'
CLOSE_1000 = bytes.fromhex("880203e8")


def frame(opcode: int, payload: bytes | str) -> bytes:
    """One unmasked server frame (payloads here are under 126 bytes)."""
    data = payload.encode() if isinstance(payload, str) else payload
    assert len(data) < 126
    return bytes((0x80 | opcode, len(data))) + data


def raw_bytes(frames: list[tuple[int, bytes]]) -> bytes:
    """The frames back as the bytes they came in (small server frames: 2-byte heads)."""
    return b"".join(frame(op, payload) for op, payload in frames)


def after_hello(frames: list[tuple[int, bytes]]) -> bytes:
    """Check that the first frame is a hello enabling nothing; the bytes of the rest."""
    opcode, payload = frames[0]
    hello = json.loads(payload)
    assert opcode == TEXT
    assert hello["action"] == "hello"
    assert hello["extensions"] == []
    return raw_bytes(frames[1:])


class Recorder:
    """A raw WebSocket client that keeps every byte the server sent after the 101."""

    def __init__(self, server: Running, path: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.server.port), timeout=10)
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(4096)
            assert chunk, "connection closed during the handshake"
            data += chunk
        head, _, self.data = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head

    def frames(self, count: int) -> list[tuple[int, bytes]]:
        """The first `count` frames the server sent (waiting for them)."""
        while True:
            try:
                frames = server_frames(self.data)
            except (AssertionError, IndexError):
                frames = []
            if len(frames) >= count:
                return frames[:count]
            chunk = self.sock.recv(65536)
            assert chunk, f"connection closed after {len(frames)} frames"
            self.data += chunk

    def close(self) -> None:
        self.sock.close()


def run_unary(server: Running, query: str) -> list[tuple[int, bytes]]:
    """An input, a bad input and a text frame on /realtime, then the client closes."""
    conn = Recorder(server, "/realtime" + query)
    try:
        conn.sock.sendall(binary({"prompt": "a"}) + binary({}) + masked(TEXT, b"x"))
        answers = 4 if "rt_ext" in query else 3
        conn.frames(answers)  # the client closes only once everything was answered
        conn.sock.sendall(masked(CLOSE, CLOSE_1000[2:]))
        return conn.frames(answers + 1)
    finally:
        conn.close()


def run_timeout(server: Running, query: str) -> list[tuple[int, bytes]]:
    """One input on /realtime/timeout (1 s), then the idle end: TIMEOUT and close 1000."""
    conn = Recorder(server, "/realtime/timeout" + query)
    try:
        conn.sock.sendall(binary({"prompt": "a"}))
        return conn.frames(4 if "rt_ext" in query else 3)
    finally:
        conn.close()


ONE_ZERO_UNARY = (
    frame(0x2, OUTPUT_A) + frame(TEXT, BAD_INPUT) + frame(TEXT, TEXT_INPUT) + CLOSE_1000
)
ONE_ZERO_TIMEOUT = frame(0x2, OUTPUT_A) + frame(TEXT, TIMEOUT) + CLOSE_1000


@pytest.mark.parametrize("query", ["", "?max_buffering=4", "?rtext=end-of-input&x=1"])
def test_server_without_rt_ext_sends_exactly_the_1_0_bytes(server: Running, query: str) -> None:
    """RT-EXT-003: with no `rt_ext`, whatever else the query holds, not one byte differs."""
    assert raw_bytes(run_unary(server, query)) == ONE_ZERO_UNARY


def test_idle_end_without_rt_ext_is_exactly_1_0(server: Running) -> None:
    assert raw_bytes(run_timeout(server, "")) == ONE_ZERO_TIMEOUT


@pytest.mark.parametrize("offer", ["", "x-acme-thing", "%2C%2C"])
def test_channel_with_no_extension_adds_only_the_hello(server: Running, offer: str) -> None:
    """RT-EXT-002/005: the hello comes first; with nothing enabled the rest is 1.0's."""
    assert after_hello(run_unary(server, f"?rt_ext={offer}")) == ONE_ZERO_UNARY


def test_idle_end_with_an_empty_channel_is_1_0_after_the_hello(server: Running) -> None:
    assert after_hello(run_timeout(server, "?rt_ext=")) == ONE_ZERO_TIMEOUT


@pytest.fixture(scope="module")
def beating_server() -> Iterator[Running]:
    """The conformance app with a 1 s heartbeat (only sessions that ask for it beat)."""
    loop = asyncio.new_event_loop()
    started: concurrent.futures.Future[Server] = concurrent.futures.Future()

    def main() -> None:
        asyncio.set_event_loop(loop)
        started.set_result(
            loop.run_until_complete(serve(ConformanceApp(), "127.0.0.1", 0, None, 1.0))
        )
        loop.run_forever()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    server = started.result(10)
    try:
        yield Running(server, loop, server.url)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_server_reaps_a_session_whose_pongs_never_come(beating_server: Running) -> None:
    """RT-EXT-040/041: heartbeat and ping after 1 s, then close 1011 and the end of TCP."""
    conn = Recorder(beating_server, "/realtime?rt_ext=heartbeat")
    try:
        started = time.monotonic()
        hello, beat, ping, close = conn.frames(4)  # this client never answers the ping
        elapsed = time.monotonic() - started
        assert json.loads(hello[1])["heartbeat_interval"] == 1.0
        assert beat == (TEXT, b'{"type":"x-fal-message","action":"heartbeat"}')
        assert ping[0] == 0x9
        assert close == (CLOSE, (1011).to_bytes(2, "big") + b"heartbeat: no pong")
        assert elapsed >= 1.5  # one interval to the beat, one more for the missing pong
        assert conn.sock.recv(1) == b""  # the server ended TCP: the session is gone
    finally:
        conn.close()


def test_server_keeps_a_session_whose_pongs_come_back(beating_server: Running) -> None:
    """A client that answers each ping keeps its session: beats, never a 1011."""
    conn = Recorder(beating_server, "/realtime?rt_ext=heartbeat")
    try:
        for n in range(2):
            frames = conn.frames(3 + 2 * n)
            opcode, payload = frames[-1]
            assert opcode == 0x9, frames
            conn.sock.sendall(masked(0xA, payload))
        conn.sock.sendall(binary({"prompt": "still here"}))
        assert conn.frames(6)[-1] == (0x2, bytes.fromhex("81a66f7574707574aa7374696c6c2068657265"))
    finally:
        conn.close()
