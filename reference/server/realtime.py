"""Serving one realtime session over asyncio (spec chapters 04-messages, 07, 08).

Thin: the `RealtimeDriver` feeds bytes and times to the sans-I/O `Session`, runs one worker
task that awaits the app's handler on each unit of work the session hands out, and writes
whatever the session produced through one output path (`_flush`). One worker per connection
keeps outputs and error frames in input order, also under backpressure (it waits for the
transport to drain before taking the next unit of work). A client leaving cancels the worker
silently (RT-LIFE-025).

The unary hot path skips the task switch per input: while the worker is parked with nothing in
flight, `data_received` runs an async handler's first step itself, as the worker task (as 3.12's
eager tasks do). A handler that returns without suspending is answered in the same callback; one
that suspends is handed to the worker, which finishes it before it takes the next input, so
outputs keep input order and still leave through `_flush` only.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import types
from collections.abc import AsyncIterator, Callable, Coroutine, Generator
from typing import Any

from reference.core.session import (
    Limits,
    Mode,
    Session,
    SessionConfig,
    State,
    Validator,
)
from reference.server.channel import HOLD_QUEUE, Channel
from reference.server.failures import log_handler_failure


class RealtimeDriver:
    """Connects a `Session` to a channel and an app handler."""

    def __init__(
        self,
        channel: Channel,
        config: SessionConfig,
        *,
        handler: Callable[..., Any],
        is_async: bool,
        validate: Validator | None,
        encode_output: Callable[[Any], bytes],
        decode_input: Callable[[bytes], Any],
        path: str,
        limits: Limits | None = None,
    ) -> None:
        self.channel = channel
        self.handler = handler
        self.is_async = is_async
        self.path = path
        self.loop = asyncio.get_running_loop()
        self.session = Session(
            config, validate, encode_output, limits=limits, decode_input=decode_input
        )
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self.task: asyncio.Task[None] | None = None
        self._context = contextvars.copy_context()
        # Unary async handlers may be stepped inline (see the module docstring).
        self._inline = config.mode is Mode.UNARY and is_async
        self._suspended: Coroutine[Any, Any, Any] | None = None  # a handler started inline

    def start(self) -> None:
        """The 101 was written: open the session and start the worker."""
        self.session.accept(self.loop.time())
        self._arm_timer()
        # The worker's own context, so the inline steps run in it too (contextvars a handler
        # sets before its first await are still set after it).
        self._context = contextvars.copy_context()
        self.task = self.loop.create_task(self._run(), context=self._context)

    # -- from the connection ------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        session = self.session
        session.receive_data(data, self.loop.time())
        if session.reading_held:
            self.channel.hold_reading(HOLD_QUEUE)
        state = session.state
        if state is State.OPEN and self._inline and self._waiter is not None and self.task:
            self._serve_inline(self.task)  # flushes pongs and rejections, in order, with outputs
            return
        self._flush()
        if state is State.CLOSING or state is State.CLOSED:
            self._stop()
        else:
            self._wake()

    def eof_received(self) -> None:
        self.session.receive_eof()
        self._flush()
        self._stop()

    def connection_lost(self) -> None:
        """The client closed or left: discard pending work, log nothing (RT-LIFE-025)."""
        self.session.connection_lost()
        self._stop()

    def shutdown(self) -> None:
        self.session.shutdown()
        self._flush()

    # -- the one output path ------------------------------------------------------------
    def _flush(self) -> None:
        """Write what the session produced (outputs, error frames, pongs, close)."""
        session = self.session
        chunks = session.data_to_send(self.loop.time())
        if chunks:
            self.channel.write(chunks)
        if not session.reading_held:  # also when the end emptied the queue (RT-LIFE-024)
            self.channel.release_reading(HOLD_QUEUE)
        if session.close_sent:
            self.channel.expect_close()

    async def _flushed(self) -> None:
        """`_flush`, then wait while the transport is over its high-water mark."""
        self._flush()
        if self.channel.write_paused:
            await self.channel.drain()

    # -- time and wake-ups --------------------------------------------------------------
    def _arm_timer(self) -> None:
        # Lazy timer: not moved on every input; when it fires, `tick` finds the new deadline.
        deadline = self.session.deadline()
        if deadline is None:
            return
        if self._timer is not None:
            if self._timer.when() <= deadline:
                return
            self._timer.cancel()
        self._timer = self.loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        session = self.session
        session.tick(self.loop.time())
        self._flush()
        if session.state is State.CLOSING or session.state is State.CLOSED:
            self._stop()  # the heartbeat or keepalive failed it (RT-EXT-041, RT-LIFE-012)
            return
        self._arm_timer()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.task is not None:
            self.task.cancel()

    async def _wait(self) -> None:
        self._waiter = self.loop.create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    # -- the worker ---------------------------------------------------------------------
    async def _next_work(self) -> list[Any] | None:
        """The next batch of inputs, or None once the session serves no more.

        [] when the inline path started a handler meanwhile: the caller finishes it first.
        """
        session = self.session
        while True:
            if self._suspended is not None:
                return []
            work = session.next_work()
            self._flush()  # rejections taken on the way; releases a read hold
            if work is not None or session.inputs_done:
                if self.channel.write_paused:
                    await self.channel.drain()
                return work
            await self._wait()

    async def _in_thread(self, args: list[Any]) -> Any:
        """A sync handler runs in the default executor, off the event loop."""
        return await self.loop.run_in_executor(None, functools.partial(self.handler, *args))

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
            log_handler_failure("realtime", self.path, exc)
            self.session.handler_failed(exc)
        self._flush()

    async def _unary(self) -> None:
        session = self.session
        while True:
            suspended, self._suspended = self._suspended, None
            if suspended is not None:
                await self._finish_unary(suspended)  # started by `_serve_inline`
                continue
            work = await self._next_work()
            if work is None:
                break
            if not work:
                continue
            if self.is_async:
                self._suspended = self._start_unary(work)
            else:
                try:
                    self.session.output(await self._in_thread(work))
                except Exception as exc:
                    self._unary_failed(exc)
        session.end()

    # -- unary steps, shared by the worker and the inline path --------------------------
    def _start_unary(self, work: list[Any]) -> Coroutine[Any, Any, Any] | None:
        """Run the handler on `work` to its first suspension; None once it is answered."""
        coro = self.handler(*work)
        try:
            yielded = coro.send(None)
        except StopIteration as done:
            self._unary_output(done.value)
            return None
        except Exception as exc:
            self._unary_failed(exc)
            return None
        return _resume(coro, yielded)

    async def _finish_unary(self, suspended: Coroutine[Any, Any, Any]) -> None:
        try:
            result = await suspended
        except Exception as exc:
            self._unary_failed(exc)
        else:
            self._unary_output(result)

    def _unary_output(self, result: Any) -> None:
        try:
            self.session.output(result)
        except Exception as exc:  # the output did not encode
            self._unary_failed(exc)

    def _unary_failed(self, exc: Exception) -> None:
        """RT-CTRL-015/016: this input fails with INTERNAL_ERROR; the session goes on."""
        log_handler_failure("realtime", self.path, exc)
        self.session.handler_failed(exc)

    def _serve_inline(self, task: asyncio.Task[None]) -> None:
        """Serve queued inputs in this callback while the worker is parked (no task switch).

        Each step runs as the worker task and in its context (`asyncio.current_task()`,
        `asyncio.timeout` and contextvars work in the handler). It stops at a handler that
        suspends (the worker finishes it), under backpressure, or when the queue is empty;
        the worker is woken for whatever is left.
        """
        session = self.session
        asyncio.tasks._enter_task(self.loop, task)
        try:
            self._context.run(self._inline_steps)
        finally:
            asyncio.tasks._leave_task(self.loop, task)
        self._flush()
        if self._suspended is not None or session.pending or session.inputs_done:
            self._wake()

    def _inline_steps(self) -> None:
        session = self.session
        while session.pending and not self.channel.write_paused:
            work = session.next_work()
            if work is None:
                break
            self._suspended = self._start_unary(work)
            if self._suspended is not None:
                break

    async def _server_streaming(self) -> None:
        first = await self._next_work()
        if first is None:
            self.session.end()  # idle timeout before any input
            return
        result = self.handler(first[0])
        if inspect.isawaitable(result):
            result = await result
        if hasattr(result, "__aiter__"):
            async for item in result:
                await self._send(item)
        else:
            iterator = iter(result)
            done = object()
            while (item := await self.loop.run_in_executor(None, next, iterator, done)) is not done:
                await self._send(item)
        self.session.stream_finished(self.loop.time())
        self._arm_timer()

    async def _send(self, item: Any) -> None:
        self.session.output(item)
        await self._flushed()

    async def _inputs(self) -> AsyncIterator[Any]:
        while (work := await self._next_work()) is not None:
            for item in work:
                yield item

    async def _input_streaming(self, *, bidi: bool) -> None:
        result = self.handler(self._inputs())
        if bidi:
            if inspect.isawaitable(result):
                result = await result
            async for item in result:
                await self._send(item)
        else:
            await self._send(await result)
        self.session.stream_finished(self.loop.time())


@types.coroutine
def _resume(coro: Coroutine[Any, Any, Any], yielded: Any) -> Generator[Any, Any, Any]:
    """Finish `coro`, already stepped once and suspended on `yielded`, as `yield from` would."""
    while True:
        try:
            try:
                sent = yield yielded
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # cancellation reaches the handler, as with await
                yielded = coro.throw(exc)
            else:
                yielded = coro.send(sent)
        except StopIteration as done:
            return done.value
