"""A production app's frames, sizes, pings and closes (chapters 02-transport, 06-lifecycle)."""

from __future__ import annotations

import pytest

from conformance.failures import requirement
from conformance.frames import BINARY, CLOSE, PING, PONG, client_frame, frame_header, mask_payload
from conformance.production.app import App
from conformance.wire import Conn

CONT = 0


def _send_in_fragments(app: App, message: bytes) -> tuple[int, bytes]:
    """Send `message` as three fragments on a raw socket; the first frame that comes back."""
    raw = app.handshake()
    try:
        assert raw.status == 101, f"handshake got HTTP {raw.status}"
        a, b = len(message) // 3, 2 * len(message) // 3
        raw.send_raw(client_frame(BINARY, message[:a], fin=False), "BINARY fragment 1 (fin=0)")
        raw.send_raw(client_frame(CONT, message[a:b], fin=False), "CONT fragment 2 (fin=0)")
        raw.send_raw(client_frame(CONT, message[b:], fin=True), "CONT fragment 3 (fin=1)")
        got = raw.recv_frame()
        with requirement("RT-TRANS-040"):
            assert got is not None, "the server ended the connection instead of answering"
        raw.send_raw(client_frame(CLOSE, (1000).to_bytes(2, "big")), "CLOSE 1000")
        return got.opcode, got.payload
    finally:
        raw.close()


@pytest.mark.req("RT-TRANS-040")
def test_app_reassembles_fragmented_input(app: App) -> None:
    """A sample input sent as three fragments is answered as one message."""
    opcode, payload = _send_in_fragments(app, app.packed(app.first))
    with requirement("RT-MSG-020", "RT-CTRL-004"):  # an output as TEXT breaks these, not 040
        assert opcode == BINARY, f"expected a BINARY output, got opcode {opcode}"
    if app.first.output is not None:
        import msgpack

        with requirement("RT-TRANS-040"):
            assert msgpack.unpackb(payload) == app.first.output, payload[:80]


def _big(app: App, conn: Conn, size: int, req: str, timeout: float) -> None:
    conn.send_bytes(app.padded(app.first, size))
    frame = conn.recv_data(timeout=timeout)
    with requirement(req):
        assert frame.kind == "binary", f"a {size >> 20} MiB input got {frame.summary()}"


@pytest.mark.req("RT-TRANS-042")
def test_app_accepts_1_mib_input(app: App) -> None:
    """A sample input grown to 1 MiB (by a key the app does not use) is answered."""
    app.needs_extra_keys()
    with app.connect() as conn:
        _big(app, conn, 1024 * 1024, "RT-TRANS-042", 10)


@pytest.mark.req("RT-TRANS-043")
def test_app_accepts_16_mib_input(app: App) -> None:
    """A sample input grown to 16 MiB is answered."""
    app.needs_extra_keys()
    with app.connect() as conn:
        _big(app, conn, 16 * 1024 * 1024, "RT-TRANS-043", 20)


@pytest.mark.req("RT-TRANS-044")
def test_app_closes_1009_on_oversize_message(app: App) -> None:
    """A frame header announcing more than the inbound limit gets close 1009."""
    length = app.target.config.max_message_size + 1
    raw = app.handshake()
    try:
        assert raw.status == 101, f"handshake got HTTP {raw.status}"
        key = b"\x11\x22\x33\x44"
        chunk = mask_payload(b"\x00" * 65536, key)
        head = frame_header(BINARY, length, mask_key=key)
        raw.send_raw(head + chunk, f"BINARY header announcing {length} bytes + first 64 KiB")
        closing = raw.recv_close_frame(timeout=10)
        assert closing is not None, "the server dropped the connection without a close frame"
        assert closing.close_code == 1009, f"the server closed with {closing.close_code}"
    finally:
        raw.close()


@pytest.mark.req("RT-LIFE-010")
def test_app_answers_ping_with_pong(app: App) -> None:
    """A ping gets a pong with the same payload."""
    raw = app.handshake()
    try:
        assert raw.status == 101, f"handshake got HTTP {raw.status}"
        raw.send_frame(PING, b"rt-ping-1")
        frame = raw.recv_frame()
        assert frame is not None, "the server ended the connection instead of answering the ping"
        assert frame.opcode == PONG, f"expected a PONG, got {frame.name}"
        assert frame.payload == b"rt-ping-1", f"the pong carries {frame.payload!r}"
    finally:
        raw.close()


@pytest.mark.req("RT-LIFE-024")
def test_app_answers_close_and_ends_tcp(app: App) -> None:
    """A client close frame gets a close frame back, then the TCP connection ends."""
    raw = app.handshake()
    try:
        assert raw.status == 101, f"handshake got HTTP {raw.status}"
        raw.send_frame(CLOSE, (1000).to_bytes(2, "big") + b"bye")
        frame = raw.recv_frame()
        assert frame is not None, "the server dropped TCP without answering the close frame"
        assert frame.opcode == CLOSE, f"expected a CLOSE, got {frame.name}"
        end = raw.recv_frame()
        assert end is None, f"after the close handshake the server sent {end.name}"
    finally:
        raw.close()


@pytest.mark.req("RT-LIFE-022")
@pytest.mark.parametrize("case", ["unmasked frame", "close code 1005"])
def test_app_closes_1002_on_framing_violation(app: App, case: str) -> None:
    """An unmasked client frame, or a close frame with code 1005, gets close 1002."""
    raw = app.handshake()
    try:
        assert raw.status == 101, f"handshake got HTTP {raw.status}"
        if case == "unmasked frame":
            payload = app.packed(app.first)
            raw.send_raw(frame_header(BINARY, len(payload)) + payload, "BINARY frame WITHOUT mask")
        else:
            raw.send_raw(client_frame(CLOSE, (1005).to_bytes(2, "big")), "CLOSE 1005")
        frame = raw.recv_close_frame()
        assert frame is not None, "the server dropped TCP without a close frame"
        assert frame.close_code == 1002, f"the server closed with {frame.close_code}"
    finally:
        raw.close()
