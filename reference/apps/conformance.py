"""The conformance app (spec chapter 13-conformance): every core path and optional feature.

Written the way a fal user writes an app; with `import fal` and `fal.App` / `fal.realtime` /
`fal.endpoint` (and fastapi's WebSocket) in place of the `reference` imports it is a fal app.
It also serves as the benchmark's echo app (`/realtime` with a plain prompt).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from pydantic import BaseModel, Field

from reference import App, WebSocket, endpoint, realtime


class Input(BaseModel):
    prompt: str
    delay_ms: int = Field(default=0, ge=0, le=10_000)
    fail: bool = False


class Output(BaseModel):
    output: str


class StreamInput(BaseModel):
    prompt: str
    count: int = Field(ge=0, le=1000)


class Prompt(BaseModel):
    prompt: str


class BatchInput(BaseModel):
    prompt: str
    delay_ms: int = Field(default=0, ge=0, le=10_000)


async def _answer(inp: Input) -> Output:
    if inp.delay_ms:
        await asyncio.sleep(inp.delay_ms / 1000)
    if inp.fail:
        raise RuntimeError("requested failure")
    return Output(output=inp.prompt)


class ConformanceApp(App):
    """Hosts every feature: delay, handler-error, streaming modes, timeouts, buffering, batching."""

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
        await websocket.accept()
        message = await websocket.receive()
        if isinstance(message, str):
            for i in range(3):
                await websocket.send_text(f"{message}-{i}")
            await websocket.close(1000)
        else:
            await websocket.send_bytes(message)
            while True:  # keep echoing binary messages until the client closes
                message = await websocket.receive()
                if isinstance(message, str):
                    await websocket.send_text(message)
                else:
                    await websocket.send_bytes(message)

    @realtime("/realtime/stream")
    async def stream(self, inp: StreamInput) -> AsyncIterator[Output]:
        for i in range(inp.count):
            yield Output(output=f"{inp.prompt}-{i}")

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
        delay = max(inp.delay_ms for inp in inputs)
        if delay:
            await asyncio.sleep(delay / 1000)
        return Output(output=",".join(inp.prompt for inp in inputs))
