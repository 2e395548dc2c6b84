"""The conformance app (spec 13-conformance) over WebSocket, with fault switches.

Without faults every endpoint behaves as CONTRACTS.md's conformance app at the robust level:
INVALID_INPUT for a bad input with the session kept, earlier outputs delivered first, a handler
failure answered with INTERNAL_ERROR and the session kept, TIMEOUT + close 1000 at a session's end.
Each fault name in `FAULTS` switches one behaviour off or wrong, to prove the suite notices.
"""

from __future__ import annotations

import asyncio
import collections
import json
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgpack
from broken_wire import OPEN_CONNECTIONS, WsConnection

#: Fault switches that live in this module (the rest live in server.py), with what each does.
FAULTS: dict[str, str] = {
    "text-outputs": "outputs are sent as JSON text frames instead of binary msgpack",
    "msgpack-errors": "x-fal-error frames are sent as binary msgpack instead of JSON text",
    "error-no-reason": "x-fal-error frames lack the `reason` key",
    "control-wrong-type": "error frames carry type `fal-error` instead of `x-fal-error`",
    "drop-output": "the output of the second input of each session is never sent",
    "reorder-outputs": "outputs of consecutive inputs are sent pairwise swapped",
    "swallow-errors": "a bad input gets no error frame (silently ignored)",
    "wrong-close-after-error": "after an error frame the session closes with 1011",
    "no-close-frame-after-error": "after an error frame the TCP connection is dropped",
    "close-after-bad-input": "a bad input ends the session (error frame, close 1000)",
    "close-after-handler-error": "a handler failure ends the session (error frame, close 1000)",
    "internal-error-for-bad-input": "a bad input is reported as INTERNAL_ERROR",
    "traceback-in-reason": "the error reason carries a Python traceback",
    "lose-outputs-before-error": "a bad input discards the pending outputs of earlier inputs",
    "accept-non-map": "a msgpack value that is not a map is silently ignored",
    "accept-trailing-bytes": "bytes after the first msgpack object are ignored",
    "accept-ext-types": "msgpack ext types (timestamps included) are accepted",
    "accept-non-str-keys": "maps with non-str keys are accepted",
    "accept-invalid-utf8": "msgpack str with invalid UTF-8 is accepted (replacement chars)",
    "accept-text-input": "a text frame holding JSON is served like a msgpack input",
    "deep-nesting-kills-sessions": "an input nested deeper than 1024 drops every connection",
    "echo-twice": "the raw /echo endpoint echoes a binary message twice",
    "echo-no-close": "the raw /echo endpoint keeps the connection open after m-2",
    "stream-reordered": "server-streaming sends its first three outputs as p-2, p-0, p-1",
    "stream-no-timeout": "server-streaming ends with close 1000 but no TIMEOUT frame",
    "stream-ignores-extra-inputs": "server-streaming ignores inputs after the first silently",
    "session-timeout-ignored": "/realtime/timeout never ends an idle session",
    "bidi-no-timeout": "/realtime/bidi never ends an idle session",
    "collect-per-input": "/realtime/collect answers every input instead of one joined output",
    "buffering-fifo": "/realtime/latest keeps every pending input (no latest-wins)",
    "error-for-dropped-input": "/realtime/latest answers an input it drops with an error frame",
    "batch-per-input": "/realtime/batch answers each input of a batch separately",
    "object-bomb-accepted": "an input of millions of empty maps is decoded and served",
}

#: Inputs waiting for the handler before the session stops reading from the client.
PENDING = 16

#: Largest msgpack array or map accepted in an input: the object bound of RT-SEC-012.
MAX_OBJECTS = 1_048_576

#: Maximum nesting depth accepted in an input (spec: a server MAY refuse deeper than 64).
MAX_DEPTH = 64


class InvalidInput(Exception):
    """One input breaks the msgpack profile or the app's input schema."""


class SilentlyIgnored(InvalidInput):
    """A bad input the fault `accept-non-map` drops without a word."""


@dataclass(frozen=True)
class Request:
    """One validated input of the conformance app."""

    prompt: str
    delay_ms: int = 0
    fail: bool = False
    count: int = 0


# Decoding and validation ----------------------------------------------------------------------


