"""With no opt-in, the server's bytes are exactly 1.0's (spec 15, RT-EXT-003), over real sockets.

Each script runs on a raw socket and records every byte the server sends after the 101. The
expected 1.0 bytes are written out by hand (frame heads, msgpack in hex, JSON text), so a
change in the 1.0 paths fails here whatever the code under test does. With `rt_ext` the same
script gets the `hello` first and, with no extension enabled, nothing else differs.
"""

from __future__ import annotations

import json
import socket

import pytest
from refhelpers import Running
from wirebytes import binary, masked, server_frames

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
