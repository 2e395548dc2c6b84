"""A scripted server peer on 127.0.0.1 that plays one case against a client (spec chapter 13).

It records what the client sends (handshake, frames, close) and lets the case script answer
with outputs, control frames, pings, close codes or an abrupt TCP drop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import msgpack
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from conformance.client_mode.recording import Connection, Frame, Handshake, Recording

# Outputs of up to 16 MiB must reach a client (RT decision 10); inputs are not limited here
# so that the suite can see whatever the client sends.
MAX_INBOUND = 64 * 1024 * 1024


class Peer:
    """The server side of one accepted connection, as a case script sees it."""

    def __init__(self, ws: ServerConnection, record: Connection, input_wait: float) -> None:
        self._ws = ws
        self.record = record
        self.input_wait = input_wait

    @property
    def closed(self) -> bool:
        """Whether the connection is closed or closing."""
        return self._ws.close_code is not None

    async def recv(self, timeout: float | None = None) -> Frame | None:
        """Wait for the client's next data frame; None when it closed or ``timeout`` passed."""
        wait = self.input_wait if timeout is None else timeout
        try:
            message = await asyncio.wait_for(self._ws.recv(), wait)
        except (ConnectionClosed, TimeoutError):
            return None
        if isinstance(message, str):
            frame = Frame("text", message.encode("utf-8"))
        else:
            frame = Frame("binary", bytes(message))
        self.record.frames.append(frame)
        return frame

    async def send_output(self, value: Any) -> None:
        """Send one output: a binary frame holding one msgpack object."""
        await self.send_binary(msgpack.packb(value, use_bin_type=True))

    async def send_binary(self, payload: bytes) -> None:
        """Send raw bytes as one binary frame."""
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(payload)

    async def send_fragments(self, parts: list[bytes]) -> None:
        """Send one binary message as several fragments (continuation frames)."""
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(parts)

    async def send_text(self, text: str) -> None:
        """Send one text frame."""
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(text)

    async def send_control(self, frame: dict[str, Any]) -> None:
        """Send a control frame: compact JSON in a text frame, as fal's runner does."""
        await self.send_text(json.dumps(frame, separators=(",", ":")))

    async def send_error(self, code: str, reason: str, **extra: Any) -> None:
        """Send an ``x-fal-error`` control frame."""
        await self.send_control({"type": "x-fal-error", "error": code, "reason": reason, **extra})

    async def ping(self, timeout: float = 5.0) -> bool:
        """Ping the client and wait (bounded) for its pong."""
        try:
            waiter = await self._ws.ping(b"rt-conformance")
            await asyncio.wait_for(waiter, timeout)
        except (ConnectionClosed, TimeoutError):
            self.record.pong_received = False
            return False
        self.record.pong_received = True
        return True

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake with ``code`` and wait (bounded) for it to finish."""
        await self._ws.close(code, reason)

    def abort(self) -> None:
        """Drop the TCP connection with no close frame (an abrupt close)."""
        transport = self._ws.transport
        transport.abort()

    async def drain_until_closed(self, timeout: float) -> None:
        """Record the client's frames until it closes or ``timeout`` passes."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not self.closed:
            left = end - loop.time()
            if left <= 0:
                return
            await self.recv(timeout=left)


Script = Callable[[Peer], Awaitable[None]]


class ScriptedServer:
    """A WebSocket server on a free 127.0.0.1 port that plays one script per connection."""

    def __init__(
        self,
        script: Script,
        recording: Recording,
        *,
        accept_deflate: bool = False,
        refuse_status: int | None = None,
        input_wait: float = 5.0,
        on_finish: Callable[[Connection], None] | None = None,
    ) -> None:
        self._on_finish = on_finish
        self._script = script
        self._recording = recording
        self._accept_deflate = accept_deflate
        self._refuse_status = refuse_status
        self._input_wait = input_wait
        self._server: Server | None = None
        self._records: dict[int, Connection] = {}
        self._handlers: set[asyncio.Task[Any]] = set()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        assert self._server is not None, "server not started"
        sockets = list(self._server.sockets)
        return int(sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        """The base URL given to the client as RT_SERVER_URL."""
        return f"ws://127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> None:
        """Bind 127.0.0.1 (on a free port unless ``port`` is given) and start accepting."""
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            port,
            process_request=self._process_request,
            compression="deflate" if self._accept_deflate else None,
            max_size=MAX_INBOUND,
            ping_interval=None,
            close_timeout=2.0,
            server_header="rt-conformance-scripted-peer",
        )

    async def stop(self, timeout: float = 3.0) -> None:
        """Stop accepting, end open connections and wait (bounded) for the scripts."""
        if self._server is None:
            return
        self._server.close(close_connections=False)
        if self._handlers:
            await asyncio.wait(self._handlers, timeout=timeout)
        self._server.close(close_connections=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), timeout)

    def _process_request(self, ws: ServerConnection, request: Request) -> Response | None:
        record = Connection(Handshake(request.path, list(request.headers.raw_items())))
        self._recording.connections.append(record)
        self._records[id(ws)] = record
        if self._refuse_status is not None:
            record.refused_status = self._refuse_status
            phrase = HTTPStatus(self._refuse_status).phrase
            return ws.respond(HTTPStatus(self._refuse_status), f"{phrase}\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        record = self._records[id(ws)]
        record.accepted = True
        response = ws.response
        if response is not None:
            record.deflate_negotiated = "permessage-deflate" in ",".join(
                response.headers.get_all("Sec-WebSocket-Extensions")
            )
        try:
            await self._script(Peer(ws, record, self._input_wait))
        finally:
            if ws.close_code is None and not ws.transport.is_closing():
                with contextlib.suppress(ConnectionClosed):
                    await ws.close(1000)
            close = ws.protocol.close_rcvd
            record.client_sent_close = close is not None
            record.client_close_code = close.code if close is not None else None
            self._handlers.discard(task)
            if self._on_finish is not None:
                self._on_finish(record)