def _check_profile(value: Any, faults: frozenset[str], depth: int = 0) -> None:
    """Reject what the msgpack profile forbids (spec 01-conventions)."""
    if depth > MAX_DEPTH:
        raise InvalidInput(f"nesting deeper than {MAX_DEPTH}")
    if isinstance(value, msgpack.ExtType | msgpack.Timestamp):
        if "accept-ext-types" not in faults:
            raise InvalidInput("msgpack ext types are not allowed")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) and "accept-non-str-keys" not in faults:
                raise InvalidInput("map keys must be strings")
            _check_profile(item, faults, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_profile(item, faults, depth + 1)


def _unique_keys(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    mapping = dict(pairs)
    if len(mapping) < len(pairs):
        raise InvalidInput("a map holds the same key twice")
    return mapping


def decode_input(message: str | bytes, faults: frozenset[str]) -> dict[str, Any]:
    """Decode one realtime input message into a map, or raise InvalidInput."""
    if isinstance(message, str):
        if "accept-text-input" not in faults:
            raise InvalidInput("inputs must be binary msgpack messages, got a text frame")
        try:
            value: Any = json.loads(message)
        except ValueError as exc:
            raise InvalidInput("text frame is not JSON") from exc
    else:
        unicode_errors = "replace" if "accept-invalid-utf8" in faults else "strict"
        options: dict[str, Any] = {
            "raw": False,
            "strict_map_key": "accept-non-str-keys" not in faults,
            "unicode_errors": unicode_errors,
            "object_pairs_hook": _unique_keys,  # RT-CONV-013
        }
        if "object-bomb-accepted" not in faults:  # RT-SEC-012, bounded while decoding
            options.update(max_array_len=MAX_OBJECTS, max_map_len=MAX_OBJECTS)
        try:
            if "accept-trailing-bytes" in faults:
                unpacker = msgpack.Unpacker(**options)
                unpacker.feed(message)
                value = next(unpacker)
            else:
                value = msgpack.unpackb(message, **options)
        except msgpack.ExtraData as exc:
            raise InvalidInput("trailing bytes after the msgpack object") from exc
        except msgpack.StackError as exc:  # nested deeper than msgpack's own limit (1024)
            if "deep-nesting-kills-sessions" in faults:
                for conn in list(OPEN_CONNECTIONS):  # as if the whole server had crashed
                    conn.abort()
            raise InvalidInput("nesting too deep") from exc
        except Exception as exc:
            raise InvalidInput(f"not a valid msgpack object ({type(exc).__name__})") from exc
    _check_profile(value, faults)
    if not isinstance(value, dict) and "accept-non-map" in faults:
        raise SilentlyIgnored("not a map")
    if not isinstance(value, dict):
        raise InvalidInput(f"the input must be a map, got {type(value).__name__}")
    return value


def validate(value: Any, *, streaming: bool = False) -> Request:
    """Check one decoded input against the conformance app's schema."""
    if not isinstance(value, dict):
        raise InvalidInput("the input must be a map")
    prompt = value.get("prompt")
    if not isinstance(prompt, str):
        raise InvalidInput("`prompt` must be a string")
    delay = value.get("delay_ms", 0)
    if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= 10000:
        raise InvalidInput("`delay_ms` must be an integer in 0..10000")
    fail = value.get("fail", False)
    if not isinstance(fail, bool):
        raise InvalidInput("`fail` must be a boolean")
    count = 0
    if streaming:
        count = value.get("count", 0)
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= 1000:
            raise InvalidInput("`count` must be an integer in 0..1000")
    return Request(prompt=prompt, delay_ms=delay, fail=fail, count=count)


# Frames ----------------------------------------------------------------------------------------


class Session:
    """Sending side of one realtime session: outputs and control frames, fault-aware."""

    def __init__(self, conn: WsConnection, faults: frozenset[str]) -> None:
        self.conn = conn
        self.faults = faults
        self.ended = False

    async def output(self, value: dict[str, Any]) -> None:
        if "text-outputs" in self.faults:
            await self.conn.send_text(json.dumps(value))
        else:
            await self.conn.send_binary(msgpack.packb(value, use_bin_type=True))

    async def error(self, code: str, reason: str) -> None:
        """Send one x-fal-error frame; apply the after-error fault switches."""
        frame: dict[str, Any] = {"type": "x-fal-error", "error": code, "reason": reason}
        if "error-no-reason" in self.faults:
            del frame["reason"]
        if "control-wrong-type" in self.faults:
            frame["type"] = "fal-error"
        if "msgpack-errors" in self.faults:
            await self.conn.send_binary(msgpack.packb(frame, use_bin_type=True))
        else:
            await self.conn.send_text(json.dumps(frame, separators=(",", ":")))
        if code == "TIMEOUT":
            return
        if "wrong-close-after-error" in self.faults:
            await self.end(1011)
        elif "no-close-frame-after-error" in self.faults:
            self.ended = True
            self.conn.abort()

    async def bad_input(self, problem: InvalidInput) -> None:
        """Answer one rejected input (spec 05: INVALID_INPUT, the session continues)."""
        if "swallow-errors" in self.faults or isinstance(problem, SilentlyIgnored):
            return
        code = (
            "INTERNAL_ERROR" if "internal-error-for-bad-input" in self.faults else "INVALID_INPUT"
        )
        reason = str(problem)
        if "traceback-in-reason" in self.faults:
            reason = "".join(traceback.format_exception(problem))
        await self.error(code, reason)
        if "close-after-bad-input" in self.faults and not self.ended:
            await self.end(1000)

    async def handler_failed(self) -> None:
        await self.error("INTERNAL_ERROR", "requested failure")
        if "close-after-handler-error" in self.faults and not self.ended:
            await self.end(1000)

    async def timeout(self) -> None:
        """End the session normally: TIMEOUT frame, then close 1000."""
        await self.error("TIMEOUT", "no inputs, reconnect when needed!")
        await self.end(1000)

    async def end(self, code: int) -> None:
        self.ended = True
        await self.conn.close(code)


# Input queue -----------------------------------------------------------------------------------


class Inbox:
    """Inputs read from the connection, waiting for the handler (optionally latest-wins)."""

    def __init__(
        self,
        conn: WsConnection,
        maxlen: int | None = None,
        on_drop: Callable[[], None] | None = None,
        idle_timeout: float | None = None,
    ) -> None:
        self._items: collections.deque[str | bytes] = collections.deque(maxlen=maxlen)
        self._on_drop = on_drop
        # The idle timer runs while the handler is busy (spec 1.1, RT-LIFE-001): `expired`
        # turns true when a message arrives more than `idle_timeout` after the one before.
        self._idle_timeout = idle_timeout
        self.last_arrival = time.monotonic()
        self.expired = False
        self._changed = asyncio.Event()
        self._taken = asyncio.Event()
        self.closed = False
        self._task = asyncio.create_task(self._fill(conn))

    async def _fill(self, conn: WsConnection) -> None:
        while (message := await self._next(conn)) is not None:
            now = time.monotonic()
            if self._idle_timeout is not None and now - self.last_arrival > self._idle_timeout:
                self.expired = True
            self.last_arrival = now
            if self._on_drop is not None and len(self._items) == self._items.maxlen:
                self._on_drop()
            self._items.append(message)  # a full deque drops its oldest item: latest wins
            self._changed.set()
        self.closed = True
        self._changed.set()

    async def _next(self, conn: WsConnection) -> str | bytes | None:
        # Without a buffering limit, stop reading while PENDING inputs wait (RT-FLOW-021).
        while self._items.maxlen is None and len(self._items) >= PENDING:
            self._taken.clear()
            await self._taken.wait()
        return await conn.recv()

    def __len__(self) -> int:
        return len(self._items)

    def idle_left(self) -> float | None:
        """Seconds until the idle timer fires, counted from the last arrival (None: no timer)."""
        if self._idle_timeout is None:
            return None
        return max(0.0, self._idle_timeout - (time.monotonic() - self.last_arrival))

    def take_all(self) -> list[str | bytes]:
        """Remove and return every queued input (the ones that arrived after the timer fired)."""
        items = list(self._items)
        self._items.clear()
        self._taken.set()
        return items

    def peek(self) -> list[str | bytes]:
        """The queued inputs, oldest first, left in place."""
        return list(self._items)

    def drop_until_bad(self, faults: frozenset[str]) -> None:
        """Discard queued inputs up to the first bad one (fault `lose-outputs-before-error`)."""
        while self._items:
            try:
                validate(decode_input(self._items[0], faults))
            except InvalidInput:
                return
            self._items.popleft()

    async def get(self, idle_timeout: float | None = None) -> str | bytes | None:
        """The next input; None when the connection closed or `idle_timeout` passed idle."""
        while not self._items:
            if self.closed:
                return None
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), idle_timeout)
            except TimeoutError:
                return None
        self._taken.set()
        return self._items.popleft()

    def stop(self) -> None:
        self._task.cancel()


Endpoint = Callable[[WsConnection, frozenset[str]], Awaitable[None]]
