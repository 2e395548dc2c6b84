"""Helpers of the reliability tests: a reference server subprocess, raw sockets, a canary.

Everything talks to 127.0.0.1 over real sockets. The server runs as `python -m reference
serve` in its own process so its memory (VmRSS from /proc) and its stderr can be read; negative
cases are built here as explicit bytes, never by the code under test.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import msgpack

REPO = Path(__file__).resolve().parents[2]
#: The key the `keyed` fixture's server requires.
KEY = "SECRET"
UPGRADE_KEY = "MDEyMzQ1Njc4OWFiY2RlZg=="
MASK = b"\x01\x02\x03\x04"
#: Upper bound for one wait on the server (a deadline against a hang, not a timed assertion).
WAIT = 10.0
#: A code string that starts the CLI with the cyclic garbage collector off (finding 3).
_GC_OFF = "import gc, sys; gc.disable(); from reference.__main__ import main; sys.exit(main())"


class ServerProc:
    """`python -m reference serve` on a free loopback port, stderr kept in a temporary file."""

    def __init__(
        self, *, key: str | None = None, gc_off: bool = False, nofile: int | None = None
    ) -> None:
        self.key = key
        args = ["serve", "--host", "127.0.0.1", "--port", "0"]
        if key is not None:
            args += ["--key", key]
        start = ["-c", _GC_OFF] if gc_off else ["-m", "reference"]
        cmd = [sys.executable, *start, *args]
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop)
        limit: Callable[[], None] | None = None
        if nofile is not None:
            soft = nofile

            def limit() -> None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (soft, soft))

        self.proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            preexec_fn=limit,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("ws://"):
            self.stop()
            raise RuntimeError(f"server did not start: {line!r} {self.stderr()[-2000:]!r}")
        self.url = line
        self.port = int(line.rsplit(":", 1)[1])

    @property
    def pid(self) -> int:
        return self.proc.pid

    def rss_mb(self) -> float:
        """The server's resident memory now (VmRSS), in MB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def stderr(self) -> str:
        """Everything the server wrote to stderr so far."""
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def stderr_size(self) -> int:
        """How many bytes the server wrote to stderr so far."""
        return os.fstat(self._stderr.fileno()).st_size

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period; by this process's own PID only."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()


class RssPeak:
    """Samples a server's RSS every 20 ms in a thread; `peak` is the largest value seen."""

    def __init__(self, server: ServerProc) -> None:
        self._server = server
        self.start_mb = server.rss_mb()
        self.peak = self.start_mb
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            try:
                self.peak = max(self.peak, self._server.rss_mb())
            except (OSError, RuntimeError):
                return

    def growth(self) -> float:
        """Peak minus the RSS at start, in MB."""
        return self.peak - self.start_mb

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


# Frames and raw connections ----------------------------------------------------------------


def frame(opcode: int, payload: bytes, *, fin: bool = True, mask: bytes = MASK) -> bytes:
    """One masked client frame, built by hand (RFC 6455 5.2)."""
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) if n < 4096 else _mask(payload)
    return head + mask + masked


def _mask(payload: bytes) -> bytes:
    key = int.from_bytes(MASK * 2, "big")
    whole = len(payload) // 8 * 8
    ints = struct.unpack(f"!{whole // 8}Q", payload[:whole])
    body = struct.pack(f"!{whole // 8}Q", *(x ^ key for x in ints))
    tail = bytes(b ^ MASK[i % 4] for i, b in enumerate(payload[whole:]))
    return body + tail


