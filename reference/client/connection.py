"""Realtime and raw client connections (spec chapters 04-messages, 05-control-frames).

`recv()` returns the next output map; it skips x-fal-message frames and text frames of an
unknown type; it raises `RealtimeError` (code, reason, payload) for an x-fal-error frame,
except TIMEOUT: TIMEOUT is the normal end of a session (idle timeout, end of a stream), so
`recv()` returns None for it and for every call after it, as it does after a clean close.

Extensions (spec 15), when opened with `extensions=[...]`: `send()` returns the input's index;
`end_input()` sends end-of-input once the `hello` enabled it; after `recv()` returns an output,
`last_inputs` holds the indexes of the inputs it answers (correlation), `dropped` lists inputs
the server dropped, and a `RealtimeError` carries `input_index`; a server that stays silent
for twice its `heartbeat_interval` fails `recv()` with `HEARTBEAT_LOST` (RT-EXT-042).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosedOK
from websockets.sync.client import ClientConnection as SyncClientConnection

from reference.core.client import ClientEvent, ClientSession, Ended, Failed, Output

#: Outputs of at least 16 MiB should be accepted (RT-TRANS-045/046); the client sets no limit.
MAX_SIZE = None


class RealtimeError(Exception):
    """An x-fal-error frame (or a connection failure) with its code and reason."""

    def __init__(
        self,
        code: str,
        reason: str = "",
        payload: dict[str, Any] | None = None,
        input_index: int | None = None,
    ) -> None:
        super().__init__(f"{code}: {reason}" if reason else code)
        self.code = code
        self.reason = reason
        self.payload = payload or {}
        self.input_index = input_index  # the input this error answers (correlation, 15.4)

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
        raise RealtimeError(event.code, event.reason, event.payload, event.input_index)
    return None


#: How long `end_input` waits for the first message to learn whether a hello came (6.2.1).
HELLO_WAIT = 5.0


class _Realtime:
    """What the sync and asyncio connections share: the core session and its bookkeeping."""

    def __init__(self, extensions: Sequence[str] | None) -> None:
        self.session = ClientSession(extensions)
        self._pending: ClientEvent | None = None  # read while waiting for the hello
        #: The input indexes of the output `recv()` returned last (correlation on).
        self.last_inputs: tuple[int, ...] | None = None
        #: Why the session ended, from the end-of-output frame ("" otherwise; RT-EXT-021).
        self.end_reason = ""

    @property
    def ended(self) -> bool:
        """Whether the session ended (TIMEOUT or end-of-output frame, or close)."""
        return self.session.ended

    @property
    def extensions(self) -> tuple[str, ...]:
        """The extensions on for this session (after the hello; RT-EXT-007)."""
        return self.session.enabled

    @property
    def dropped(self) -> list[int]:
        """Indexes of inputs the server dropped under `buffering` (RT-EXT-032/033)."""
        return self.session.dropped

    def _wait(self, timeout: float | None) -> float | None:
        """How long one read may wait: `timeout`, capped by the heartbeat deadline."""
        deadline = self.session.heartbeat_deadline()
        if deadline is None:
            return timeout
        left = max(0.0, deadline - time.monotonic())
        return left if timeout is None else min(timeout, left)

    def _timed_out(self, timeout: float | None) -> ClientEvent:
        """A read timed out: the heartbeat is lost (RT-EXT-042), or it is the caller's timeout."""
        deadline = self.session.heartbeat_deadline()
        if deadline is not None and time.monotonic() >= deadline:
            return self.session.heartbeat_lost()
        raise timeout_error(timeout or 0.0)

    def _received(self, message: bytes | str) -> ClientEvent | None:
        return self.session.receive_message(message, time.monotonic())

    def _take(self) -> ClientEvent | None:
        """An event read earlier (by `end_input`), or Ended once the session ended."""
        event, self._pending = self._pending, None
        if event is None and self.session.ended:
            return Ended()
        return event

    def _result(self, event: ClientEvent) -> Any:
        self.last_inputs = event.inputs if isinstance(event, Output) else None
        if isinstance(event, Ended) and event.reason:
            self.end_reason = event.reason
        return _result(event)


