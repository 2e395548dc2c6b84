"""Raw WebSocket endpoints (spec chapter 09-raw-websocket).

The handler of `@endpoint(path, is_websocket=True)` gets a `WebSocket` with the surface of
Starlette's (what fal 1.83.0 hands such a handler), so a fal app moves with its imports
changed: `accept`, `receive` (an ASGI-style message dict, as Starlette), `receive_text`,
`receive_bytes`, `receive_json`, `iter_text`, `iter_bytes`, `iter_json`, `send`, `send_text`,
`send_bytes`, `send_json`, `close`, `headers` (case-insensitive), `query_params`, `path`.
`receive_data` is the reference's own: the next message as `str` (text) or `bytes` (binary).
The 101 response is sent by `accept()`. A handler that raises after accepting ends with a
close frame 1011 (RT-RAW-005), never a dropped TCP connection; one that returns without
closing ends with 1000; a client that leaves raises `WebSocketDisconnect` in the handler,
which is not logged as an error. An accepted connection whose client sends nothing for the
ping interval is pinged, and failed with close 1011 when it stays silent (RT-SEC-050; the rule
is the sans-I/O `Keepalive`, this module only arms its timer); the handler then sees a
disconnect with code 1006, as with a lost connection.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any

from reference.core.frames import CloseCode
from reference.core.inputs import MAX_QUEUED_BYTES
from reference.core.keepalive import PING_INTERVAL, PING_TIMEOUT, Keepalive
from reference.core.websocket import CloseReceived, WebSocketEndpoint
from reference.core.wsframes import MAX_MESSAGE
from reference.server.channel import HOLD_QUEUE, Channel
from reference.server.failures import log_handler_failure
from reference.server.http import Request, response
from reference.server.limits import ServerLimits

#: RFC 6455 7.1.5: the connection closed without a close frame (uvicorn reports it to Starlette).
ABNORMAL_CLOSURE = 1006


class WebSocketDisconnect(Exception):
    """The client closed the connection (or it was lost); `code` and `reason` as Starlette's."""

    def __init__(self, code: int = 1000, reason: str | None = None) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason or ""


