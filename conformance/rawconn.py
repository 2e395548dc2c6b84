"""Raw TCP WebSocket connections and HTTP responses (spec chapters 02-transport, 06-lifecycle).

The suite writes frames itself here (negative cases as explicit bytes) and reads the server's
frames with its own parser, with a deadline on every wait.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from conformance.failures import ConformanceFailure
from conformance.frames import CLOSE, Frame, FrameParser, client_frame

if TYPE_CHECKING:
    from conformance.wire import Target

DEFAULT_WAIT = 5.0


@dataclass(frozen=True)
class HttpResponse:
    """An HTTP response from the target."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class RawConn:
    """A raw TCP WebSocket connection: the suite writes the frames itself (hex negatives)."""

    def __init__(
        self, sock: socket.socket, target: Target, conn_id: int, status: int, head: str, rest: bytes
    ) -> None:
        self.sock = sock
        self.status = status
        self.head = head
        self._target = target
        self._id = conn_id
        self._parser = FrameParser()
        self._pending: list[Frame] = self._parser.feed(rest)

    def send_raw(self, data: bytes, note: str = "") -> None:
        """Write bytes on the socket as they are (a frame built by the check)."""
        self._target.recorder.record(
            self._id, "C->S", "RAW", data[:64], note or f"{len(data)} raw bytes"
        )
        self.sock.sendall(data)

    def send_frame(self, opcode: int, payload: bytes) -> None:
        """Send one masked client frame."""
        name = {1: "TEXT", 2: "BINARY", 8: "CLOSE"}.get(opcode, f"OP{opcode}")
        self._target.recorder.record(self._id, "C->S", name, payload)
        self.sock.sendall(client_frame(opcode, payload))

    def recv_frame(self, timeout: float = DEFAULT_WAIT) -> Frame | None:
        """The next server frame; None when the server ended the TCP connection."""
        deadline = time.monotonic() + self._target.scale(timeout)
        while not self._pending:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._target.recorder.note(self._id, "nothing received before the deadline")
                raise ConformanceFailure(
                    f"the server sent nothing within {self._target.scale(timeout):.2f}s"
                )
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError as exc:  # a reset counts as the end of the connection
                self._target.recorder.record(
                    self._id, "S->C", "TCP", note=f"connection reset ({exc})"
                )
                return None
            if not chunk:
                self._target.recorder.record(self._id, "S->C", "TCP", note="connection ended (FIN)")
                return None
            self._pending.extend(self._parser.feed(chunk))
        frame = self._pending.pop(0)
        self._target.recorder.record(self._id, "S->C", frame.name, frame.payload)
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
