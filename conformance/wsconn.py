"""One traced, validated WebSocket connection to the target (spec chapters 04 and 05).

Made with the `websockets` library by `Target.connect`. Every frame the target sends is
validated (msgpack profile, control-frame schemas) and every frame in either direction lands in
the check's trace. Waits have deadlines scaled by the timeout multiplier; nothing sleeps.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgpack
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from conformance import schemas
from conformance.failures import ConformanceFailure
from conformance.rawconn import DEFAULT_WAIT
from conformance.trace import Recorder
from conformance.validation import BINARY_CONTROL_REQS, OUTPUT_MAP_REQS, validate_control

# Who is to blame for an output that never came, by conformance-app path (spec 13.2): only a
# plain unary endpoint owes one output per input (RT-MSG-021).
MISSING_OUTPUT_BLAME: dict[str, tuple[str, ...]] = {
    "/realtime/stream": ("RT-STREAM-001", "RT-CONF-021"),
    "/realtime/bidi": ("RT-STREAM-006", "RT-CONF-020"),
    "/realtime/collect": ("RT-STREAM-005", "RT-CONF-020"),
    "/realtime/fanout": ("RT-STREAM-011", "RT-CONF-020"),
    "/realtime/latest": ("RT-FLOW-003", "RT-CONF-020"),
    "/realtime/batch": ("RT-FLOW-010", "RT-CONF-020"),
    "/realtime/batch-timeout": ("RT-FLOW-010", "RT-CONF-020"),
    "/realtime/webrtc": ("RT-CONF-020",),
}


@dataclass(frozen=True)
class Received:
    """One thing the server sent on a connection: a data frame or the end of the connection."""

    kind: str  # "binary", "text" or "close"
    data: bytes = b""
    code: int | None = None  # close code; None when the TCP connection ended without a close frame
    reason: str = ""
    value: Any = None  # decoded msgpack (binary) or JSON (text); None when it is neither

    @property
    def is_error_frame(self) -> bool:
        """A TEXT x-fal-error control frame."""
        return (
            self.kind == "text"
            and isinstance(self.value, dict)
            and self.value.get("type") == "x-fal-error"
        )

    @property
    def is_message_frame(self) -> bool:
        """A TEXT x-fal-message control frame."""
        return (
            self.kind == "text"
            and isinstance(self.value, dict)
            and self.value.get("type") == "x-fal-message"
        )

    def summary(self) -> str:
        """A short description for assertion messages."""
        if self.kind == "close":
            return (
                "connection closed without a close frame"
                if self.code is None
                else f"close {self.code} {self.reason!r}"
            )
        shown = self.value if self.value is not None else self.data[:40]
        return f"{self.kind.upper()} {shown!r}"


class Conn:
    """One WebSocket connection made with `websockets`, traced and validated."""

    def __init__(
        self,
        ws: ClientConnection,
        recorder: Recorder,
        scale: Callable[[float], float],
        conn_id: int,
        validate: bool,
        path: str = "",
    ) -> None:
        self.ws = ws
        self.path = path
        self._recorder = recorder
        self._scale = scale
        self._id = conn_id
        self._validate = validate
        self.closed: Received | None = None

    # -- sending ---------------------------------------------------------------------------
    def send_msgpack(self, value: Any) -> None:
        """Send one BINARY message holding `value` packed as msgpack."""
        self.send_bytes(msgpack.packb(value, use_bin_type=True))

    def send_bytes(self, data: bytes) -> None:
        """Send one BINARY message with exactly these bytes."""
        self._recorder.record(self._id, "C->S", "BINARY", data)
        self._send(data)

    def send_text(self, text: str) -> None:
        """Send one TEXT message."""
        self._recorder.record(self._id, "C->S", "TEXT", text.encode())
        self._send(text)

    def _send(self, message: str | bytes) -> None:
        # A server may close right after an error frame (allowed: RT-CTRL-010); the close
        # then shows up in the next recv() instead of failing the send.
        try:
            self.ws.send(message)
        except ConnectionClosed:
            self._recorder.note(self._id, "not sent: the connection is closed")

    def abort(self) -> None:
        """Drop the TCP connection at once (unblocks a send stuck on a full socket)."""
        self._recorder.note(self._id, "client drops the TCP connection")
        with contextlib.suppress(OSError):
            self.ws.socket.shutdown(socket.SHUT_RDWR)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection from the client side."""
        if self.closed is None:
            self._recorder.record(
                self._id, "C->S", "CLOSE", code.to_bytes(2, "big") + reason.encode()
            )
        self.ws.close(code, reason)

    # -- receiving -------------------------------------------------------------------------
    def recv(self, timeout: float = DEFAULT_WAIT) -> Received:
        """The next frame (or the close), waiting at most `timeout` × multiplier seconds."""
        if self.closed is not None:
            return self.closed
        wait = self._scale(timeout)
        try:
            message = self.ws.recv(timeout=wait)
        except TimeoutError:
            self._recorder.note(self._id, f"nothing received within {wait:.2f}s")
            raise ConformanceFailure(f"the server sent nothing within {wait:.2f}s") from None
        except ConnectionClosed as exc:
            return self._on_close(exc)
        if isinstance(message, str):
            return self._on_data("text", message.encode())
        return self._on_data("binary", bytes(message))

    def _on_close(self, exc: ConnectionClosed) -> Received:
        rcvd = exc.rcvd
        if rcvd is None:
            self._recorder.record(
                self._id, "S->C", "TCP", note="connection ended without a close frame"
            )
            self.closed = Received("close")
        else:
            payload = (
                rcvd.code.to_bytes(2, "big") + rcvd.reason.encode() if rcvd.code != 1005 else b""
            )
            self._recorder.record(self._id, "S->C", "CLOSE", payload)
            self.closed = Received("close", payload, code=rcvd.code, reason=rcvd.reason)
        return self.closed

    def _on_data(self, kind: str, data: bytes) -> Received:
        self._recorder.record(self._id, "S->C", kind.upper(), data)
        value: Any = None
        if kind == "binary":
            try:
                value = schemas.decode_profile(data)
            except schemas.ProfileError as exc:
                if self._validate:
                    raise ConformanceFailure(
                        f"the server sent a BINARY message outside the msgpack profile: {exc}",
                        (exc.req,),
                    ) from None
            if self._validate and not isinstance(value, dict):
                raise ConformanceFailure(
                    f"server output is not a msgpack map: {value!r}", OUTPUT_MAP_REQS
                )
            if self._validate and value.get("type") in ("x-fal-error", "x-fal-message"):
                raise ConformanceFailure(
                    f"a control frame was sent as a BINARY msgpack message: {value!r}",
                    BINARY_CONTROL_REQS,
                )
        else:
            try:
                value = json.loads(data.decode("utf-8"))
            except ValueError:
                value = None
            if self._validate:
                validate_control(value, data)
        return Received(kind, data, value=value)

    def recv_data(self, timeout: float = DEFAULT_WAIT) -> Received:
        """The next frame that is not an x-fal-message (clients ignore those: spec 05)."""
        while True:
            frame = self.recv(timeout)
            if not frame.is_message_frame:
                return frame

    def recv_output(
        self,
        timeout: float = DEFAULT_WAIT,
        schema: str | None = "conformance-output",
        missing: tuple[str, ...] | None = None,
    ) -> dict[str, Any]:
        """The next output: a BINARY msgpack map valid against the conformance app's schema.

        When none arrives in time, the failure blames `missing` (by default the endpoint's own
        rule: RT-MSG-021 on a unary endpoint, MISSING_OUTPUT_BLAME elsewhere).
        """
        if missing is None:
            missing = MISSING_OUTPUT_BLAME.get(self.path, ("RT-MSG-021",))
        try:
            frame = self.recv_data(timeout)
        except ConformanceFailure as exc:
            if not exc.reqs:
                exc.reqs = missing
            raise
        if frame.kind != "binary":
            raise ConformanceFailure(f"expected an output (BINARY msgpack), got {frame.summary()}")
        problem = schemas.check(schema, frame.value) if schema else None
        if problem and self._validate:
            # The app's answer shape is RT-CONF-010 (/realtime) and RT-CONF-020 (the feature
            # rows), whatever check was running when it broke.
            raise ConformanceFailure(
                f"output does not match the conformance app's output schema: {problem}",
                ("RT-CONF-010", "RT-CONF-020"),
            )
        assert isinstance(frame.value, dict)
        return frame.value

    def recv_error(self, timeout: float = DEFAULT_WAIT) -> dict[str, Any]:
        """The next frame, which must be an x-fal-error control frame."""
        frame = self.recv_data(timeout)
        if not frame.is_error_frame:
            raise ConformanceFailure(f"expected an x-fal-error TEXT frame, got {frame.summary()}")
        assert isinstance(frame.value, dict)
        return frame.value

    def recv_close(self, timeout: float = DEFAULT_WAIT) -> Received:
        """Wait for the end of the connection; any data frame before it is a failure."""
        frame = self.recv_data(timeout)
        if frame.kind != "close":
            raise ConformanceFailure(f"expected the server to close, got {frame.summary()}")
        return frame

    def collect(self, until_close: bool = True, timeout: float = DEFAULT_WAIT) -> list[Received]:
        """Every frame until the close (x-fal-message frames skipped); the close is last."""
        frames = []
        while True:
            frame = self.recv_data(timeout)
            frames.append(frame)
            if frame.kind == "close" or not until_close:
                return frames
