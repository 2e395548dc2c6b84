"""Memory one client can make the server hold (spec 12.2; attack findings 2, 3, 4 and 9).

RSS is the server subprocess's VmRSS. Bounds are generous (tens of MB) against effects of
hundreds of MB, so the machine's noise cannot decide a result.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator

import msgpack
import pytest
from relhelpers import (
    Canary,
    RssPeak,
    ServerProc,
    frame,
    handshake,
    round_trip,
)

#: Empty msgpack maps in one input of finding 2 (4 MB on the wire; 16 MiB took 1.24 GB).
EMPTY_MAPS = 4_000_000


def _input_of_empty_maps(n: int) -> bytes:
    """`{"prompt": "x", "a": [{}, {}, ...]}` with n empty maps (array32), as raw msgpack."""
    return bytes.fromhex("82 a6 70726f6d7074 a1 78 a1 61 dd") + struct.pack("!I", n) + b"\x80" * n


def test_input_of_many_empty_maps_is_bounded(fresh: ServerProc) -> None:
    """Finding 2 (RT-SEC-012, RT-SEC-020): a 4 MB input of empty maps costs little and stalls
    no one.

    Before: decoding runs in data_received; 4 M empty maps took hundreds of MB and froze the
    loop for about a second.
    """
    canary = Canary(fresh.port)
    peak = RssPeak(fresh)
    ws = handshake(fresh.port)
    try:
        ws.send(frame(2, _input_of_empty_maps(EMPTY_MAPS)))
        answer = ws.recv_data(60)
        assert answer is not None, "the session ended"
        round_trip(ws, "after")  # the session goes on either way
    finally:
        ws.close()
        peak.stop()
        worst = canary.stop()
    assert peak.growth() < 150, f"one 4 MB input of empty maps: RSS +{peak.growth():.0f} MB"
    assert worst < 0.5, f"another session waited {worst:.2f}s while it was decoded"


@pytest.fixture
def gc_off() -> Iterator[ServerProc]:
    proc = ServerProc(gc_off=True)
    yield proc
    proc.stop()


def test_closed_connections_are_freed_without_the_cyclic_gc(gc_off: ServerProc) -> None:
    """Finding 3: with gc.disable() in the server, closing connections frees their buffers.

    Before: Connection <-> httptools parser is a reference cycle; 20 connections that sent
    half of a 16 MiB frame kept their 8 MB each after closing.
    """
    half = 8 * 2**20
    before = gc_off.rss_mb()
    socks = []
    for _ in range(20):
        ws = handshake(gc_off.port)
        assert ws.status == 101
        head = b"\x82\xff" + struct.pack("!Q", 2 * half) + b"\0\0\0\0"
        ws.send(head + b"x" * half)
        socks.append(ws)
    time.sleep(1.0)
    loaded = gc_off.rss_mb()
    for ws in socks:
        ws.close()
    time.sleep(1.5)
    after = gc_off.rss_mb()
    held = loaded - before
    assert held > 80, f"the test did not load the server ({held:.0f} MB)"
    assert after - before < 0.3 * held, (
        f"RSS {before:.0f} -> {loaded:.0f} MB with 20 half-sent frames -> {after:.0f} MB after "
        "closing them (gc disabled)"
    )


def test_echo_discards_frames_after_its_close(fresh: ServerProc) -> None:
    """Finding 4 (RT-SEC-022): data after /echo's close frame is discarded, not buffered.

    Before: the finished handler's inbox took everything, 1.96 GB in the 5 s close timeout.
    """
    ws = handshake(fresh.port, "/echo")
    assert ws.status == 101
    peak = RssPeak(fresh)
    sent = 0
    chunk = frame(2, b"z" * 2**20)
    try:
        ws.send(frame(1, b"x"))  # text: three echoes, then the server closes 1000
        deadline = time.monotonic() + 4
        ws.sock.settimeout(2)
        while sent < 200 * 2**20 and time.monotonic() < deadline:
            ws.sock.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass
    finally:
        time.sleep(0.3)
        peak.stop()
        ws.close()
    assert peak.growth() < 50, (
        f"{sent / 2**20:.0f} MB sent after /echo's close: server RSS +{peak.growth():.0f} MB"
    )


def test_session_queue_is_bounded_in_bytes(fresh: ServerProc) -> None:
    """Finding 9 (RT-SEC-013): queued inputs are bounded in bytes, not only in count.

    Before: MAX_PENDING bounds the count (256), so 48 inputs of 4 MiB behind a slow one were
    all held (about 200 MB).
    """
    ws = handshake(fresh.port)
    assert ws.status == 101
    peak = RssPeak(fresh)
    pad = msgpack.packb({"prompt": "p" * 4 * 2**20})
    sent = 0
    try:
        ws.send_msgpack({"prompt": "slow", "delay_ms": 10_000})
        ws.sock.settimeout(3)  # a server that stops reading makes sendall time out: fine
        for _ in range(48):
            ws.sock.sendall(frame(2, pad))
            sent += len(pad)
    except OSError:
        pass
    finally:
        time.sleep(1.0)
        peak.stop()
        ws.close()
    assert peak.growth() < 120, (
        f"{sent / 2**20:.0f} MiB queued behind a slow input: server RSS +{peak.growth():.0f} MB"
    )
