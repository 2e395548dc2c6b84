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
from typing import TYPE_CHECKING, Any

from reference.core.frames import CloseCode
from reference.server.http import response

if TYPE_CHECKING:
    from reference.server.connection import Connection
    from reference.server.http import Request, Route

log = logging.getLogger("reference.server")


class WebSocketDisconnect(Exception):
    """The client closed the connection (or it was lost)."""

    def __init__(self, code: int = 1000) -> None:
        super().__init__(code)
        self.code = code


class WebSocket:
    """The connection a raw endpoint handler talks to."""

    def __init__(self, conn: Connection, request: Request, reply: bytes) -> None:
        self._conn = conn
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
        if not self.accepted and self._conn.transport is not None and not self._conn.closed:
            self.accepted = True
            self._conn.transport.write(self._reply)

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
        return self._inbox.popleft()

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
        if self.closed or self._conn.closed:
            raise WebSocketDisconnect(CloseCode.NORMAL)
        if not self.accepted:
            raise RuntimeError("call `await websocket.accept()` before sending")

    async def send_text(self, text: str) -> None:
        self._check_open()
        self._conn.send_text(text)
        await self._conn.drain()

    async def send_bytes(self, data: bytes) -> None:
        self._check_open()
        self._conn.send_binary(data)
        await self._conn.drain()

    async def send_json(self, value: Any) -> None:
        await self.send_text(json.dumps(value, separators=(",", ":")))

    async def close(self, code: int = CloseCode.NORMAL, reason: str = "") -> None:
        """Close with `code`; before `accept()` this refuses the handshake with 403."""
        if self.closed:
            return
        self.closed = True
        if not self.accepted:
            self._conn._write_close(response(403, {"detail": "refused"}, keep_alive=False))
            return
        self._conn.close(code, reason)

    # -- from the driver ------------------------------------------------------------------
    def _deliver(self, message: bytes | str) -> None:
        self._inbox.append(message)
        self._wake()

    def _gone(self) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class RawDriver:
    """Runs a raw endpoint handler for one connection."""

    def __init__(self, conn: Connection, route: Route, request: Request, reply: bytes) -> None:
        self.conn = conn
        self.route = route
        self.websocket = WebSocket(conn, request, reply)
        self.task = asyncio.get_running_loop().create_task(self._run())

    def on_message(self, data: bytes | str) -> None:
        self.websocket._deliver(data)

    def on_close(self) -> None:
        self.websocket._gone()

    async def _run(self) -> None:
        ws = self.websocket
        try:
            await self.route.handler(ws)
        except WebSocketDisconnect:
            return  # the client left: not a server error
        except asyncio.CancelledError:
            return
        except Exception:
            if self.conn.closed:
                return
            log.exception("raw WebSocket handler failed on %s", self.route.path)
            if not ws.accepted:
                self.conn._write_close(
                    response(500, {"detail": "handler failed"}, keep_alive=False)
                )
            elif not ws.closed:  # RT-RAW-004/005: a close frame 1011, not a dropped TCP
                ws.closed = True
                self.conn.close(CloseCode.INTERNAL, "internal error")
            return
        if not ws.closed:  # RT-RAW-007
            await ws.close(CloseCode.NORMAL)
