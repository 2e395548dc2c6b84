"""A read that costs too much loop time is fed in pieces, paused and resumed (RT-SEC-001).

Bug fixed: the loop-time check ran only after a whole read had been parsed, so one read of a
chunked body of one-byte chunks (a quarter of a MiB: tens of ms of parser callbacks) held
every other session for the whole read. Now `Connection` hands an HTTP read on in pieces of
`FEED_PIECE` bytes, stops at the piece that goes over `FAIR_SLICE`, and feeds the rest after
the pause (a WebSocket session keeps its reads whole). These tests force every piece over the
slice and check that nothing is lost or reordered across the pauses, including inputs that
came in the same read as the upgrade, and that no HTTP piece is larger than `FEED_PIECE`.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import msgpack
import pytest
from wirebytes import binary, server_frames

from reference.server import connection, fairness

if TYPE_CHECKING:
    from refhelpers import Running

PIECE = 256
UPGRADE = (
    b"GET /realtime HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: MDEyMzQ1Njc4OWFiY2RlZg==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


@pytest.fixture
def pieces(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every piece is over the slice; the sizes of the pieces handed on are recorded."""
    sizes: list[int] = []
    feed = connection.Connection._data_received

    def recording(self: connection.Connection, data: bytes) -> None:
        sizes.append(len(data))
        feed(self, data)

    monkeypatch.setattr(fairness, "FAIR_SLICE", -1.0)
    monkeypatch.setattr(fairness, "HTTP_SLICE", -1.0)
    monkeypatch.setattr(fairness, "FEED_PIECE", PIECE)
    monkeypatch.setattr(connection.Connection, "_data_received", recording)
    return sizes


def _read_http(sock: socket.socket, count: int) -> bytes:
    data = b""
    while data.count(b"HTTP/1.1 ") < count or not data.endswith(b"}"):
        chunk = sock.recv(65536)
        assert chunk, f"EOF after {data!r}"
        data += chunk
    return data


def test_chunked_body_of_tiny_chunks_is_fed_in_pieces_and_answered(
    own_server: Running, pieces: list[int]
) -> None:
    body = b"".join(b"1\r\n" + b" \r\n" for _ in range(3000))  # 3,000 one-byte chunks
    request = (
        b"POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + body
        + b"0\r\n\r\n"
        + b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", own_server.server.port), timeout=10) as sock:
        sock.sendall(request)
        answers = _read_http(sock, 2)
    assert answers.count(b"HTTP/1.1 ") == 2, answers  # both requests, in order
    assert max(pieces) <= PIECE
    assert len(pieces) >= len(request) // PIECE  # fed piece by piece, across pauses


def test_inputs_in_the_upgrade_read_are_all_answered_in_order_across_pauses(
    own_server: Running, pieces: list[int]
) -> None:
    count = 400
    with socket.create_connection(("127.0.0.1", own_server.server.port), timeout=10) as sock:
        sock.sendall(UPGRADE + b"".join(binary({"prompt": f"p{i}"}) for i in range(count)))
        data = b""
        outputs: list[object] = []
        while len(outputs) < count:
            chunk = sock.recv(65536)
            assert chunk, f"EOF after {len(outputs)} outputs"
            data += chunk
            head, sep, rest = data.partition(b"\r\n\r\n")
            if not sep:
                continue
            assert head.startswith(b"HTTP/1.1 101"), head
            try:
                frames = server_frames(rest)
            except (AssertionError, IndexError):
                continue
            outputs = [msgpack.unpackb(p) for op, p in frames if op == 0x2]
    assert outputs == [{"output": f"p{i}"} for i in range(count)]
    assert len(pieces) > 1
    assert pieces[0] == PIECE
