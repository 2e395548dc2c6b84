"""What a client can make the server log (spec RT-SEC-060; attack finding 10)."""

from __future__ import annotations

import socket
import struct
import time

from relhelpers import ServerProc, handshake, round_trip


def test_dropped_stream_logs_once_not_per_output(fresh: ServerProc) -> None:
    """Finding 10: a client that drops a 1,000-output stream costs at most a few log lines.

    Before: one `socket.send() raised exception` warning per output after the 5th (995).
    """
    for _ in range(3):
        ws = handshake(fresh.port, "/realtime/stream")
        assert ws.status == 101
        ws.send_msgpack({"prompt": "s", "count": 1000})
        ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        ws.close()  # RST at once
    time.sleep(1.0)
    probe = handshake(fresh.port)
    try:
        round_trip(probe, "alive")
    finally:
        probe.close()
    lines = [line for line in fresh.stderr().splitlines() if line.strip()]
    assert len(lines) <= 6, f"3 dropped streams wrote {len(lines)} log lines: {lines[:3]}"


def test_requested_handler_failure_logs_no_traceback(fresh: ServerProc) -> None:
    """Finding 10: `fail: true` (a failure the client asked for) is no traceback by default."""
    ws = handshake(fresh.port)
    try:
        for _ in range(5):
            ws.send_msgpack({"prompt": "x", "fail": True})
            got = ws.recv_data()
            assert got is not None, "the session ended"
            assert got.opcode == 1, f"expected an error frame, got {got}"
        round_trip(ws, "after")
    finally:
        ws.close()
    time.sleep(0.3)
    err = fresh.stderr()
    assert "Traceback" not in err, f"5 requested failures logged tracebacks:\n{err[:600]}"
