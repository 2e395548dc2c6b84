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

from reference.server.channel import HOLD_WRITES, Driver
from reference.server.drivers import make_driver
from reference.server.fairness import FEED_PIECE, FairFeed
from reference.server.http import Request, Route, response
from reference.server.httpapp import handle_http
from reference.server.limits import ServerLimits
from reference.server.state import ServerState

log = logging.getLogger("reference.server")

#: How long our side waits for the peer's close frame (or TCP end) before dropping TCP.
CLOSE_TIMEOUT = 5.0


class _Detached:
    """A callback-less target for the parser of a closed connection (finding 3 of issue 12)."""


class Connection(asyncio.Protocol):
    """HTTP until the upgrade, then bytes to and from one session driver."""

    def __init__(self, server: ServerState) -> None:
        self.server = server
        self.limits: ServerLimits = server.limits
        self.transport: asyncio.Transport | None = None
        # The parser holds bound methods of `self`: a cycle, broken in `connection_lost` so
        # a closed connection (and a partial 16 MiB frame) is freed at once, not by the GC.
        self.parser = httptools.HttpRequestParser(self)
        self.driver: Driver | None = None
        self._request: Request | None = None
        self._body: list[bytes] = []
        self._body_size = 0  # running total: the 413 check is O(1) per chunk (RT-SEC-016)
        self._head_size = 0  # request line + headers so far (RT-SEC-014/015)
        self._head_fed = 0  # bytes fed while a head is incomplete, counted as they arrive
        self._in_head = False
        self._timer: asyncio.TimerHandle | None = None  # handshake or idle timeout
        self._upgrade_waiting: bytearray | None = None  # an upgrade behind HTTP responses
        self._pending: deque[Request] = deque()
        self._http_busy = False
        self._paused = False
        self._drain: asyncio.Future[None] | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._holds = 0  # reasons reading is paused (HOLD_* bits)
        self.fair = FairFeed(
            self._data_received,
            self.hold_reading,
            self.release_reading,
            lambda: self.driver is not None,
        )

    # -- asyncio protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses; they behave as one.
        self.transport = cast(asyncio.Transport, transport)
        server = self.server
        server.connections.add(self)
        if len(server.connections) > server.max_connections:  # RT-SEC-019, RT-SEC-008
            self.refuse(response(503, {"detail": "too many connections"}, keep_alive=False))
            return
        self._arm(self.limits.handshake_timeout)  # RT-SEC-017

    def _arm(self, delay: float) -> None:
        """(Re)start the one pre-session timer: handshake (RT-SEC-017) or idle (RT-SEC-018)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(delay, self._timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _timed_out(self) -> None:
        self._timer = None
        if self.driver is None and self.transport is not None and not self._http_busy:
            self._closed = True
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self.server.connections.discard(self)
        self._disarm()
        self.parser = httptools.HttpRequestParser(_Detached())  # break the cycle (finding 3)
        self._body = []
        self._upgrade_waiting = None
        self.fair.close()
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
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
        self.fair.data_received(data)  # RT-SEC-001: pieces, and a pause when costly

    def _data_received(self, data: bytes) -> None:
        if self.driver is not None:
            self.driver.data_received(data)
            return
        if self._upgrade_waiting is not None:  # bytes after an upgrade not yet done
            self._upgrade_waiting += data
            return
        if self._closed:
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self._upgrade_when_answered(data[exc.args[0] :])
        except httptools.HttpParserError:
            if not self._closed:
                self.refuse(response(400, {"detail": "malformed HTTP request"}, keep_alive=False))
        else:
            self._count_head(len(data))

    def _count_head(self, size: int) -> None:
        """RT-SEC-014 while a field is still arriving: httptools reports a header only once
        it ends, and copies its growing value on every piece, so an endless value is counted
        here (plus one piece of slack: the piece that began this head may end an earlier
        request) and refused with 431 as soon as it passes the bound."""
        if not self._in_head or self._closed:
            return
        self._head_fed += size
        if self._head_fed > self.limits.max_head_bytes + FEED_PIECE:
            self._refuse_status(431, "request header fields too large")

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
        if transport.is_closing() and not self._closed:
            # The peer is gone (reset) but connection_lost has not run yet: stop writing, or
            # asyncio logs one warning per output (RT-LIFE-025); one INFO line per session.
            self._closed = True
            log.info("client left; dropping the rest of the session's output")
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

    def _refuse_status(self, status: int, detail: str) -> None:
        self.refuse(response(status, {"detail": detail}, keep_alive=False))

    # -- httptools callbacks ------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._request = Request("", "")
        self._body = []
        self._body_size = 0
        self._head_size = 0
        self._head_fed = 0
        self._in_head = True
        if not self._http_busy:
            self._arm(self.limits.handshake_timeout)  # a new head must come whole in time

    def on_url(self, url: bytes) -> None:
        request = self._request
        if request is None or self._closed:
            return
        request.target += url.decode("latin-1")
        self._head_size += len(url)
        if len(request.target) > self.limits.max_target_bytes:  # RT-SEC-015
            self._refuse_status(414, "request target too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        request = self._request
        if request is None or self._closed:
            return
        request.headers.append((name.decode("latin-1"), value.decode("latin-1")))
        self._head_size += len(name) + len(value) + 4
        if self._head_size > self.limits.max_head_bytes:  # RT-SEC-014
            self._refuse_status(431, "request header fields too large")

    def on_headers_complete(self) -> None:
        """The head is in: refuse a body too large or a credential missing before reading it."""
        self._in_head = False
        request = self._request
        if request is None or self._closed or self.parser.should_upgrade():
            return
        if not self._http_busy:
            self._disarm()
        length = request.header("content-length")
        too_big = length is not None and length.strip().isdigit()
        if too_big and int(str(length)) > self.limits.max_body_bytes:  # RT-SEC-016: at once
            self._refuse_status(413, "request body too large")
            return
        method = self.parser.get_method().decode("latin-1")
        route = self.server.router.resolve(request.path, websocket=False)
        if route is not None and method == "POST":
            refused = self.server.auth.check(request)  # RT-SEC-001: auth before any body
            if refused is not None:
                self._refuse_status(refused, "credentials required or not accepted")

    def on_body(self, body: bytes) -> None:
        if self._closed:
            return
        self._body.append(body)
        self._body_size += len(body)
        if self._body_size > self.limits.max_body_bytes:  # RT-SEC-016
            self._body = []
            self._refuse_status(413, "request body too large")

    def on_message_complete(self) -> None:
        request = self._request
        if request is None or self._closed or self.parser.should_upgrade():
            return  # the upgrade is handled when the parser stops with HttpParserUpgrade
        request.method = self.parser.get_method().decode("latin-1")
        request.body = b"".join(self._body)
        request.keep_alive = self.parser.should_keep_alive()
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
                keep_alive = request.keep_alive
                data = await handle_http(self.server, request, keep_alive)
                if self.transport is not None and not self._closed:
                    self.transport.write(data)
                    if not keep_alive:
                        self._closed = True
                        self.transport.close()
        finally:
            self._http_busy = False
        if self._closed:
            return
        waiting, self._upgrade_waiting = self._upgrade_waiting, None
        if waiting is not None:
            self._upgrade(bytes(waiting))  # pipelined: the 101 after earlier responses
        elif self.driver is None:
            self._arm(self.limits.idle_timeout)  # RT-SEC-018: keep-alive, no session

    # -- upgrade ------------------------------------------------------------------------
    def _upgrade_when_answered(self, rest: bytes) -> None:
        """Upgrade now, or once the HTTP responses before it are written (in order)."""
        if self._http_busy or self._pending:
            self._upgrade_waiting = bytearray(rest)
            return
        self._upgrade(rest)

    def _upgrade(self, rest: bytes) -> None:
        request = self._request
        if request is None or self._closed:
            return
        self._disarm()
        parser = self.parser
        if parser.get_method() != b"GET":  # RFC 6455 4.1: an upgrade is a GET
            self._refuse_status(405, "a WebSocket upgrade must be a GET request")
            return
        if parser.get_http_version() != "1.1":  # RFC 6455 4.1: HTTP/1.1 at least
            self._refuse_status(505, "a WebSocket upgrade needs HTTP/1.1")
            return
        request.method = "GET"
        server = self.server
        # The path first, then the credential (RT-AUTH-015): an unknown path gets 404 with or
        # without a credential; both come before any 101 (RT-AUTH-010/011, RT-RAW-001).
        route = server.router.resolve(request.path, websocket=True)  # RT-TRANS-002/003/004
        if route is None or server.stopping:
            status = 503 if server.stopping else 404
            self.refuse(
                response(status, {"detail": f"Path {request.path} not found"}, keep_alive=False)
            )
            return
        refused = server.auth.check(request)
        if refused is not None:
            detail = "credentials required" if refused == 401 else "credentials not accepted"
            self.refuse(response(refused, {"detail": detail}, keep_alive=False))
            return
        reply = ServerProtocol(max_size=self.limits.max_message).accept(
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
        return make_driver(self, self.limits, route, request, reply, self.server.heartbeat_interval)

    def abort(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()

    def shutdown(self) -> None:
        """Server stopping: close sessions with 1001, idle HTTP connections at once."""
        if self.driver is not None:
            self.driver.shutdown()
        elif not self._http_busy and self.transport is not None:
            self.transport.close()
