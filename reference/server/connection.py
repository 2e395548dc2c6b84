"""One TCP connection of the reference server (spec chapters 02-transport, 06-lifecycle, 10-http).

An asyncio protocol: HTTP/1.1 parsed by httptools until a WebSocket upgrade, then frames
parsed and produced by `websockets`' sans-I/O `ServerProtocol` (compression off: no extension
is offered back; max message size 16 MiB, closing with 1009 above it). Routing and auth run
before the upgrade, so an unknown path gets 404 and a missing or wrong credential 401/403
with no 101 ever sent.

The hot path (frames split and decoded inline) lives in `framing.py`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING, cast

import httptools
from websockets.datastructures import Headers
from websockets.http11 import Request as WsRequest
from websockets.protocol import State as WsState
from websockets.server import ServerProtocol

from reference.core.frames import CloseCode
from reference.server.framing import MAX_MESSAGE, FrameHandler, FrameReader
from reference.server.http import Request, parse_max_buffering, response

if TYPE_CHECKING:
    from reference.server.serve import ServerState

log = logging.getLogger("reference.server")

CLOSE_TIMEOUT = 5.0
HOLD_WRITES = 1  # the transport's write buffer is over its high-water mark
HOLD_QUEUE = 2  # a session has too many inputs waiting


class Connection(FrameReader, asyncio.Protocol):
    """HTTP until upgrade, then WebSocket frames through `websockets`' sans-I/O protocol."""

    def __init__(self, server: ServerState) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.ws: ServerProtocol | None = None
        self.handler: FrameHandler | None = None
        self._request: Request | None = None
        self._body: list[bytes] = []
        self._pending: deque[Request] = deque()
        self._http_busy = False
        self._fragments: list[bytes] | None = None
        self._fragment_text = False
        self._paused = False
        self._drain: asyncio.Future[None] | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self.closed = False
        self._holds = 0  # reasons reading is paused (HOLD_* bits)
        self._fast = True  # split frames ourselves (see the module docstring)
        self._rbuf = bytearray()
        self._need = 0  # bytes the frame at the head of _rbuf needs before it is complete

    # -- asyncio protocol -----------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses; they behave as one.
        self.transport = cast(asyncio.Transport, transport)
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server.connections.discard(self)
        if self._close_timer is not None:
            self._close_timer.cancel()
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        handler, self.handler = self.handler, None
        if handler is not None:
            handler.on_close()

    def pause_writing(self) -> None:
        # Outputs cannot leave: stop reading inputs too, so TCP flow control slows the
        # client down instead of the server buffering without bound (RT-FLOW-021).
        self._paused = True
        self.hold_reading(HOLD_WRITES)

    def resume_writing(self) -> None:
        self._paused = False
        self.release_reading(HOLD_WRITES)
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def hold_reading(self, reason: int) -> None:
        """Stop reading for `reason` (a bit); reading resumes when every reason is released."""
        if not self._holds and self.transport is not None and not self.closed:
            self.transport.pause_reading()
        self._holds |= reason

    def release_reading(self, reason: int) -> None:
        if not self._holds & reason:
            return
        self._holds &= ~reason
        if not self._holds and self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    async def drain(self) -> None:
        """Wait until the transport's buffer drains (order kept under backpressure)."""
        if self._paused and not self.closed:
            self._drain = asyncio.get_running_loop().create_future()
            await self._drain

    @property
    def write_paused(self) -> bool:
        return self._paused

    def eof_received(self) -> bool | None:
        ws = self.ws
        if ws is not None:
            ws.receive_eof()
            self._process_frames(ws)
        return None

    def data_received(self, data: bytes) -> None:
        ws = self.ws
        if ws is not None:
            if self._fast:
                self._receive_fast(ws, data)
            else:
                ws.receive_data(data)
                self._process_frames(ws)
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self._upgrade(data[exc.args[0] :])
        except httptools.HttpParserError:
            self._write_close(response(400, {"detail": "malformed HTTP request"}, keep_alive=False))

    # -- httptools callbacks ----------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._request = Request("", "")
        self._body = []

    def on_url(self, url: bytes) -> None:
        assert self._request is not None
        self._request.target += url.decode("latin-1")

    def on_header(self, name: bytes, value: bytes) -> None:
        assert self._request is not None
        self._request.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)
        if sum(map(len, self._body)) > MAX_MESSAGE:
            self._write_close(
                response(413, {"detail": "request body over 16 MiB"}, keep_alive=False)
            )

    def on_message_complete(self) -> None:
        request = self._request
        if request is None or self.parser.should_upgrade():
            return  # the upgrade is handled when the parser stops with HttpParserUpgrade
        request.method = self.parser.get_method().decode("latin-1")
        request.body = b"".join(self._body)
        self._pending.append(request)
        if not self._http_busy:
            self._http_busy = True
            asyncio.get_running_loop().create_task(self._serve_http())

    # -- HTTP -----------------------------------------------------------------------------
    async def _serve_http(self) -> None:
        """Answer pipelined requests one by one, in order."""
        from reference.server.httpapp import handle_http

        try:
            while self._pending and not self.closed:
                request = self._pending.popleft()
                keep_alive = self.parser.should_keep_alive()
                data = await handle_http(self.server, request, keep_alive)
                if self.transport is not None and not self.closed:
                    self.transport.write(data)
                    if not keep_alive:
                        self.transport.close()
        finally:
            self._http_busy = False

    def _write_close(self, data: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.write(data)
            self.transport.close()
            self.closed = True

    # -- upgrade --------------------------------------------------------------------------
    def _upgrade(self, rest: bytes) -> None:
        request = self._request
        if request is None:
            return
        request.method = "GET"
        server = self.server
        refused = server.auth.check(request)  # RT-AUTH-010/011, RT-RAW-001: before any 101
        if refused is not None:
            detail = "credentials required" if refused == 401 else "credentials not accepted"
            self._write_close(response(refused, {"detail": detail}, keep_alive=False))
            return
        route = server.router.resolve(request.path, websocket=True)  # RT-TRANS-002/003/004
        if route is None or server.stopping:
            status = 503 if server.stopping else 404
            self._write_close(
                response(status, {"detail": f"Path {request.path} not found"}, keep_alive=False)
            )
            return
        # No extensions offered back: compression off (RT-TRANS-030/031).
        handshake = ServerProtocol(max_size=MAX_MESSAGE)
        reply = handshake.accept(WsRequest(request.target, Headers(request.headers)))
        if reply.status_code != 101:
            self._write_close(reply.serialize())
            return
        self.ws = ServerProtocol(state=WsState.OPEN, max_size=MAX_MESSAGE)
        if route.kind == "realtime":
            from reference.server.realtime import RealtimeDriver

            assert self.transport is not None
            self.transport.write(reply.serialize())
            self.handler = RealtimeDriver(self, route, parse_max_buffering(request.query))
        else:
            from reference.server.raw import RawDriver

            self.handler = RawDriver(self, route, request, reply.serialize())
        if rest:
            self.data_received(rest)

    # -- WebSocket frames -----------------------------------------------------------------
    def flush(self) -> None:
        """Write what the sans-I/O protocol produced; an empty chunk means end of stream."""
        ws = self.ws
        transport = self.transport
        if ws is None or transport is None:
            return
        for chunk in ws.data_to_send():
            if chunk:
                if not self.closed:
                    transport.write(chunk)
            elif not self.closed:
                # End of our side: half-close and keep reading (discarded) until the peer
                # closes, so a peer still sending does not get a reset that eats our close
                # frame (seen with the 1009 close of an oversized message).
                self.closed = True
                if transport.can_write_eof():
                    transport.write_eof()
                else:
                    transport.close()
                if self._close_timer is None:
                    loop = asyncio.get_running_loop()
                    self._close_timer = loop.call_later(CLOSE_TIMEOUT, self._abort)

    def send_binary(self, data: bytes) -> None:
        """Send one binary message as a single unmasked frame (RFC 6455 section 5.2)."""
        ws = self.ws
        if ws is not None and ws.state is WsState.OPEN and not self.closed:
            self._send_frame(0x82, data)

    def send_text(self, text: str) -> None:
        ws = self.ws
        if ws is not None and ws.state is WsState.OPEN and not self.closed:
            self._send_frame(0x81, text.encode())

    def _send_frame(self, first: int, data: bytes) -> None:
        transport = self.transport
        assert transport is not None
        size = len(data)
        if size < 126:
            transport.write(bytes((first, size)) + data)
        elif size < 65536:
            transport.write(bytes((first, 126)) + size.to_bytes(2, "big") + data)
        else:
            transport.write(bytes((first, 127)) + size.to_bytes(8, "big"))
            transport.write(data)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake; drop the TCP connection if the peer never answers."""
        ws = self.ws
        if ws is None:
            if self.transport is not None and not self.closed:
                self.transport.close()
            return
        if ws.state is WsState.OPEN:
            ws.send_close(code, reason)
            self.flush()
        if self._close_timer is None and not self.closed:
            loop = asyncio.get_running_loop()
            self._close_timer = loop.call_later(CLOSE_TIMEOUT, self._abort)

    def _abort(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()

    def shutdown(self) -> None:
        """Server stopping: close sessions with 1001, idle HTTP connections at once."""
        if self.ws is not None:
            self.close(CloseCode.GOING_AWAY, "server shutdown")
        elif not self._http_busy and self.transport is not None:
            self.transport.close()


def describe(exc: BaseException) -> str:
    """A short reason for an error frame: the message, else the exception's class name."""
    text = str(exc)
    return text if text else type(exc).__name__
