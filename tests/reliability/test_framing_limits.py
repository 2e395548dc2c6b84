"""WebSocket framing limits (spec 12.2; attack finding 7)."""

from __future__ import annotations

import contextlib

import msgpack
from relhelpers import Canary, RssPeak, ServerProc, frame, handshake

#: Empty continuation frames in one message: far above the 4,096 of RT-SEC-011's default.
FRAGMENTS = 200_000


def test_too_many_fragments_closes_1009(fresh: ServerProc) -> None:
    """Finding 7 (RT-SEC-011): a message of 200,000 empty fragments is closed with 1009.

    Before: no bound; each empty fragment costs ~90 bytes and loop time (12 M: 1 GB, 54 s),
    and the message was served.
    """
    canary = Canary(fresh.port)
    peak = RssPeak(fresh)
    ws = handshake(fresh.port)
    try:
        payload = msgpack.packb({"prompt": "frag"})
        stream = frame(2, payload, fin=False) + frame(0, b"", fin=False) * FRAGMENTS
        ws.sock.settimeout(30)
        with contextlib.suppress(OSError):  # the server may close before reading it all
            ws.send(stream + frame(0, b"", fin=True))
        got = ws.recv_data(30)
    finally:
        ws.close()
        peak.stop()
        worst = canary.stop()
    assert got is not None, "the server dropped TCP without a close frame"
    assert got.opcode == 8, f"after {FRAGMENTS} fragments the server sent {got}"
    assert got.close_code == 1009, f"closed with {got.close_code}"
    assert worst < 1.0, f"another session waited {worst:.2f}s"
