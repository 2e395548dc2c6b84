"""Raw TCP WebSocket connections (spec chapters 02-transport, 06-lifecycle).

The suite sends the upgrade request and writes frames itself here (negative cases as explicit
bytes) and reads the server's frames with its own parser, with a deadline on every wait. A
connection gets the check's recorder and the run's deadline scaling, nothing more.
"""

from __future__ import annotations

import base64
import os
import socket
import time
from collections.abc import Callable

from conformance.failures import ConformanceFailure, HarnessError
from conformance.frames import CLOSE, Frame, FrameParser, client_frame
from conformance.trace import Recorder

DEFAULT_WAIT = 5.0  # seconds, before --timeout-multiplier: the default deadline of every wait


class RawConn:
    """A raw TCP WebSocket connection: the suite writes the frames itself (hex negatives)."""

    def __init__(
        self,
        sock: socket.socket,
        recorder: Recorder,
        scale: Callable[[float], float],
        conn_id: int,
        status: int,
        head: str,
        rest: bytes,
    ) -> None:
        self.sock = sock
        self.status = status
        self.head = head
        self._recorder = recorder
        self._scale = scale
        self._id = conn_id
        self._parser = FrameParser()
        self._pending: list[Frame] = self._parser.feed(rest)

    def send_raw(self, data: bytes, note: str = "") -> None:
        """Write bytes on the socket as they are (a frame built by the check)."""
        self._recorder.record(self._id, "C->S", "RAW", data[:64], note or f"{len(data)} raw bytes")
        self.sock.sendall(data)

    def send_frame(self, opcode: int, payload: bytes) -> None:
        """Send one masked client frame."""
        name = {1: "TEXT", 2: "BINARY", 8: "CLOSE"}.get(opcode, f"OP{opcode}")
        self._recorder.record(self._id, "C->S", name, payload)
        self.sock.sendall(client_frame(opcode, payload))

    def recv_frame(self, timeout: float = DEFAULT_WAIT) -> Frame | None:
        """The next server frame; None when the server ended the TCP connection."""
        deadline = time.monotonic() + self._scale(timeout)
        while not self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._recorder.note(self._id, "nothing received before the deadline")
                raise ConformanceFailure(
                    f"the server sent nothing within {self._scale(timeout):.2f}s"
                )
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError as exc:  # a reset counts as the end of the connection
                self._recorder.record(self._id, "S->C", "TCP", note=f"connection reset ({exc})")
                return None
            if not chunk:
                self._recorder.record(self._id, "S->C", "TCP", note="connection ended (FIN)")
                return None
            self._pending.extend(self._parser.feed(chunk))
        frame = self._pending.pop(0)
        self._recorder.record(self._id, "S->C", frame.name, frame.payload)
        return frame

    def recv_close_frame(self, timeout: float = DEFAULT_WAIT) -> Frame | None:
        """Read frames until a CLOSE (returned) or the end of TCP (None)."""
        while True:
            frame = self.recv_frame(timeout)
            if frame is None or frame.opcode == CLOSE:
                return frame

    def close(self) -> None:
        """Drop the TCP connection."""
        self.sock.close()


def upgrade(
    host_port: tuple[str, int],
    target_path: str,
    headers: dict[str, str],
    recorder: Recorder,
    scale: Callable[[float], float],
    rcvbuf: int | None = None,
) -> RawConn:
    """Send an upgrade request on a raw socket; return it with the status the server gave."""
    host, port = host_port
    conn_id = recorder.new_conn(f"raw connect {host}:{port} GET {target_path}")
    key = base64.b64encode(os.urandom(16)).decode()
    all_headers = {
        "Host": f"{host}:{port}",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": key,
        "Sec-WebSocket-Version": "13",
        **headers,
    }
    request = (
        f"GET {target_path} HTTP/1.1\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in all_headers.items())
        + "\r\n"
    )
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:  # a small receive buffer makes the server's sends block
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(scale(DEFAULT_WAIT))
        sock.connect((host, port))
    except OSError as exc:
        raise HarnessError(f"cannot connect to {host}:{port}: {exc!r}") from exc
    sock.sendall(request.encode())
    recorder.record(conn_id, "C->S", "HTTP", note=f"GET {target_path} (upgrade)")
    head, rest = _read_head(sock, target_path, scale(DEFAULT_WAIT))
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    try:
        status = int(status_line.split()[1])
    except (IndexError, ValueError):
        sock.close()
        raise ConformanceFailure(
            f"no valid HTTP status line in the handshake response: {status_line!r}"
        ) from None
    recorder.record(conn_id, "S->C", "HTTP", note=status_line)
    return RawConn(sock, recorder, scale, conn_id, status, head.decode("latin-1"), rest)


def _read_head(sock: socket.socket, target_path: str, wait: float) -> tuple[bytes, bytes]:
    """The response head to an upgrade request, and whatever bytes came after it."""
    buf = b""
    deadline = time.monotonic() + wait
    while b"\r\n\r\n" not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            sock.close()
            raise ConformanceFailure(f"no HTTP response to the upgrade request for {target_path}")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            chunk = b""
        if not chunk:
            break
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head, rest
