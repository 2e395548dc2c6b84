"""Serving one realtime session (spec chapters 04-messages, 07-flow-control, 08-streaming).

The `RealtimeDriver` feeds received messages to the sans-I/O `Session` and runs one worker
task that takes work in order, calls the app's handler and writes outputs. One writer per
connection keeps outputs and error frames in input order, also under backpressure (the
worker waits for the transport to drain before the next output) and in streaming modes.

Robust behaviour (profile "robust"): a bad input gets INVALID_INPUT and the session goes on;
a handler failure on one unary input gets INTERNAL_ERROR for that input and the session goes
on; a client leaving mid-reply cancels the worker silently.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from reference.app import message_codec, to_output
from reference.core.frames import TIMEOUT_REASON, CloseCode, ErrorCode, error_frame
from reference.core.session import Mode, Rejected, Session, State
from reference.server.connection import HOLD_QUEUE, describe

if TYPE_CHECKING:
    from collections.abc import Coroutine, Generator

    from reference.server.connection import Connection
    from reference.server.http import Route

log = logging.getLogger("reference.server")

#: Inputs waiting in one session before the server stops reading (RT-FLOW-021).
MAX_PENDING = 256
#: How long a finished server stream waits for inputs already in flight, so each gets its
#: INVALID_INPUT before the end (RT-STREAM-003) instead of vanishing.
STREAM_LINGER = 0.02

ENDED_BEFORE_SERVED = "the session ended before this input was served; send it on a new connection"


class RealtimeDriver:
    """Connects a `Session` to a connection and an app handler."""

    def __init__(self, conn: Connection, route: Route, max_buffering: int | None) -> None:
        assert route.config is not None
        self.conn = conn
        self.route = route
        self.loop = asyncio.get_running_loop()
        config = route.config.with_max_buffering(max_buffering)
        # The one codec call site: fal's encode_message/decode_message, or the msgpack profile.
        codec = message_codec(route.handler)
        self.session = Session(config, route.validate, self.loop.time(), codec.decode)
        self.encode = codec.encode
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._handoff: _Resume | None = None
        self._eager = config.mode is Mode.UNARY and route.is_async
        deadline = self.session.deadline()
        if deadline is not None:
            self._timer = self.loop.call_at(deadline, self._on_timer)
        self.task = self.loop.create_task(self._run())

    # -- from the connection ----------------------------------------------------------------
    def on_message(self, data: bytes | str) -> None:
        session = self.session
        if type(data) is bytes:
            session.receive_binary(data, self.loop.time())
        else:
            session.receive_text(str(data), self.loop.time())
        if session.pending >= MAX_PENDING:
            self.conn.hold_reading(HOLD_QUEUE)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            if self._eager and self._handoff is None and not self.conn.write_paused:
                self._run_eagerly()
            else:
                waiter.set_result(None)

    def _run_eagerly(self) -> None:
        """Serve the input inside `data_received` while the worker is idle.

        Order is kept: the worker is waiting with an empty queue, so this input is next. An
        async handler that returns without suspending costs no task switch; one that
        suspends is handed to the worker, which resumes the same coroutine.
        """
        work = self.session.next_work()
        if work is None:
            return
        if isinstance(work, Rejected):
            self._error(ErrorCode.INVALID_INPUT, work.reason)
            return
        coro = self.route.handler(*work)
        try:
            yielded = coro.send(None)
        except StopIteration as stop:
            self._deliver(stop.value)
            return
        except Exception as exc:
            self._handler_failed(exc)
            return
        self._handoff = _Resume(coro, yielded)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _deliver(self, value: Any) -> None:
        try:
            data = self.encode(to_output(value))
        except Exception as exc:
            self._handler_failed(exc)
            return
        self.conn.send_binary(data)

    def _handler_failed(self, exc: BaseException) -> None:
        # RT-CTRL-015, RT-CTRL-016: report this input's failure; the session goes on.
        log.error("realtime handler failed on %s", self.route.path, exc_info=exc)
        self._error(ErrorCode.INTERNAL_ERROR, describe(exc))

    def on_close(self) -> None:
        """The client closed or left: discard pending work, log nothing (RT-LIFE-025)."""
        self.session.peer_closed()
        if self._timer is not None:
            self._timer.cancel()
        self.task.cancel()

    def _on_timer(self) -> None:
        # Lazy timer: re-armed only when it fires, not on every message.
        deadline = self.session.check_timeout(self.loop.time())
        if deadline is not None:
            self._timer = self.loop.call_at(deadline, self._on_timer)
            return
        self._timer = None
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- the worker --------------------------------------------------------------------------
    async def _wait(self) -> None:
        self._waiter = self.loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def _error(self, code: str, reason: str) -> None:
        self.conn.send_text(error_frame(code, reason))

    async def _send(self, value: Any) -> None:
        self.conn.send_binary(self.encode(to_output(value)))
        if self.conn.write_paused:
            await self.conn.drain()

    async def _call(self, args: list[Any]) -> Any:
        handler = self.route.handler
        if self.route.is_async:
            return await handler(*args)
        return await self.loop.run_in_executor(None, functools.partial(handler, *args))

    async def _run(self) -> None:
        mode = self.session.config.mode
        try:
            if mode is Mode.UNARY:
                await self._unary()
            elif mode is Mode.SERVER_STREAMING:
                await self._server_streaming()
            else:
                await self._input_streaming(bidi=mode is Mode.BIDI)
        except asyncio.CancelledError:
            return  # the client left or the server is stopping
        except Exception as exc:  # RT-STREAM-007: a streaming handler failed: report, close 1000
            log.exception("realtime handler failed on %s", self.route.path)
            self._error(ErrorCode.INTERNAL_ERROR, describe(exc))
            self._finish(send_timeout=False)
            return
        self._finish(send_timeout=True)

    def _finish(self, *, send_timeout: bool) -> None:
        """Report queued rejections, then TIMEOUT and close 1000 (RT-CTRL-017, RT-LIFE-020)."""
        session = self.session
        if session.state is State.CLOSED:
            return
        while True:
            work = session.next_work()
            if work is None:
                break
            reason = work.reason if isinstance(work, Rejected) else ENDED_BEFORE_SERVED
            for _ in work if type(work) is list else (work,):
                self._error(ErrorCode.INVALID_INPUT, reason)
        if send_timeout:
            self._error(ErrorCode.TIMEOUT, TIMEOUT_REASON)
        session.end()
        if self._timer is not None:
            self._timer.cancel()
        self.conn.close(CloseCode.NORMAL)

    async def _unary(self) -> None:
        session = self.session
        conn = self.conn
        encode = self.encode
        while True:
            handoff = self._handoff
            if handoff is not None:  # an eagerly started handler that suspended
                try:
                    data = encode(to_output(await handoff))
                except Exception as exc:
                    self._handler_failed(exc)
                    continue
                finally:
                    self._handoff = None
                conn.send_binary(data)
                if conn.write_paused:
                    await conn.drain()
                continue
            work = session.next_work()
            if work is None:
                if session.finished:
                    return
                await self._wait()
                continue
            if session.pending < MAX_PENDING // 2:
                conn.release_reading(HOLD_QUEUE)
            if isinstance(work, Rejected):
                self._error(ErrorCode.INVALID_INPUT, work.reason)
                continue
            try:
                data = encode(to_output(await self._call(work)))
            except Exception as exc:
                self._handler_failed(exc)
                continue
            conn.send_binary(data)
            if conn.write_paused:
                await conn.drain()

    async def _next_input(self) -> list[Any] | None:
        """The next accepted input; rejections on the way are reported in order."""
        session = self.session
        while True:
            work = session.next_work()
            if session.pending < MAX_PENDING // 2:
                self.conn.release_reading(HOLD_QUEUE)
            if work is None:
                if session.state is not State.OPEN:
                    return None
                await self._wait()
            elif isinstance(work, Rejected):
                self._error(ErrorCode.INVALID_INPUT, work.reason)
            else:
                return work

    async def _server_streaming(self) -> None:
        first = await self._next_input()
        if first is None:
            return  # idle timeout before any input
        result = self.route.handler(first[0])
        if inspect.isawaitable(result):
            result = await result
        if hasattr(result, "__aiter__"):
            async for item in result:
                await self._send(item)
        else:
            iterator = iter(result)
            done = object()
            while True:
                item = await self.loop.run_in_executor(None, next, iterator, done)
                if item is done:
                    break
                await self._send(item)
        await self._linger()
        self.session.close_input()

    async def _linger(self) -> None:
        """Give inputs already on the wire a moment to arrive (bounded by STREAM_LINGER)."""
        deadline = self.loop.time() + STREAM_LINGER
        while self.loop.time() < deadline:
            self._waiter = self.loop.create_future()
            handle = self.loop.call_at(deadline, self._waiter.set_result, None)
            try:
                await self._waiter
            finally:
                handle.cancel()
                self._waiter = None

    async def _inputs(self) -> AsyncIterator[Any]:
        while True:
            work = await self._next_input()
            if work is None:
                return
            for item in work:
                yield item

    async def _input_streaming(self, *, bidi: bool) -> None:
        result = self.route.handler(self._inputs())
        if bidi:
            if inspect.isawaitable(result):
                result = await result
            async for item in result:
                await self._send(item)
        else:
            await self._send(await result)
        self.session.close_input()


class _Resume:
    """Awaitable that continues a coroutine already started by `coro.send(None)`.

    The first value it yields is the one the coroutine yielded (a future), so the task that
    awaits this object waits on it exactly as if it had started the coroutine itself.
    """

    __slots__ = ("_coro", "_first")

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self._coro = coro
        self._first = first

    def __await__(self) -> Generator[Any, Any, Any]:
        coro = self._coro
        value = self._first
        while True:
            try:
                sent = yield value
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:
                try:
                    value = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    value = coro.send(sent)
                except StopIteration as stop:
                    return stop.value
