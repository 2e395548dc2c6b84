"""The reference's own Python cost per realtime round trip, with no socket in the way (issue 14).

    .venv/bin/python bench/inprocess.py [--rounds 5] [--n 50000]

A `Connection` of the real server (uvloop, the conformance app) is upgraded over an in-memory
transport, then fed one masked binary frame per read, as a closed-loop client's reads arrive,
and its output frame is taken back; each read is served inline, so the time per read is
the whole server path of one `/realtime` round trip: fairness accounting, frame parsing,
session rules, the input's validation, the handler, the output's encoding and framing.

Baseline, measured in the same run: the app's own work for the same input with no protocol
(`app_floor_server.answer`: profile decode, pydantic validation, `Output`, dump, encode),
and a bare `msgpack` decode and encode (what `floor_server.py` does per message). The
difference between the first two rows is what the protocol layer costs in Python.

Why it exists: the socket benchmarks (`speed.py`) move 10-30 % between runs on a shared
2-vCPU machine, so a 5 % change of the Python path cannot be seen there; this one moved 2-5 %
between runs on the same machine (8.4-9.2 us), so repeat it and compare medians. It leaves
out what the kernel and the event loop cost per message (about as much again, and the same
for every server on one loop), so it is not a throughput figure. One process,
pinned to one CPU when the platform allows; no socket but the server's idle listener on
127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app_floor_server import answer

from reference.apps.conformance import ConformanceApp
from reference.core.wsframes import apply_mask
from reference.server.connection import Connection
from reference.server.serve import serve

REQUEST = msgpack.packb(
    {"request_id": "0f8e3c1a", "prompt": "hello", "seed": 42, "num_inference_steps": 4}
)
REPLY = msgpack.packb({"output": "hello"})


class MemoryTransport(asyncio.Transport):
    """What `Connection` writes to: kept in a list the benchmark empties."""

    def __init__(self) -> None:
        super().__init__()
        self.out: list[bytes] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.out.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        pass

    def close(self) -> None:
        self.closing = True

    def abort(self) -> None:
        self.closing = True


def masked_frame(payload: bytes, mask: bytes = b"\x37\xfa\x21\x3d") -> bytes:
    """One final masked binary frame, as a client sends it (payload < 126 bytes)."""
    assert len(payload) < 126
    return bytes((0x82, 0x80 | len(payload))) + mask + apply_mask(payload, mask)


def timed(step: Callable[[], object], n: int) -> float:
    """Microseconds per call of `step`, `n` calls in a row."""
    started = time.perf_counter()
    for _ in range(n):
        step()
    return (time.perf_counter() - started) / n * 1e6


async def protocol_rounds(n: int, rounds: int) -> list[float]:
    """Per-read cost of the server path, one figure per round (after a warm-up)."""
    server = await serve(ConformanceApp(), "127.0.0.1", 0)
    connection = Connection(server.state)
    transport = MemoryTransport()
    connection.connection_made(transport)
    key = base64.b64encode(os.urandom(16)).decode()
    connection.data_received(
        b"GET /realtime HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Key: " + key.encode() + b"\r\n\r\n"
    )
    await asyncio.sleep(0.01)  # the session's worker parks, so reads are served inline
    upgraded = bool(transport.out) and transport.out[0].startswith(b"HTTP/1.1 101")
    assert upgraded, transport.out
    frame = masked_frame(REQUEST)
    expected = bytes((0x82, len(REPLY))) + REPLY
    out = transport.out

    def read() -> None:
        connection.data_received(frame)
        out.clear()

    results: list[float] = []

    def run() -> None:
        # A loop callback, not a task: as a transport's read arrives in the real server.
        out.clear()
        connection.data_received(frame)
        assert out == [expected], out  # the round trip really happened, inline
        timed(read, n // 10)
        results.extend(timed(read, n) for _ in range(rounds))

    asyncio.get_running_loop().call_soon(run)
    while len(results) < rounds:
        await asyncio.sleep(0.05)
    transport.closing = True
    await server.stop()
    return results


def app_work() -> None:
    """The conformance app's work for one input (the probe server's, the same code)."""
    answer(REQUEST)


PACK = msgpack.Packer(use_bin_type=True).pack


def codec_only() -> None:
    """What the TCP floor does per message."""
    PACK({"output": msgpack.unpackb(REQUEST)["prompt"]})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=50_000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {0})
    protocol = statistics.median(uvloop.run(protocol_rounds(args.n, args.rounds)))
    app = statistics.median(timed(app_work, args.n) for _ in range(args.rounds))
    codec = statistics.median(timed(codec_only, args.n) for _ in range(args.rounds))
    print(f"{args.rounds} rounds of {args.n:,} reads, medians, us per round trip (no syscalls)")
    print("| path | us | x app work |")
    print("|---|---:|---:|")
    print(
        f"| reference server, one read = one round trip | {protocol:.2f} | {protocol / app:.2f} |"
    )
    print(f"| the app's work alone (decode, validate, handler, encode) | {app:.2f} | 1.00 |")
    print(f"| msgpack decode + encode (the TCP floor's work) | {codec:.2f} | {codec / app:.2f} |")
    print(f"protocol layer in Python: {protocol - app:.2f} us per round trip")
    return 0


if __name__ == "__main__":
    sys.exit(main())
