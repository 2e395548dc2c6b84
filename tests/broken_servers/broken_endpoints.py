"""The conformance app's WebSocket endpoints (spec 08-streaming, 09-raw-websocket, 13-conformance).

Each endpoint is a coroutine taking the open connection and the set of active fault switches.
"""

from __future__ import annotations

import asyncio
from typing import Any

from broken_app import Endpoint, Inbox, InvalidInput, Request, Session, decode_input, validate
from broken_webrtc import realtime_webrtc
from broken_wire import WsConnection

#: How long a held-back output waits for its successor (fault `reorder-outputs`) before it goes.
REORDER_HOLD_S = 0.2
#: How long a finished server stream waits for inputs still in flight before it ends.
STREAM_LINGER_S = 0.05


class Outputs:
    """The output side of a unary session, where `drop-output` and `reorder-outputs` act."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._count = 0
        self.held: dict[str, Any] | None = None

    async def emit(self, value: dict[str, Any]) -> None:
        index = self._count
        self._count += 1
        faults = self._session.faults
        if "drop-output" in faults and index == 1:
            return
        if "reorder-outputs" in faults and self.held is None and index % 2 == 0:
            self.held = value
            return
        await self._session.output(value)
        await self.flush()

    async def flush(self) -> None:
        if self.held is not None:
            held, self.held = self.held, None
            await self._session.output(held)


#: How long fault `lose-outputs-before-error` holds each answer (ms).
LOSE_OUTPUTS_WAIT_MS = 50


def _bad_input_pending(inbox: Inbox, faults: frozenset[str]) -> bool:
    """Whether a queued input is bad (for fault `lose-outputs-before-error`)."""
    for message in inbox.peek():
        try:
            validate(decode_input(message, faults))
        except InvalidInput:
            return True
    return False


async def unary(
    conn: WsConnection,
    faults: frozenset[str],
    *,
    session_timeout: float | None = None,
    buffering: int | None = None,
    max_batch: int = 1,
) -> None:
    """One output per input (per batch), in input order, until the client leaves or idles out."""
    session = Session(conn, faults)
    tasks: set[asyncio.Task[None]] = set()

    def report_drop() -> None:  # fault `error-for-dropped-input`
        task = asyncio.create_task(session.error("INVALID_INPUT", "input dropped (buffering)"))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    on_drop = report_drop if "error-for-dropped-input" in faults else None
    inbox = Inbox(conn, maxlen=buffering, on_drop=on_drop, idle_timeout=session_timeout)
    outputs = Outputs(session)
    try:
        while not session.ended:
            wait = inbox.idle_left()
            if outputs.held is not None:
                wait = REORDER_HOLD_S
            if inbox.expired:  # the timer fired while the handler was busy: ENDING
                for _late in inbox.take_all():  # RT-LIFE-008/009: never served, answered
                    await session.error("INVALID_INPUT", "the session is ending")
                await outputs.flush()
                if not session.ended:
                    await session.timeout()
                return
            message = await inbox.get(wait)
            if message is None and outputs.held is not None and not inbox.closed:
                await outputs.flush()
                continue
            if message is None:
                if not inbox.closed:
                    await outputs.flush()
                    await session.timeout()
                return
            batch = [message]
            while len(inbox) and len(batch) < max_batch:
                item = await inbox.get()
                assert item is not None
                batch.append(item)
            await _serve_batch(session, outputs, inbox, batch, max_batch > 1)
    finally:
        inbox.stop()


async def _serve_batch(
    session: Session, outputs: Outputs, inbox: Inbox, batch: list[str | bytes], batched: bool
) -> None:
    faults = session.faults
    requests: list[Request] = []
    for message in batch:
        try:
            requests.append(validate(decode_input(message, faults)))
        except InvalidInput as problem:
            await outputs.flush()
            await session.bad_input(problem)
            if session.ended:
                return
    if not requests:
        return
    delay = max(request.delay_ms for request in requests)
    if "lose-outputs-before-error" in faults:
        # The fault shows only when a bad input is already queued as this one is answered:
        # a short wait lets inputs sent back to back arrive first, so the suite sees it in
        # every run, not only when the scheduler happens to interleave (it was flaky).
        delay = max(delay, LOSE_OUTPUTS_WAIT_MS)
    if delay:
        await asyncio.sleep(delay / 1000)
    if "lose-outputs-before-error" in faults and _bad_input_pending(inbox, faults):
        inbox.drop_until_bad(faults)
        return
    if any(request.fail for request in requests):
        await outputs.flush()
        await session.handler_failed()
        return
    if batched and "batch-per-input" not in faults:
        await outputs.emit({"output": ",".join(request.prompt for request in requests)})
    else:
        for request in requests:
            await outputs.emit({"output": request.prompt})


async def realtime(conn: WsConnection, faults: frozenset[str]) -> None:
    """`/realtime`: unary echo, no session timeout."""
    await unary(conn, faults)


async def realtime_timeout(conn: WsConnection, faults: frozenset[str]) -> None:
    """`/realtime/timeout`: unary echo with session_timeout 1.0 s."""
    timeout = None if "session-timeout-ignored" in faults else 1.0
    await unary(conn, faults, session_timeout=timeout)


async def realtime_latest(conn: WsConnection, faults: frozenset[str]) -> None:
    """`/realtime/latest`: unary echo with buffering=2 (latest wins)."""
    await unary(conn, faults, buffering=None if "buffering-fifo" in faults else 2)


async def realtime_batch(conn: WsConnection, faults: frozenset[str]) -> None:
    """`/realtime/batch`: max_batch_size 4, one joined output per batch."""
    await unary(conn, faults, max_batch=4)


async def realtime_bidi(conn: WsConnection, faults: frozenset[str]) -> None:
    """`/realtime/bidi`: an output per input as it arrives; 1.0 s idle ends the session."""
    await unary(conn, faults, session_timeout=None if "bidi-no-timeout" in faults else 1.0)


async def realtime_collect(conn: WsConnection, faults: frozenset[str]) -> None:
    """`/realtime/collect`: inputs until 0.5 s idle, then one joined output, TIMEOUT, close."""
    session = Session(conn, faults)
    inbox = Inbox(conn)
    prompts: list[str] = []
    try:
        while not session.ended:
            message = await inbox.get(0.5)
            if message is None:
                if inbox.closed:
                    return
                if "collect-per-input" not in faults:
                    await session.output({"output": " ".join(prompts)})
                await session.timeout()
                return
            try:
                request = validate(decode_input(message, faults))
            except InvalidInput as problem:
                await session.bad_input(problem)
                continue
            prompts.append(request.prompt)
            if "collect-per-input" in faults:
                await session.output({"output": request.prompt})
    finally:
        inbox.stop()


async def realtime_stream(conn: WsConnection, faults: frozenset[str]) -> None:
    """`/realtime/stream`: one input, `count` outputs, then TIMEOUT and close 1000."""
    session = Session(conn, faults)
    inbox = Inbox(conn)
    try:
        while not session.ended:
            message = await inbox.get()
            if message is None:
                return
            try:
                request = validate(decode_input(message, faults), streaming=True)
            except InvalidInput as problem:
                await session.bad_input(problem)
                continue
            await _stream(session, inbox, request)
            return
    finally:
        inbox.stop()


async def _stream(session: Session, inbox: Inbox, request: Request) -> None:
    faults = session.faults
    texts = [f"{request.prompt}-{i}" for i in range(request.count)]
    if "stream-reordered" in faults and len(texts) >= 3:
        texts[:3] = [texts[2], texts[0], texts[1]]
    for text in texts:
        await session.output({"output": text})
        await asyncio.sleep(0)  # let later inputs be read while the stream runs
    # Inputs sent right behind the first may still be in flight: give them a moment, so they
    # are answered (RT-STREAM) rather than cut off by the end of the session.
    await asyncio.sleep(STREAM_LINGER_S)
    if request.fail:  # feature stream-handler-error: the handler fails after its outputs
        await session.error("INTERNAL_ERROR", "requested failure")
        if not session.ended:
            await session.end(1000)  # RT-STREAM-007
        return
    while len(inbox) and "stream-ignores-extra-inputs" not in faults:
        await inbox.get()
        await session.bad_input(InvalidInput("one input per server-streaming connection"))
        if session.ended:
            return
    if "stream-no-timeout" in faults:
        await session.end(1000)
    else:
        await session.timeout()


async def echo(conn: WsConnection, faults: frozenset[str]) -> None:
    """`/echo` (raw): text m -> m-0, m-1, m-2 then close 1000; binary b -> b."""
    while (message := await conn.recv()) is not None:
        if message == "fail":  # feature raw-handler-error: the handler raises (RT-RAW-005)
            await conn.close(1011)
            return
        if message == "return":  # ... or returns without closing (RT-RAW-007)
            await conn.close(1000)
            return
        if isinstance(message, str):
            for i in range(3):
                await conn.send_text(f"{message}-{i}")
            if "echo-no-close" not in faults:
                await conn.close(1000)
                return
        else:
            await conn.send_binary(message)
            if "echo-twice" in faults:
                await conn.send_binary(message)


#: WebSocket paths of the conformance app (without the gateway prefix).
ENDPOINTS: dict[str, Endpoint] = {
    "/realtime": realtime,
    "/realtime/timeout": realtime_timeout,
    "/realtime/latest": realtime_latest,
    "/realtime/batch": realtime_batch,
    "/realtime/bidi": realtime_bidi,
    "/realtime/collect": realtime_collect,
    "/realtime/stream": realtime_stream,
    "/echo": echo,
    "/realtime/webrtc": realtime_webrtc,
}
