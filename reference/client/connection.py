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

from reference.core.client import ClientEvent, ClientSession, Ended, Failed, Output

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


def _result(event: ClientEvent) -> Any:
    """The value `recv()` returns for an event of the core session, or the error it raises."""
    if isinstance(event, Output):
        return event.value
    if isinstance(event, Failed):
        raise RealtimeError(event.code, event.reason, event.payload)
    return None


class AsyncRealtimeConnection:
    """One realtime session (asyncio) over the core's `ClientSession`."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket
        self.session = ClientSession()

    @property
    def ended(self) -> bool:
        """Whether the session ended (TIMEOUT frame or close)."""
        return self.session.ended

    async def send(self, value: dict[str, Any]) -> None:
        """Send one input map (msgpack, binary frame)."""
        await self.websocket.send(self.session.input_bytes(value))

    async def send_raw(self, data: bytes | str) -> None:
        """Send a frame as is (tests of the server's validation)."""
        await self.websocket.send(data)

    async def recv(self, timeout: float | None = None) -> Any:
        """The next output; None once the session ended (TIMEOUT frame or clean close)."""
        session = self.session
        event: ClientEvent | None = Ended() if session.ended else None
        while event is None:
            try:
                message = await asyncio.wait_for(self.websocket.recv(), timeout)
            except TimeoutError:
                raise timeout_error(timeout or 0.0) from None
            except websockets.ConnectionClosedOK:
                event = session.receive_closed(True, "")
            except websockets.ConnectionClosedError as exc:
                event = session.receive_closed(False, str(exc))
            else:
                event = session.receive_message(message)
        return _result(event)

    async def close(self) -> None:
        await self.websocket.close()


class RealtimeConnection:
    """One realtime session (blocking) over the core's `ClientSession`."""

    def __init__(self, websocket: SyncClientConnection) -> None:
        self.websocket = websocket
        self.session = ClientSession()

    @property
    def ended(self) -> bool:
        """Whether the session ended (TIMEOUT frame or close)."""
        return self.session.ended

    def send(self, value: dict[str, Any]) -> None:
        """Send one input map (msgpack, binary frame)."""
        self.websocket.send(self.session.input_bytes(value))

    def send_raw(self, data: bytes | str) -> None:
        """Send a frame as is (tests of the server's validation)."""
        self.websocket.send(data)

    def recv(self, timeout: float | None = None) -> Any:
        """The next output; None once the session ended (TIMEOUT frame or clean close)."""
        session = self.session
        event: ClientEvent | None = Ended() if session.ended else None
        while event is None:
            try:
                message = self.websocket.recv(timeout)
            except TimeoutError:
                raise timeout_error(timeout or 0.0) from None
            except websockets.ConnectionClosedOK:
                event = session.receive_closed(True, "")
            except websockets.ConnectionClosedError as exc:
                event = session.receive_closed(False, str(exc))
            else:
                event = session.receive_message(message)
        return _result(event)

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


class AsyncRawConnection:
    """A raw WebSocket endpoint (asyncio): text and binary messages as they are."""

    def __init__(self, websocket: ClientConnection) -> None:
        self.websocket = websocket

    async def send(self, message: bytes | str) -> None:
        await self.websocket.send(message)

    async def recv(self, timeout: float | None = None) -> bytes | str | None:
        """The next message; None after a clean close."""
        try:
            return await asyncio.wait_for(self.websocket.recv(), timeout)
        except TimeoutError:
            raise timeout_error(timeout or 0.0) from None
        except websockets.ConnectionClosedOK:
            return None

    @property
    def close_code(self) -> int | None:
        return self.websocket.close_code

    async def close(self) -> None:
        await self.websocket.close()
