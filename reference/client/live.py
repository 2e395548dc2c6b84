"""The JavaScript client's send rules on the reference client (opt-in; spec chapter 14).

`realtime(..., throttle_interval=..., lazy=True)` and `realtime_async(...)` with the same
options yield these connections; without the options nothing here runs and the client keeps
fal_client's (Python) semantics. The rules themselves are `reference.core.sendrules`:

- `throttle_interval` (seconds; `JS_THROTTLE_INTERVAL` is @fal-ai/client's 0.128; 0 is off):
  the first send goes out at once, later ones wait for a timer, latest wins, at most one
  frame per interval; the encoder runs before the throttle. A throttled `send` returns at once.
- `lazy=True`: no automatic retry; once a connection ended (any close, or a TIMEOUT frame)
  the next send opens a new one (with a new token fetch in token mode) and writes the input
  when it opens; sends before it opens overwrite one queued slot (latest wins). `recv` waits
  for a connection being opened and raises its failure.

`recv` returns None when a connection ends normally (close 1000 or a TIMEOUT frame) and
raises `RealtimeError` for error frames and, unlike the default, once for any other close
code (1001, 1005, ...), as the JS client reports every close but 1000 (RT-LIFE-031).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.protocol import State
from websockets.sync.client import ClientConnection as SyncClientConnection

from reference.client.connection import (
    AsyncRealtimeConnection,
    RealtimeConnection,
    RealtimeError,
    timeout_error,
)
from reference.core.client import CONNECTION_CLOSED, ClientSession
from reference.core.sendrules import Link, LinkAction, Throttle


def _closed_error(code: int | None) -> RealtimeError | None:
    """The error a non-1000 close is reported as (None for 1000 or a socket still open)."""
    if code is None or code == 1000:
        return None
    return RealtimeError(CONNECTION_CLOSED, f"the connection closed with code {code}")


class AsyncLiveConnection(AsyncRealtimeConnection):
    """An asyncio realtime session with the JS send rules (throttle, lazy reconnect)."""

    def __init__(
        self,
        websocket: ClientConnection,
        *,
        throttle_interval: float,
        reopen: Callable[[], Awaitable[ClientConnection]] | None,
    ) -> None:
        super().__init__(websocket)
        self.connections = 1
        self._throttle = Throttle(throttle_interval)
        self._link = Link()
        self._reopen = reopen
        self._timer: asyncio.TimerHandle | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None
        self._reported: set[int] = set()

    async def send(self, value: dict[str, Any]) -> None:
        """Encode, then throttle, then write (or queue and reconnect in lazy mode)."""
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        message = self.session.input_bytes(value)  # the encoder runs before the throttle
        loop = asyncio.get_running_loop()
        passed, due = self._throttle.offer(message, loop.time())
        if passed is not None:
            await self._deliver(passed)
            return
        if self._timer is not None:
            self._timer.cancel()  # the waiting input is replaced, never written
        self._timer = loop.call_at(due or 0.0, self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        message = self._throttle.fire(loop.time())
        if message is not None:
            task = loop.create_task(self._guarded(self._deliver(message)))
            self._background.add(task)  # held until done (the loop keeps weak references)
            task.add_done_callback(self._background.discard)

    async def _guarded(self, work: Awaitable[None]) -> None:
        """Run background work; its failure is raised by the next `recv` or `send`."""
        try:
            await work
        except Exception as exc:
            self._failure = exc

    def _is_open(self) -> bool:
        return self.websocket.state is State.OPEN and not self.session.ended

    async def _deliver(self, message: bytes) -> None:
        if self._reopen is None:
            await self.websocket.send(message)  # no lazy reconnect: a closed socket raises
            return
        action = self._link.send(message, self._is_open())
        if action is LinkAction.WRITE:
            await self.websocket.send(message)
        elif action is LinkAction.CONNECT:
            self._connecting = asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        assert self._reopen is not None
        try:
            websocket = await self._reopen()
        except BaseException:
            self._link.failed()
            raise
        await self.websocket.close()
        self.websocket, self.session = websocket, ClientSession()
        self.connections += 1
        queued = self._link.opened()
        if queued is not None:
            await websocket.send(queued)  # written once, when the socket opens

    async def recv(self, timeout: float | None = None) -> Any:
        """As `AsyncRealtimeConnection.recv`, after any connection being opened."""
        if self._connecting is not None:
            task, self._connecting = self._connecting, None
            try:  # shielded: a recv timeout must not cancel the open
                await asyncio.wait_for(asyncio.shield(task), timeout)  # a failed open raises
            except TimeoutError:
                self._connecting = task
                raise timeout_error(timeout or 0.0) from None
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        value = await super().recv(timeout)
        if value is None and id(self.websocket) not in self._reported:
            error = _closed_error(self.websocket.close_code)
            if error is not None:
                self._reported.add(id(self.websocket))
                raise error
        return value

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for task in (self._connecting, *self._background):
            if task is not None:
                task.cancel()
        await super().close()


class LiveConnection(RealtimeConnection):
    """A blocking realtime session with the JS send rules: timers and opens run in threads."""

    def __init__(
        self,
        websocket: SyncClientConnection,
        *,
        throttle_interval: float,
        reopen: Callable[[], SyncClientConnection] | None,
    ) -> None:
        super().__init__(websocket.__enter__())  # websockets 17: sync sockets are entered
        self.connections = 1
        self._throttle = Throttle(throttle_interval)
        self._link = Link()
        self._reopen = reopen
        self._lock = threading.RLock()  # one writer at a time keeps the frames in order
        self._timer: threading.Timer | None = None
        self._timer_generation = 0  # a replaced timer may already be waiting on the lock
        self._connecting: threading.Thread | None = None
        self._failure: BaseException | None = None
        self._reported: set[int] = set()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

    def send(self, value: dict[str, Any]) -> None:
        """Encode, then throttle, then write (or queue and reconnect in lazy mode)."""
        self._raise_failure()
        message = self.session.input_bytes(value)  # the encoder runs before the throttle
        with self._lock:
            now = time.monotonic()
            passed, due = self._throttle.offer(message, now)
            if passed is None:
                if self._timer is not None:
                    self._timer.cancel()  # the waiting input is replaced, never written
                self._timer_generation += 1
                delay = max(0.0, (due or now) - now)
                self._timer = threading.Timer(delay, self._fire, (self._timer_generation,))
                self._timer.daemon = True
                self._timer.start()
                return
            self._deliver(passed)

    def _fire(self, generation: int) -> None:
        try:
            with self._lock:
                if generation != self._timer_generation:
                    return  # cancelled too late: its successor is the one due
                message = self._throttle.fire(time.monotonic())
                if message is not None:
                    self._deliver(message)
        except Exception as exc:  # raised by the next recv or send
            self._failure = exc

    def _deliver(self, message: bytes) -> None:
        """Called with the lock held."""
        if self._reopen is None:
            self.websocket.send(message)  # no lazy reconnect: a closed socket raises
            return
        is_open = self.websocket.state is State.OPEN and not self.session.ended
        action = self._link.send(message, is_open)
        if action is LinkAction.WRITE:
            self.websocket.send(message)
        elif action is LinkAction.CONNECT:
            connecting = threading.Thread(target=self._connect, daemon=True)
            connecting.start()
            self._connecting = connecting  # started before `recv` can join it

    def _connect(self) -> None:
        assert self._reopen is not None
        try:
            websocket = self._reopen().__enter__()
        except Exception as exc:
            with self._lock:
                self._link.failed()
            self._failure = exc
            return
        with self._lock:
            old, self.websocket, self.session = self.websocket, websocket, ClientSession()
            self.connections += 1
            queued = self._link.opened()
            if queued is not None:
                websocket.send(queued)  # written once, when the socket opens
        old.close()

    def recv(self, timeout: float | None = None) -> Any:
        """As `RealtimeConnection.recv`, after any connection being opened."""
        connecting = self._connecting
        if connecting is not None:
            connecting.join(timeout)
            if connecting.is_alive():
                raise timeout_error(timeout or 0.0)
            self._connecting = None
        self._raise_failure()
        value = super().recv(timeout)
        if value is None and id(self.websocket) not in self._reported:
            error = _closed_error(self.websocket.close_code)
            if error is not None:
                self._reported.add(id(self.websocket))
                raise error
        return value

    def close(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
        if self._connecting is not None:
            self._connecting.join()
        super().close()
