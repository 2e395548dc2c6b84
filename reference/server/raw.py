"""Raw WebSocket endpoints (spec chapter 09-raw-websocket).

The handler of `@endpoint(path, is_websocket=True)` gets a small fastapi-like `WebSocket`:
`accept`, `receive` (str or bytes), `receive_text`, `receive_bytes`, `send_text`,
`send_bytes`, `send_json`, `close`. The 101 response is sent by `accept()`. A handler that
raises after accepting ends with a close frame 1011 (RT-RAW-005), never a dropped TCP
connection; one that returns without closing ends with 1000; a client that leaves raises
`WebSocketDisconnect` in the handler, which is not logged as an error.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from reference.core.frames import CloseCode
from reference.core.inputs import MAX_QUEUED_BYTES
from reference.core.session import RequestedFailure
from reference.core.websocket import CloseReceived, WebSocketEndpoint
from reference.core.wsframes import MAX_MESSAGE
from reference.server.channel import HOLD_QUEUE, Channel
from reference.server.http import Request, response
from reference.server.limits import ServerLimits

log = logging.getLogger("reference.server")


class WebSocketDisconnect(Exception):
    """The client closed the connection (or it was lost)."""

    def __init__(self, code: int = 1000) -> None:
        super().__init__(code)
        self.code = code


class WebSocket:
    """The connection a raw endpoint handler talks to."""

    def __init__(
        self,
        channel: Channel,
        request: Request,
        reply: bytes,
        max_inbox: int = MAX_QUEUED_BYTES,
        max_message: int = MAX_MESSAGE,
    ) -> None:
        self._channel = channel
        self._endpoint = WebSocketEndpoint(max_message)
        self._max_inbox = max_inbox  # RT-SEC-013: unread bytes before reading stops
        self._inbox_bytes = 0
        self._reply = reply
        self.path = request.path
        self.query_params = request.query
        self.headers = {k.lower(): v for k, v in request.headers}
        self.accepted = False
        self.closed = False
        self._inbox: deque[bytes | str] = deque()
        self._waiter: asyncio.Future[None] | None = None

    async def accept(self) -> None:
        """Complete the handshake (send 101 Switching Protocols)."""
        if not self.accepted and not self._channel.closed:
            self.accepted = True
            self._channel.write([self._reply])
            self.flush()  # pongs for pings sent with the upgrade go after the 101 (RFC 6455 4.2.2)

    async def receive(self) -> bytes | str:
        """The next message: `str` for a text frame, `bytes` for a binary frame."""
        while not self._inbox:
            if self.closed:
                raise WebSocketDisconnect(CloseCode.NORMAL)
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        message = self._inbox.popleft()
        self._inbox_bytes -= len(message)
        if self._inbox_bytes < self._max_inbox // 2:
            self._channel.release_reading(HOLD_QUEUE)
        return message

    async def receive_text(self) -> str:
        message = await self.receive()
        if not isinstance(message, str):
            raise TypeError("expected a text message, got a binary one")
        return message

    async def receive_bytes(self) -> bytes:
        message = await self.receive()
        if not isinstance(message, bytes):
            raise TypeError("expected a binary message, got a text one")
        return message

    def _check_open(self) -> None:
        if self.closed or self._channel.closed:
            raise WebSocketDisconnect(CloseCode.NORMAL)
        if not self.accepted:
            raise RuntimeError("call `await websocket.accept()` before sending")

    async def send_text(self, text: str) -> None:
        self._check_open()
        self._endpoint.send_text(text)
        await self._flushed()

    async def send_bytes(self, data: bytes) -> None:
        self._check_open()
        self._endpoint.send_binary(data)
        await self._flushed()

    async def send_json(self, value: Any) -> None:
        await self.send_text(json.dumps(value, separators=(",", ":")))

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        """Close with `code`; before `accept()` this refuses the handshake with 403."""
        self.close_now(code, reason)

    def close_now(self, code: int, reason: str = "") -> None:
        """`close` without awaiting (the driver's 1011 after a failure, 1001 on shutdown)."""
        if self.closed:
            return
        self.closed = True
        if not self.accepted:
            self._channel.refuse(response(403, {"detail": "refused"}, keep_alive=False))
            return
        self._endpoint.send_close(code, reason)
        self.flush()

    # -- bytes in and out ---------------------------------------------------------------
    def flush(self) -> None:
        """The one output path: write what the endpoint produced (nothing before the 101)."""
        if not self.accepted:
            return
        chunks = self._endpoint.data_to_send()
        if chunks:
            self._channel.write(chunks)
        if self._endpoint.close_sent:
            self._channel.expect_close()

    async def _flushed(self) -> None:
        self.flush()
        await self._channel.drain()

    def data_received(self, data: bytes) -> None:
        """Bytes from the peer: queue messages; a close (or framing error) ends the inbox."""
        for item in self._endpoint.receive_data(data):
            if isinstance(item, CloseReceived):
                self.gone()
            else:
                self._inbox.append(item)
                self._inbox_bytes += len(item)
        if self._inbox_bytes >= self._max_inbox:  # a handler not reading: TCP backpressure
            self._channel.hold_reading(HOLD_QUEUE)
        if self._endpoint.close_sent:
            self.closed = True
        self.flush()
        self._wake()

    def gone(self) -> None:
        """The client closed or left; `receive` raises `WebSocketDisconnect` once empty."""
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class RawDriver:
    """Runs a raw endpoint handler for one connection."""

    def __init__(
        self,
        channel: Channel,
        handler: Callable[[WebSocket], Awaitable[None]],
        path: str,
        request: Request,
        reply: bytes,
        limits: ServerLimits | None = None,
    ) -> None:
        self.channel = channel
        self.handler = handler
        self.path = path
        limits = limits or ServerLimits()
        self.websocket = WebSocket(
            channel, request, reply, limits.max_queued_bytes, limits.max_message
        )
        self.task = asyncio.get_running_loop().create_task(self._run())

    def data_received(self, data: bytes) -> None:
        self.websocket.data_received(data)

    def eof_received(self) -> None:
        self.websocket.gone()

    def connection_lost(self) -> None:
        self.websocket.gone()

    def shutdown(self) -> None:
        self.websocket.close_now(CloseCode.GOING_AWAY, "server shutdown")

    async def _run(self) -> None:
        ws = self.websocket
        try:
            await self.handler(ws)
        except (WebSocketDisconnect, asyncio.CancelledError):
            return  # the client left: not a server error
        except Exception as exc:
            if self.channel.closed:
                return
            if isinstance(exc, RequestedFailure):
                log.info("raw WebSocket handler failed on %s as requested: %s", self.path, exc)
            else:
                log.exception("raw WebSocket handler failed on %s", self.path)
            if not ws.accepted:
                self.channel.refuse(response(500, {"detail": "handler failed"}, keep_alive=False))
            else:  # RT-RAW-004/005: a close frame 1011, not a dropped TCP
                ws.close_now(CloseCode.INTERNAL, "internal error")
            return
        ws.close_now(CloseCode.NORMAL)  # RT-RAW-007