def upgrade_request(path: str = "/realtime", headers: dict[str, str] | None = None) -> bytes:
    """The bytes of a WebSocket upgrade request (RFC 6455 4.1)."""
    lines = [
        f"GET {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {UPGRADE_KEY}",
        "Sec-WebSocket-Version: 13",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass
class Frame:
    opcode: int
    payload: bytes

    @property
    def close_code(self) -> int | None:
        if self.opcode != 8 or len(self.payload) < 2:
            return None
        code: int = struct.unpack("!H", self.payload[:2])[0]
        return code


@dataclass
class RawWs:
    """A raw TCP connection after a 101: frames in and out by hand."""

    sock: socket.socket
    status: int
    head: bytes
    buf: bytearray = field(default_factory=bytearray)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_msgpack(self, value: Any) -> None:
        self.sock.sendall(frame(2, msgpack.packb(value)))

    def recv_frame(self, timeout: float = WAIT) -> Frame | None:
        """The next server frame; None at the end of TCP."""
        deadline = time.monotonic() + timeout
        while True:
            parsed = _parse(self.buf)
            if parsed is not None:
                return parsed
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no frame from the server in time")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(1 << 16)
            except ConnectionError:
                return None
            if not chunk:
                return None
            self.buf += chunk

    def recv_data(self, timeout: float = WAIT) -> Frame | None:
        """The next frame that is not a ping or pong."""
        while True:
            got = self.recv_frame(timeout)
            if got is None or got.opcode not in (9, 10):
                return got

    def close(self) -> None:
        self.sock.close()


def _parse(buf: bytearray) -> Frame | None:
    if len(buf) < 2:
        return None
    n = buf[1] & 0x7F
    pos = 2
    if n == 126:
        if len(buf) < 4:
            return None
        n, pos = struct.unpack("!H", buf[2:4])[0], 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, pos = struct.unpack("!Q", buf[2:10])[0], 10
    if len(buf) < pos + n:
        return None
    got = Frame(buf[0] & 0x0F, bytes(buf[pos : pos + n]))
    del buf[: pos + n]
    return got


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_head(sock: socket.socket, timeout: float = WAIT) -> tuple[int, bytes, bytes]:
    """Read one HTTP response head: (status, head, bytes after it); status 0 if TCP ended."""
    deadline = time.monotonic() + timeout
    buf = b""
    while b"\r\n\r\n" not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no HTTP response head in {timeout}s (got {buf[:80]!r})")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(1 << 16)
        except ConnectionError:
            chunk = b""
        if not chunk:
            return 0, buf, b""
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), head, rest


def handshake(port: int, path: str = "/realtime", headers: dict[str, str] | None = None) -> RawWs:
    """Upgrade a fresh connection; the returned RawWs carries whatever status came back."""
    sock = connect(port)
    sock.sendall(upgrade_request(path, headers))
    status, head, rest = read_head(sock)
    return RawWs(sock, status, head, bytearray(rest))


def http_request(port: int, raw: bytes, timeout: float = WAIT) -> tuple[int, bytes]:
    """Send raw request bytes; return the status of the first response and its head."""
    sock = connect(port)
    try:
        sock.sendall(raw)
        status, head, _ = read_head(sock, timeout)
        return status, head
    finally:
        sock.close()


def round_trip(ws: RawWs, word: str, timeout: float = WAIT) -> float:
    """Seconds one `{"prompt": word}` takes to come back as its output on `ws`."""
    start = time.monotonic()
    ws.send_msgpack({"prompt": word})
    got = ws.recv_data(timeout)
    elapsed = time.monotonic() - start
    assert got is not None, f"the session ended before the output for {word!r}"
    assert got.opcode == 2, f"no output for {word!r}: {got}"
    assert msgpack.unpackb(got.payload) == {"output": word}
    return elapsed


class Canary:
    """Another session doing round trips in a thread; `worst` is its slowest, in seconds.

    A round trip that does not come back within `timeout` counts as `timeout` seconds.
    """

    def __init__(self, port: int, timeout: float = 30.0) -> None:
        self._ws = handshake(port)
        assert self._ws.status == 101
        self._timeout = timeout
        self.times: list[float] = [round_trip(self._ws, "warm")]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            try:
                self.times.append(round_trip(self._ws, f"c{n}", self._timeout))
            except (TimeoutError, OSError):
                self.times.append(self._timeout)
                return
            self._stop.wait(0.02)

    @property
    def worst(self) -> float:
        return max(self.times)

    def stop(self) -> float:
        """Stop; return the slowest round trip seen."""
        self._stop.set()
        self._thread.join(self._timeout + 5)
        self._ws.close()
        return self.worst
