"""Another session's latency while a client sends the worst inputs of issue 12 (RT-SEC-001).

    .venv/bin/python bench/hostile_load.py [--seconds 8]

Starts `python -m reference serve` on 127.0.0.1, keeps one canary `/realtime` session sending
`{"prompt": ...}` every 20 ms, and measures its round trips in phases: unloaded, then while one
attacker loops each worst input (16 MiB of empty maps, a chunked POST of 100k one-byte chunks,
4,097 empty fragments, an oversized header block). Prints the canary's median, p95 and max
per phase and the median's ratio to the unloaded median of the same run. Bounded in time and
users; loopback only. Not a test: the numbers go to the README / the report.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import msgpack
from websockets.sync.client import connect

REPO = Path(__file__).resolve().parents[1]
MASK = b"\x01\x02\x03\x04"
UPGRADE = (
    b"GET /realtime HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: MDEyMzQ1Njc4OWFiY2RlZg==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """One masked client frame."""
    head = bytes([(0x80 if fin else 0) | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([0x80 | size])
    elif size < 65536:
        head += bytes([0x80 | 126]) + size.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + size.to_bytes(8, "big")
    key = (MASK * (size // 4 + 1))[:size]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")
    return head + MASK + masked if size else head + MASK


def empty_maps() -> bytes:
    """A valid 16 MiB input whose ignored key holds 16.7 M empty maps (finding 2)."""
    n = 16 * 1024 * 1024 - 30
    payload = b"\x82\xa6prompt\xa1x\xa1a\xdd" + n.to_bytes(4, "big") + b"\x80" * n
    return UPGRADE + frame(2, payload)


def chunked_post() -> bytes:
    """POST / of 100,000 one-byte chunks (finding 1)."""
    head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    return head + b"1\r\nx\r\n" * 100_000 + b"0\r\n\r\n"


def many_fragments() -> bytes:
    """One message of 4,097 empty fragments (finding 7)."""
    return UPGRADE + frame(2, b"", fin=False) + frame(0, b"", fin=False) * 4096 + frame(0, b"")


def big_head() -> bytes:
    """A 1 MB header block (finding 8)."""
    return b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n"


def attacker(port: int, payload: bytes, stop: threading.Event) -> None:
    """Send `payload` on fresh connections until `stop`, reading whatever comes back."""
    while not stop.is_set():
        sock = socket.create_connection(("127.0.0.1", port))
        sock.settimeout(5)
        try:
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)
            while sock.recv(65536):
                pass
        except OSError:
            pass
        finally:
            sock.close()


def canary(url: str, seconds: float) -> list[float]:
    """Round trips (ms) of one session for `seconds`, one input every 20 ms."""
    times: list[float] = []
    with connect(url + "/realtime", max_size=None, compression=None) as ws:
        end = time.monotonic() + seconds
        n = 0
        while time.monotonic() < end:
            n += 1
            start = time.perf_counter()
            ws.send(msgpack.packb({"prompt": f"c{n}"}))
            reply = msgpack.unpackb(ws.recv(timeout=30))
            times.append((time.perf_counter() - start) * 1000)
            assert reply == {"output": f"c{n}"}, reply
            time.sleep(0.02)
    return times


def phase(url: str, port: int, seconds: float, make: Callable[[], bytes] | None) -> list[float]:
    stop = threading.Event()
    thread = None
    if make is not None:
        thread = threading.Thread(target=attacker, args=(port, make(), stop), daemon=True)
        thread.start()
        time.sleep(0.2)
    try:
        return canary(url, seconds)
    finally:
        stop.set()
        if thread is not None:
            thread.join(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="per phase")
    args = parser.parse_args()
    cmd = [sys.executable, "-m", "reference", "serve", "--host", "127.0.0.1", "--port", "0"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    url = proc.stdout.readline().decode().strip()
    port = int(url.rsplit(":", 1)[1])
    phases: list[tuple[str, Callable[[], bytes] | None]] = [
        ("unloaded", None),
        ("16 MiB of empty maps", empty_maps),
        ("chunked POST, 100k chunks", chunked_post),
        ("4,097 empty fragments", many_fragments),
        ("1 MB header block", big_head),
    ]
    try:
        base = None
        cols = ("n", "p50 ms", "p95 ms", "max ms")
        header = " ".join(f"{c:>8}" for c in cols[1:])
        print(f"{'phase':28} {cols[0]:>5} {header} p50/unloaded")
        for name, make in phases:
            times = sorted(phase(url, port, args.seconds, make))
            p50 = statistics.median(times)
            base = base or p50
            p95 = times[int(len(times) * 0.95) - 1]
            print(
                f"{name:28} {len(times):5d} {p50:8.2f} {p95:8.2f} {times[-1]:8.1f} "
                f"{p50 / base:12.2f}"
            )
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
