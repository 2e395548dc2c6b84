"""One TCP connection of the reference server (spec chapters 02-transport, 06-lifecycle, 10-http).

An asyncio protocol: HTTP/1.1 parsed by httptools until a WebSocket upgrade; routing and auth
run before the upgrade, so an unknown path gets 404 and a missing or wrong credential 401/403
with no 101 ever sent. The handshake itself is `websockets`' sans-I/O `ServerProtocol.accept`
(no extension offered back: compression off, RT-TRANS-030/031). After the 101 every byte goes
to the session's driver, which feeds the sans-I/O core and writes back through `write`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import cast

import httptools
from websockets.datastructures import Headers
from websockets.http11 import Request as WsRequest
from websockets.server import ServerProtocol

from reference.app import message_codec, to_output
from reference.core.extensions import negotiate
from reference.core.wsframes import MAX_MESSAGE
from reference.server.channel import HOLD_WRITES, Driver
from reference.server.http import Request, Route, parse_max_buffering, response
from reference.server.httpapp import handle_http
from reference.server.raw import RawDriver
from reference.server.realtime import RealtimeDriver
from reference.server.state import ServerState

log = logging.getLogger("reference.server")

#: How long our side waits for the peer's close frame (or TCP end) before dropping TCP.
CLOSE_TIMEOUT = 5.0


class Connection(asyncio.Protocol):
    """HTTP until the upgrade, then bytes to and from one session driver."""

    def __init__(self, server: ServerState) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.driver: Driver | None = None
        self._request: Request | None = None
        self._body: list[bytes] = []
        self._pending: deque[Request] = deque()
        self._http_busy = False
        self._paused = False
        self._drain: asyncio.Future[None] | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._holds = 0  # reasons reading is paused (HOLD_* bits)

    # -- asyncio protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses; they behave as one.
        self.transport = cast(asyncio.Transport, transport)
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self.server.connections.discard(self)
        if self._close_timer is not None:
            self._close_timer.cancel()
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        driver, self.driver = self.driver, None
        if driver is not None:
            driver.connection_lost()

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

    def data_received(self, data: bytes) -> None:
        if self.driver is not None:
            self.driver.data_received(data)
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self._upgrade(data[exc.args[0] :])
        except httptools.HttpParserError:
            self.refuse(response(400, {"detail": "malformed HTTP request"}, keep_alive=False))

    def eof_received(self) -> bool | None:
        if self.driver is not None:
            self.driver.eof_received()
        return None

    # -- the channel a driver writes to (server/channel.py) ------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def write_paused(self) -> bool:
        return self._paused

    def write(self, chunks: list[bytes]) -> None:
        transport = self.transport
        if transport is None:
            return
        for chunk in chunks:
            if self._closed:
                return
            if chunk:
                transport.write(chunk)
                continue
            # End of our side: half-close and keep reading (discarded) until the peer
            # closes, so a peer still sending does not get a reset that eats our close
            # frame (seen with the 1009 close of an oversized message).
            self._closed = True
            if transport.can_write_eof():
                transport.write_eof()
            else:
                transport.close()
            self.expect_close()

    def expect_close(self) -> None:
        if self._close_timer is None and self.transport is not None:
            loop = asyncio.get_running_loop()
            self._close_timer = loop.call_later(CLOSE_TIMEOUT, self.abort)

    async def drain(self) -> None:
        """Wait until the transport's buffer drains (order kept under backpressure)."""
        if self._paused and not self._closed:
            self._drain = asyncio.get_running_loop().create_future()
            await self._drain

    def hold_reading(self, reason: int) -> None:
        if not self._holds and self.transport is not None and not self._closed:
            self.transport.pause_reading()
        self._holds |= reason

    def release_reading(self, reason: int) -> None:
        if not self._holds & reason:
            return
        self._holds &= ~reason
        if not self._holds and self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def refuse(self, response: bytes) -> None:
        if self.transport is not None and not self._closed:
            self.transport.write(response)
            self.transport.close()
            self._closed = True

    # -- httptools callbacks ------------------------------------------------------------
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
            self.refuse(response(413, {"detail": "request body over 16 MiB"}, keep_alive=False))

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

    # -- HTTP ---------------------------------------------------------------------------
    async def _serve_http(self) -> None:
        """Answer pipelined requests one by one, in order."""
        try:
            while self._pending and not self._closed:
                request = self._pending.popleft()
                keep_alive = self.parser.should_keep_alive()
                data = await handle_http(self.server, request, keep_alive)
                if self.transport is not None and not self._closed:
                    self.transport.write(data)
                    if not keep_alive:
                        self.transport.close()
        finally:
            self._http_busy = False

    # -- upgrade ------------------------------------------------------------------------
    def _upgrade(self, rest: bytes) -> None:
        request = self._request
        if request is None:
            return
        request.method = "GET"
        server = self.server
        refused = server.auth.check(request)  # RT-AUTH-010/011, RT-RAW-001: before any 101
        if refused is not None:
            detail = "credentials required" if refused == 401 else "credentials not accepted"
            self.refuse(response(refused, {"detail": detail}, keep_alive=False))
            return
        route = server.router.resolve(request.path, websocket=True)  # RT-TRANS-002/003/004
        if route is None or server.stopping:
            status = 503 if server.stopping else 404
            self.refuse(
                response(status, {"detail": f"Path {request.path} not found"}, keep_alive=False)
            )
            return
        reply = ServerProtocol(max_size=MAX_MESSAGE).accept(
            WsRequest(request.target, Headers(request.headers))
        )
        if reply.status_code != 101:
            self.refuse(reply.serialize())
            return
        self.driver = self._driver(route, request, reply.serialize())
        if rest:
            self.driver.data_received(rest)

    def _driver(self, route: Route, request: Request, reply: bytes) -> Driver:
        """The session driver for `route`; a realtime session opens with the 101 written."""
        if route.kind != "realtime":
            return RawDriver(self, route.handler, route.path, request, reply)
        assert route.config is not None
        query = request.query
        config = route.config.with_max_buffering(parse_max_buffering(query))
        # Spec 15.1: `rt_ext` opts in; without it the session is byte for byte 1.0's.
        config = config.with_extensions(negotiate(query, self.server.heartbeat_interval))
        # The one codec call site: fal's encode_message/decode_message, or the msgpack profile.
        codec = message_codec(route.handler)
        encode = codec.encode
        driver = RealtimeDriver(
            self,
            config,
            handler=route.handler,
            is_async=route.is_async,
            validate=route.validate,
            encode_output=lambda value: encode(to_output(value)),
            decode_input=codec.decode,
            path=route.path,
        )
        self.write([reply])
        driver.start()
        return driver

    def abort(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()

    def shutdown(self) -> None:
        """Server stopping: close sessions with 1001, idle HTTP connections at once."""
        if self.driver is not None:
            self.driver.shutdown()
        elif not self._http_busy and self.transport is not None:
            self.transport.close()
