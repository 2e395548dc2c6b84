"""Raw HTTP exchanges for the limit checks (spec chapter 12-security, 12.2 to 12.4).

The limit checks write request heads by hand (oversized, unfinished, pipelined, non-ASCII), so
they need a socket with a deadline on every wait and a trace of what went each way; the
regular `Target.http` client would refuse to send most of these.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import time
from dataclasses import dataclass

from conformance.failures import HarnessError
from conformance.wire import Target


@dataclass(frozen=True)
class Answer:
    """What the server sent back on a raw HTTP connection."""

    status: int | None  # None: no status line (the connection ended or nothing came)
    head: bytes  # the first response head (empty when none)
    rest: bytes  # bytes after the first head
    ended: bool  # the server ended the TCP connection
    elapsed: float  # seconds from the last byte sent to the answer (or to giving up)

    def summary(self) -> str:
        """A short description for assertion messages."""
        if self.status is None:
            return "the connection ended with no HTTP response" if self.ended else "no answer"
        return self.head.split(b"\r\n", 1)[0].decode("latin-1")


def upgrade_head(
    target: Target,
    path: str = "/realtime",
    *,
    method: str = "GET",
    version: str = "HTTP/1.1",
    query: str = "",
    headers: dict[str, str] | None = None,
    auth: bool = True,
) -> bytes:
    """The bytes of an upgrade request for `path` on the target (latin-1 header values)."""
    host, port = target.config.host_port
    fields = {
        "Host": f"{host}:{port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
        "Sec-WebSocket-Version": "13",
        **target.auth_headers(auth),
        **(headers or {}),
    }
    line = f"{method} {target.path(path)}{'?' + query if query else ''} {version}\r\n"
    return (line + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n").encode("latin-1")


def http_head(
    target: Target,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    auth: bool = True,
) -> bytes:
    """The bytes of a plain HTTP/1.1 request head."""
    host, port = target.config.host_port
    fields = {"Host": f"{host}:{port}", **target.auth_headers(auth), **(headers or {})}
    line = f"{method} {target.path(path)} HTTP/1.1\r\n"
    return (line + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n").encode("latin-1")


def open_socket(target: Target) -> socket.socket:
    """A TCP connection to the target (a harness error when it cannot be made)."""
    try:
        sock = socket.create_connection(target.config.host_port, timeout=target.scale(5.0))
    except OSError as exc:
        raise HarnessError(f"cannot connect to {target.config.host_port}: {exc!r}") from exc
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_answer(sock: socket.socket, timeout: float, started: float | None = None) -> Answer:
    """Read until one response head arrives, the connection ends, or `timeout` passes."""
    started = time.monotonic() if started is None else started
    deadline = started + timeout
    buf = b""
    ended = False
    while b"\r\n\r\n" not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except OSError:
            chunk = b""
        if not chunk:
            ended = True
            break
        buf += chunk
    elapsed = time.monotonic() - started
    head, sep, rest = buf.partition(b"\r\n\r\n")
    status = None
    parts = head.split(b" ", 2)
    if sep and head.startswith(b"HTTP/") and len(parts) >= 2 and parts[1].isdigit():
        status = int(parts[1])
    return Answer(status, head if sep else b"", rest, ended, elapsed)


def exchange(target: Target, data: bytes, note: str, timeout: float = 5.0) -> Answer:
    """Send `data` on a fresh connection and read the first answer (traced)."""
    conn_id = target.recorder.new_conn(f"raw http {note}")
    sock = open_socket(target)
    try:
        target.recorder.record(conn_id, "C->S", "HTTP", data[:200], note=f"{note} ({len(data)} B)")
        with contextlib.suppress(OSError):  # a server may close before reading everything
            sock.sendall(data)
        answer = read_answer(sock, target.scale(timeout))
    finally:
        sock.close()
    target.recorder.record(conn_id, "S->C", "HTTP", answer.head[:200], note=answer.summary())
    return answer
