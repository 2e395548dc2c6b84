"""What already holds: the same harness on behaviour today's server gets right (spec 12)."""

from __future__ import annotations

import socket
import time

import msgpack
from relhelpers import (
    RssPeak,
    ServerProc,
    connect,
    frame,
    handshake,
    read_head,
    round_trip,
    upgrade_request,
)


def test_input_in_the_upgrade_write_is_answered(server: ServerProc) -> None:
    """An input in the same write as the upgrade is served after the 101 (already true)."""
    sock = connect(server.port)
    try:
        sock.sendall(upgrade_request() + frame(2, msgpack.packb({"prompt": "early"})))
        status, _, rest = read_head(sock)
        assert status == 101
        while len(rest) < 2 or len(rest) < 2 + (rest[1] & 0x7F):
            rest += sock.recv(1 << 16)
    finally:
        sock.close()
    assert msgpack.unpackb(rest[2 : 2 + (rest[1] & 0x7F)]) == {"output": "early"}


def test_slow_reader_does_not_grow_the_server(fresh: ServerProc) -> None:
    """A client that never reads its outputs is paused, not buffered (RT-FLOW-021; holds)."""
    sock = connect(fresh.port)
    sock.setsockopt(
        socket.SOL_SOCKET, socket.SO_RCVBUF, 4096
    )  # small: the server's sends block early
    sock.sendall(upgrade_request("/echo"))
    peak = RssPeak(fresh)
    sock.settimeout(3)
    data = frame(2, b"e" * 2**20)
    try:
        for _ in range(100):
            sock.sendall(data)
    except OSError:
        pass
    finally:
        time.sleep(0.5)
        peak.stop()
        sock.close()
    assert peak.growth() < 60, f"a client that never reads: server RSS +{peak.growth():.0f} MB"


def test_few_fragments_are_one_message(server: ServerProc) -> None:
    """A message in 100 fragments (with pings between) is one input (RT-TRANS-040; holds)."""
    ws = handshake(server.port)
    try:
        payload = msgpack.packb({"prompt": "in pieces"})
        parts = [payload[i : i + 1] for i in range(len(payload))]
        stream = frame(2, parts[0], fin=False)
        for part in parts[1:-1]:
            stream += frame(9, b"p") + frame(0, part, fin=False)
        ws.send(stream + frame(0, parts[-1], fin=True))
        got = ws.recv_data()
        assert got is not None
        assert msgpack.unpackb(got.payload) == {"output": "in pieces"}
        round_trip(ws, "next")
    finally:
        ws.close()