class Headers(Mapping[str, str]):
    """Request headers, looked up case-insensitively (as Starlette's `Headers`)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._items = {name.lower(): value for name, value in pairs}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


class WebSocket:
    """The connection a raw endpoint handler talks to (Starlette's `WebSocket` surface)."""

    def __init__(
        self,
        channel: Channel,
        request: Request,
        reply: bytes,
        max_inbox: int = MAX_QUEUED_BYTES,
        max_message: int = MAX_MESSAGE,
        ping_interval: float = PING_INTERVAL,
        ping_timeout: float = PING_TIMEOUT,
    ) -> None:
        self._channel = channel
        self._endpoint = WebSocketEndpoint(max_message)
        self._ping = (ping_interval, ping_timeout)
        self._keepalive: Keepalive | None = None  # from `accept()` on (RT-SEC-050)
        self._timer: asyncio.TimerHandle | None = None
        self._max_inbox = max_inbox  # RT-SEC-013: unread bytes before reading stops
        self._inbox_bytes = 0
        self._reply = reply
        self.path = request.path
        self.query_params = request.query
        self.headers = Headers(request.headers)
        self.accepted = False
        self.closed = False
        self.close_code: int = CloseCode.NORMAL  # the client's close code, once it closed
        self._disconnect_seen = False
        self._inbox: deque[bytes | str] = deque()
        self._waiter: asyncio.Future[None] | None = None

    async def accept(
        self, subprotocol: str | None = None, headers: Iterable[tuple[bytes, bytes]] | None = None
    ) -> None:
        """Complete the handshake (send 101 Switching Protocols)."""
        if subprotocol is not None or headers:
            raise ValueError(
                "the reference does not negotiate subprotocols or add handshake headers: "
                "call `accept()` without arguments"
            )
        if not self.accepted and not self._channel.closed:
            self.accepted = True
            self._channel.write([self._reply])
            interval, timeout = self._ping
            if interval > 0:
                now = asyncio.get_running_loop().time()
                self._keepalive = Keepalive(interval, timeout, now, self._endpoint)
                self._arm_keepalive()
            self.flush()  # pongs for pings sent with the upgrade go after the 101 (RFC 6455 4.2.2)

    async def receive(self) -> dict[str, Any]:
        """The next message as Starlette gives it (ASGI): `{"type": "websocket.receive",
        "text": str}` or `{..., "bytes": bytes}`; once the client closed (or left),
        `{"type": "websocket.disconnect", "code": int}`; calling again after that raises."""
        if self._disconnect_seen:
            raise RuntimeError('Cannot call "receive" once a disconnect message has been received.')
        try:
            data = await self.receive_data()
        except WebSocketDisconnect as exc:
            self._disconnect_seen = True
            return {"type": "websocket.disconnect", "code": exc.code, "reason": ""}
        kind = "bytes" if isinstance(data, bytes) else "text"
        return {"type": "websocket.receive", kind: data}

    async def receive_data(self) -> bytes | str:
        """The next message: `str` for a text frame, `bytes` for a binary frame.

        Raises:
            WebSocketDisconnect: the client closed (with its code) or left.
        """
        while not self._inbox:
            if self.closed:
                raise WebSocketDisconnect(self.close_code)
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
        message = await self.receive_data()
        if not isinstance(message, str):
            raise TypeError("expected a text message, got a binary one")
        return message

    async def receive_bytes(self) -> bytes:
        message = await self.receive_data()
        if not isinstance(message, bytes):
            raise TypeError("expected a binary message, got a text one")
        return message

    async def receive_json(self, mode: str = "text") -> Any:
        """One JSON message: a text frame (`mode="text"`) or UTF-8 binary frame ("binary")."""
        if mode not in ("text", "binary"):
            raise ValueError('mode must be "text" or "binary"')
        if mode == "text":
            return json.loads(await self.receive_text())
        return json.loads((await self.receive_bytes()).decode("utf-8"))

    async def iter_text(self) -> AsyncIterator[str]:
        """Text messages until the client closes."""
        try:
            while True:
                yield await self.receive_text()
        except WebSocketDisconnect:
            pass

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        """Binary messages until the client closes."""
        try:
            while True:
                yield await self.receive_bytes()
        except WebSocketDisconnect:
            pass

    async def iter_json(self) -> AsyncIterator[Any]:
        """JSON text messages until the client closes."""
        try:
            while True:
                yield await self.receive_json()
        except WebSocketDisconnect:
            pass

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

    async def send_json(self, value: Any, mode: str = "text") -> None:
        """JSON as Starlette writes it (compact, UTF-8 as is) in a text or binary frame."""
        if mode not in ("text", "binary"):
            raise ValueError('mode must be "text" or "binary"')
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        if mode == "text":
            await self.send_text(text)
        else:
            await self.send_bytes(text.encode("utf-8"))

    async def send(self, message: Mapping[str, Any]) -> None:
        """An ASGI message, as Starlette's `send`: websocket.accept, .send or .close."""
        kind = message.get("type")
        if kind == "websocket.accept":
            await self.accept(message.get("subprotocol"), message.get("headers"))
        elif kind == "websocket.send" and message.get("bytes") is not None:
            await self.send_bytes(message["bytes"])
        elif kind == "websocket.send" and message.get("text") is not None:
            await self.send_text(message["text"])
        elif kind == "websocket.close":
            await self.close(message.get("code", CloseCode.NORMAL), message.get("reason"))
        else:
            raise ValueError(f"unsupported ASGI message for a raw WebSocket: {kind!r}")

    async def close(self, code: int = CloseCode.NORMAL, reason: str | None = None) -> None:
        """Close with `code`; before `accept()` this refuses the handshake with 403."""
        self.close_now(code, reason or "")

    def close_now(self, code: int, reason: str = "") -> None:
        """`close` without awaiting (the driver's 1011 after a failure, 1001 on shutdown)."""
        if self.closed:
            return
        self.closed = True
        self._disarm_keepalive()
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

    # -- keepalive (RT-LIFE-012, RT-SEC-050) ----------------------------------------------
    def _arm_keepalive(self) -> None:
        """Time the keepalive's next deadline; lazy: bytes received move it, not the timer."""
        keepalive = self._keepalive
        if keepalive is None or self.closed:
            return
        deadline = keepalive.deadline()
        timer = self._timer
        if timer is not None:
            if timer.when() <= deadline:
                return
            timer.cancel()
        self._timer = asyncio.get_running_loop().call_at(deadline, self._on_keepalive)

    def _on_keepalive(self) -> None:
        self._timer = None
        keepalive = self._keepalive
        if keepalive is None or self.closed or self._channel.closed:
            return
        now = asyncio.get_running_loop().time()
        # A handler not reading holds reading (RT-SEC-013): the pong waits in our buffers.
        if keepalive.apply(now, held=self._inbox_bytes >= self._max_inbox):
            self.close_code = ABNORMAL_CLOSURE  # no close frame came from the client
            self.flush()  # close 1011 and the end of our side; the channel lingers, then drops
            self.gone()
            return
        self.flush()
        self._arm_keepalive()

    def _disarm_keepalive(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def data_received(self, data: bytes) -> None:
        """Bytes from the peer: queue messages; a close (or framing error) ends the inbox."""
        if self._keepalive is not None:
            self._keepalive.received(asyncio.get_running_loop().time())  # any byte: alive
        for item in self._endpoint.receive_data(data):
            if isinstance(item, CloseReceived):
                self.close_code = item.code
                self.gone()
            else:
                self._inbox.append(item)
                self._inbox_bytes += len(item)
        if self._inbox_bytes >= self._max_inbox:  # a handler not reading: TCP backpressure
            self._channel.hold_reading(HOLD_QUEUE)
        if self._endpoint.close_sent:
            self.closed = True
            self._disarm_keepalive()
        self.flush()
        self._wake()

    def gone(self) -> None:
        """The client closed or left; `receive` raises `WebSocketDisconnect` once empty."""
        self.closed = True
        self._disarm_keepalive()
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
            channel,
            request,
            reply,
            limits.max_queued_bytes,
            limits.max_message,
            limits.ping_interval,
            limits.ping_timeout,
        )
        self.task = asyncio.get_running_loop().create_task(self._run())

    def data_received(self, data: bytes) -> None:
        self.websocket.data_received(data)

    def eof_received(self) -> None:
        self._lost()

    def connection_lost(self) -> None:
        self._lost()

    def _lost(self) -> None:
        """The TCP connection ended with no close frame: the handler sees code 1006."""
        if not self.websocket.closed:
            self.websocket.close_code = ABNORMAL_CLOSURE
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
            log_handler_failure("raw WebSocket", self.path, exc)
            if not ws.accepted:
                self.channel.refuse(response(500, {"detail": "handler failed"}, keep_alive=False))
            else:  # RT-RAW-004/005: a close frame 1011, not a dropped TCP
                ws.close_now(CloseCode.INTERNAL, "internal error")
            return
        ws.close_now(CloseCode.NORMAL)  # RT-RAW-007