class AsyncRealtimeConnection(_Realtime):
    """One realtime session (asyncio) over the core's `ClientSession`."""

    def __init__(
        self, websocket: ClientConnection, extensions: Sequence[str] | None = None
    ) -> None:
        super().__init__(extensions)
        self.websocket = websocket

    async def send(self, value: dict[str, Any]) -> int | None:
        """Send one input map (msgpack, binary frame); returns its input index (spec 15.4).

        A connection with the @fal-ai/client send rules (`reference.client.live`) returns None:
        the throttle may replace the input, so it has no index of its own.
        """
        await self.websocket.send(self.session.input_bytes(value))
        return self.session.sent - 1

    async def send_raw(self, data: bytes | str) -> None:
        """Send a frame as is (tests of the server's validation); it counts as a data message."""
        self.session.sent += 1
        await self.websocket.send(data)

    async def end_input(self, hello_wait: float = HELLO_WAIT) -> bool:
        """Send end-of-input if the server enabled it (RT-EXT-010/011); False: it is off.

        The hello is the server's first message (RT-EXT-002); if none has been read yet, the
        first message is read (and kept for `recv`), waiting at most `hello_wait` seconds.
        """
        session = self.session
        if not session.seen_first and self._pending is None and session.offered is not None:
            try:
                message = await asyncio.wait_for(self.websocket.recv(), hello_wait)
            except TimeoutError:
                return False  # RT-EXT-007: no hello in time; the 1.0 idle end applies
            except websockets.ConnectionClosed as exc:
                self._pending = session.receive_closed(
                    isinstance(exc, ConnectionClosedOK), str(exc)
                )
            else:
                self._pending = self._received(message)
        frame = session.end_of_input()
        if frame is None:
            return False
        await self.websocket.send(frame)
        return True

    async def recv(self, timeout: float | None = None) -> Any:
        """The next output; None once the session ended (TIMEOUT frame or clean close)."""
        session = self.session
        event = self._take()
        while event is None:
            try:
                message = await asyncio.wait_for(self.websocket.recv(), self._wait(timeout))
            except TimeoutError:
                event = self._timed_out(timeout)
                if session.ended:
                    await self.websocket.close(1011, "heartbeat lost")
            except websockets.ConnectionClosedOK:
                event = session.receive_closed(True, "")
            except websockets.ConnectionClosedError as exc:
                event = session.receive_closed(False, str(exc))
            else:
                event = self._received(message)
        return self._result(event)

    async def close(self) -> None:
        await self.websocket.close()


class RealtimeConnection(_Realtime):
    """One realtime session (blocking) over the core's `ClientSession`."""

    def __init__(
        self, websocket: SyncClientConnection, extensions: Sequence[str] | None = None
    ) -> None:
        super().__init__(extensions)
        self.websocket = websocket

    def send(self, value: dict[str, Any]) -> int | None:
        """Send one input map (msgpack, binary frame); returns its input index (spec 15.4).

        None from a connection with the @fal-ai/client send rules, as the async `send`.
        """
        self.websocket.send(self.session.input_bytes(value))
        return self.session.sent - 1

    def send_raw(self, data: bytes | str) -> None:
        """Send a frame as is (tests of the server's validation); it counts as a data message."""
        self.session.sent += 1
        self.websocket.send(data)

    def end_input(self, hello_wait: float = HELLO_WAIT) -> bool:
        """Send end-of-input if the server enabled it; as `AsyncRealtimeConnection.end_input`."""
        session = self.session
        if not session.seen_first and self._pending is None and session.offered is not None:
            try:
                message = self.websocket.recv(hello_wait)
            except TimeoutError:
                return False
            except websockets.ConnectionClosed as exc:
                self._pending = session.receive_closed(
                    isinstance(exc, ConnectionClosedOK), str(exc)
                )
            else:
                self._pending = self._received(message)
        frame = session.end_of_input()
        if frame is None:
            return False
        self.websocket.send(frame)
        return True

    def recv(self, timeout: float | None = None) -> Any:
        """The next output; None once the session ended (TIMEOUT frame or clean close)."""
        session = self.session
        event = self._take()
        while event is None:
            try:
                message = self.websocket.recv(self._wait(timeout))
            except TimeoutError:
                event = self._timed_out(timeout)
                if session.ended:
                    self.websocket.close(1011, "heartbeat lost")
            except websockets.ConnectionClosedOK:
                event = session.receive_closed(True, "")
            except websockets.ConnectionClosedError as exc:
                event = session.receive_closed(False, str(exc))
            else:
                event = self._received(message)
        return self._result(event)

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
