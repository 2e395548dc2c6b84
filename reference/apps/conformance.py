"""The conformance app (spec chapter 13-conformance): every core path and optional feature.

Written the way a fal user writes an app; with `import fal` and `fal.App` / `fal.realtime` /
`fal.endpoint` (and fastapi's WebSocket) in place of the `reference` imports it is a fal app.
It also serves as the benchmark's echo app (`/realtime` with a plain prompt).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reference import App, WebSocket, endpoint, realtime
from reference.core.session import RequestedFailure
from reference.webrtc.signaling import webrtc_session

# RT-CONF-012: strict models refuse what pydantic's lax mode would coerce: a `fail` of "yes",
# a `delay_ms` of "5", 5.0 or true, a bin `prompt`. Extra keys are still ignored.
STRICT = ConfigDict(strict=True)


class Input(BaseModel):
    model_config = STRICT

    prompt: str
    delay_ms: int = Field(default=0, ge=0, le=10_000)
    fail: bool = False


class Output(BaseModel):
    output: str


class StreamInput(BaseModel):
    model_config = STRICT

    prompt: str
    count: int = Field(ge=0, le=1000)
    fail: bool = False  # stream-handler-error: fail after the outputs


class Prompt(BaseModel):
    model_config = STRICT

    prompt: str


class FanoutInput(BaseModel):
    model_config = STRICT

    prompt: str
    count: int = Field(ge=0, le=100)


class BatchInput(BaseModel):
    model_config = STRICT

    prompt: str
    delay_ms: int = Field(default=0, ge=0, le=10_000)


class Signal(BaseModel):
    """A WebRTC signaling message (spec chapter 11-webrtc): `type` plus what that type carries."""

    model_config = ConfigDict(strict=True, extra="allow")

    type: str
    sdp: Any = None


async def _answer(inp: Input) -> Output:
    if inp.delay_ms:
        await asyncio.sleep(inp.delay_ms / 1000)
    if inp.fail:
        raise RequestedFailure("requested failure")
    return Output(output=inp.prompt)


async def _join_batch(inputs: tuple[BatchInput, ...]) -> Output:
    """The batching routes: wait the longest `delay_ms`, answer the prompts joined by ","."""
    delay = max(inp.delay_ms for inp in inputs)
    if delay:
        await asyncio.sleep(delay / 1000)
    return Output(output=",".join(inp.prompt for inp in inputs))


class ConformanceApp(App):
    """Hosts every feature of the spec's table (chapter 13), webrtc-signaling included."""

    @endpoint("/")
    async def generate(self, inp: Input) -> Output:
        return await _answer(inp)

    @realtime("/realtime")
    async def unary(self, inp: Input) -> Output:
        # The hot path of the benchmark: no delay, no failure, one await-free return.
        if not inp.delay_ms and not inp.fail:
            return Output(output=inp.prompt)
        return await _answer(inp)

    @endpoint("/echo", is_websocket=True)
    async def echo(self, websocket: WebSocket) -> None:
        """Raw: binary b -> b (echo, stays open); text m -> m-0, m-1, m-2, then close 1000.

        raw-handler-error: the text `fail` makes the handler raise and `return` makes it
        return, both without closing; the server then closes 1011 / 1000 (RT-RAW-005/007).
        """
        await websocket.accept()
        while True:
            message = await websocket.receive_data()
            if isinstance(message, bytes):
                await websocket.send_bytes(message)
                continue
            if message == "fail":
                raise RequestedFailure("requested failure")
            if message == "return":
                return
            for i in range(3):
                await websocket.send_text(f"{message}-{i}")
            await websocket.close(1000)
            return

    @realtime("/realtime/stream")
    async def stream(self, inp: StreamInput) -> AsyncIterator[Output]:
        for i in range(inp.count):
            yield Output(output=f"{inp.prompt}-{i}")
        if inp.fail:  # stream-handler-error: INTERNAL_ERROR then close 1000 (RT-STREAM-007)
            raise RequestedFailure("requested failure")

    @realtime("/realtime/bidi", session_timeout=1.0)
    async def bidi(self, inputs: AsyncIterator[Prompt]) -> AsyncIterator[Output]:
        async for inp in inputs:
            yield Output(output=inp.prompt)

    @realtime("/realtime/collect", session_timeout=0.5)
    async def collect(self, inputs: AsyncIterator[Prompt]) -> Output:
        prompts = [inp.prompt async for inp in inputs]
        return Output(output=" ".join(prompts))

    @realtime("/realtime/timeout", session_timeout=1.0)
    async def timeout(self, inp: Input) -> Output:
        return await _answer(inp)

    @realtime("/realtime/latest", buffering=2)
    async def latest(self, inp: Input) -> Output:
        return await _answer(inp)

    @realtime("/realtime/batch", max_batch_size=4, buffering=16)
    async def batch(self, *inputs: BatchInput) -> Output:
        return await _join_batch(inputs)

    @realtime("/realtime/batch-timeout", max_batch_size=4, session_timeout=1.0)
    async def batch_timeout(self, *inputs: BatchInput) -> Output:
        """batching-timeout: batching with an idle timeout, which fal ends wrongly (RT-LIFE-006)."""
        return await _join_batch(inputs)

    @realtime("/realtime/fanout", session_timeout=1.0)
    async def fanout(self, inputs: AsyncIterator[FanoutInput]) -> AsyncIterator[Output]:
        """bidi-fanout: an output before any input, then `count` per input (RT-STREAM-011)."""
        yield Output(output="ready")
        async for inp in inputs:
            for i in range(inp.count):
                yield Output(output=f"{inp.prompt}-{i}")

    @realtime("/realtime/webrtc")
    async def webrtc(self, signals: AsyncIterator[Signal]) -> AsyncIterator[dict[str, Any]]:
        """webrtc-signaling and webrtc-media (spec chapter 11): bidi, no idle timeout (RT-RTC-007).

        With the `[webrtc]` extra a real loopback peer answers the offer and sends the client's
        video back inverted (RT-CONF-030); without it an offer gets an `error` (RT-RTC-003).
        """
        async for message in webrtc_session(_signal_maps(signals)):
            yield message


async def _signal_maps(signals: AsyncIterator[Signal]) -> AsyncIterator[dict[str, Any]]:
    async for signal in signals:
        yield signal.model_dump()
