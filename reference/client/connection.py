"""Realtime and raw client connections (spec chapters 04-messages, 05-control-frames).

`recv()` returns the next output map; it skips x-fal-message frames and text frames of an
unknown type; it raises `RealtimeError` (code, reason, payload) for an x-fal-error frame,
except TIMEOUT: TIMEOUT is the normal end of a session (idle timeout, end of a stream), so
`recv()` returns None for it and for every call after it, as it does after a clean close.
"""

from __future__ import annotations

import asyncio
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.sync.client import ClientConnection as SyncClientConnection

from reference.core.codec import decode_output, encode
from reference.core.frames import ErrorFrame, parse_text

#: Outputs of at least 16 MiB should be accepted (RT-TRANS-045/046); the client sets no limit.
MAX_SIZE = None


class RealtimeError(Exception):
    """An x-fal-error frame (or a connection failure) with its code and reason."""

    def __init__(self, code: str, reason: str = "", payload: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {reason}" if reason else code)
        self.code = code
        self.reason = reason
        self.payload = payload or {}

    @property
    def error(self) -> str:
        """fal_client's name for the code."""
        return self.code


class RecvTimeout(TimeoutError):
    """No output arrived in time."""


def timeout_error(timeout: float) -> RecvTimeout:
    return RecvTimeout(
        f"no output within {timeout} s; the handler may still be running (pass a larger "
        "timeout), or the input was dropped by a latest-wins (buffering) endpoint"
    )


def connect_error(url: str, exc: BaseException) -> Exception:
    """Turn handshake failures into errors that say what to do."""
    if isinstance(exc, websockets.InvalidStatus):
        status = exc.response.status_code
        hints = {
            401: "the server requires credentials: pass key=... (Authorization: Key) or token=...",
            403: "the server refused the credentials or the path: check the key/token and the URL",
            404: "no endpoint at this path: check the path (for example /realtime) or the app id",
        }
        hint = hints.get(status, "the server refused the WebSocket upgrade")
        return RealtimeError(f"HTTP_{status}", f"{hint} ({url})")
    if isinstance(exc, OSError):
        return ConnectionError(
            f"cannot connect to {url}: {exc}; is the server running "
            "(`python -m reference serve --port PORT`) and is the port right?"
        )
    return exc if isinstance(exc, Exception) else RuntimeError(str(exc))


def _classify(message: bytes | str) -> tuple[Any, ErrorFrame | None]:
    """(output, None) for data; (None, frame) for an error frame; (None, None) to skip."""
    if isinstance(message, bytes):
        return decode_output(message), None
    frame = parse_text(message)
    if isinstance(frame, ErrorFrame):
        return None, frame
    return None, None  # x-fal-message, unknown type, not JSON: ignored (RT-CTRL-031/032)


class AsyncRealtimeConnection:
    """One realtime session (asyncio)."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self.ended = False

    async def send(self, value: dict[str, Any]) -> None:
        """Send one input map (msgpack, binary frame)."""
        await self.websocket.send(encode(value))

    async def send_raw(self, data: bytes | str) -> None:
        """Send a frame as is (tests of the server's validation)."""
        await self.websocket.send(data)

    async def recv(self, timeout: float | None = None) -> Any:
        """The next output; None once the session ended (TIMEOUT frame or clean close)."""
        if self.ended:
            return None
        while True:
            try:
                message = await asyncio.wait_for(self.websocket.recv(), timeout)
            except TimeoutError:
                raise timeout_error(timeout or 0.0) from None
            except websockets.ConnectionClosedOK:
                self.ended = True
                return None
            except websockets.ConnectionClosedError as exc:
                self.ended = True
                raise RealtimeError("CONNECTION_CLOSED", str(exc)) from None
            output, frame = _classify(message)
            if frame is not None:
                if frame.ends_session:
                    self.ended = True
                    return None
                raise RealtimeError(frame.code, frame.reason, frame.payload)
            if output is not None or isinstance(message, bytes):
                return output

    async def close(self) -> None:
        await self.websocket.close()


class RealtimeConnection:
    """One realtime session (blocking)."""

    def __init__(self, websocket: SyncClientConnection) -> None:
        self.websocket = websocket
        self.ended = False

    def send(self, value: dict[str, Any]) -> None:
        """Send one input map (msgpack, binary frame)."""
        self.websocket.send(encode(value))

    def send_raw(self, data: bytes | str) -> None:
        """Send a frame as is (tests of the server's validation)."""
        self.websocket.send(data)

    def recv(self, timeout: float | None = None) -> Any:
        """The next output; None once the session ended (TIMEOUT frame or clean close)."""
        if self.ended:
            return None
        while True:
            try:
                message = self.websocket.recv(timeout)
            except TimeoutError:
                raise timeout_error(timeout or 0.0) from None
            except websockets.ConnectionClosedOK:
                self.ended = True
                return None
            except websockets.ConnectionClosedError as exc:
                self.ended = True
                raise RealtimeError("CONNECTION_CLOSED", str(exc)) from None
            output, frame = _classify(message)
            if frame is not None:
                if frame.ends_session:
                    self.ended = True
                    return None
                raise RealtimeError(frame.code, frame.reason, frame.payload)
            if output is not None or isinstance(message, bytes):
                return output

    def close(self) -> None:
        self.websocket.close()


class RawConnection:
    """A raw WebSocket endpoint (blocking): text and binary messages as they are."""

    def __init__(self, websocket: SyncClientConnection) -> None:
        self.websocket = websocket

    def send(self, message: bytes | str) -> None:
        self.websocket.send(message)

    def recv(self, timeout: float | None = None) -> bytes | str | None:
        """The next message; None after a clean close."""
        try:
            return self.websocket.recv(timeout)
        except TimeoutError:
            raise timeout_error(timeout or 0.0) from None
        except websockets.ConnectionClosedOK:
            return None

    @property
    def close_code(self) -> int | None:
        return self.websocket.close_code

    def close(self) -> None:
        self.websocket.close()
