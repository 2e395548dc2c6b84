# mypy: disallow-subclassing-any=False, disallow-untyped-decorators=False
"""The conformance app (spec chapter 13) written as a real `fal.App`, the way a fal user writes it.

Runs only in the fal peer venv (`.venv-fal/`, see `interop.fal_env`); `interop.serve_fal`
serves it on 127.0.0.1 through fal's own FastAPI builder. Every optional feature fal can host
is here: delay, handler-error, server-streaming, bidi, client-streaming, session-timeout,
buffering, batching, batching-timeout, bidi-fanout, raw-handler-error, stream-handler-error,
webrtc-signaling, webrtc-media (aiortc, pinned in the fal venv); gateway-paths come from
`FAL_APP_ROOT_PATH` (set by `serve_fal`).
The behaviour on the wire is fal 1.83.0's own realtime template, quirks included.
"""

import time
from collections.abc import AsyncIterator
from typing import Any

import fal
from fastapi import WebSocket  # type: ignore[import-not-found]
from pydantic import BaseModel, ConfigDict, Field
from starlette.websockets import WebSocketDisconnect  # type: ignore[import-not-found]


class EchoInput(BaseModel):
    """Input of the unary routes; extra keys are ignored (pydantic's default).

    Strict types: RT-CONF-012 refuses a `fail` of "yes" or a `delay_ms` of 1.0 or "5", and a
    bin `prompt`, which pydantic's lax mode would coerce.
    """

    model_config = ConfigDict(strict=True)

    prompt: str
    delay_ms: int = Field(default=0, ge=0, le=10_000)
    fail: bool = False


class StreamInput(BaseModel):
    """Input of the server-streaming route: `count` outputs `prompt-0` .. `prompt-{count-1}`."""

    model_config = ConfigDict(strict=True)

    prompt: str
    count: int = Field(ge=0, le=1000)
    fail: bool = False


class BatchInput(BaseModel):
    """Input of the batching route (no `fail`: the batch handler does not fail)."""

    model_config = ConfigDict(strict=True)

    prompt: str
    delay_ms: int = Field(default=0, ge=0, le=10_000)


class FanoutInput(BaseModel):
    """Input of the bidi-fanout route: `count` outputs `prompt-0` .. `prompt-{count-1}`."""

    model_config = ConfigDict(strict=True)

    prompt: str
    count: int = Field(ge=0, le=100)


class PromptInput(BaseModel):
    """Input of the bidi and client-streaming routes."""

    model_config = ConfigDict(strict=True)

    prompt: str


class Signal(BaseModel):
    """A WebRTC signaling message (`type` plus whatever that type carries)."""

    model_config = ConfigDict(extra="allow")

    type: str
    sdp: Any = None


class Output(BaseModel):
    """Every output of the conformance app."""

    output: str


def _answer(inp: EchoInput) -> Output:
    # `delay` and `handler-error` features. Unary handlers are plain `def`s, as in fal's docs:
    # fal runs them in a thread, and that hop lets its output emitter keep up. With `async def`
    # handlers fal 1.83.0 reorders the outputs of back-to-back inputs even for a client that
    # keeps reading (its 2-slot send queue overflows into direct sends that overtake it).
    if inp.delay_ms:
        time.sleep(inp.delay_ms / 1000)
    if inp.fail:
        raise RuntimeError("requested failure")
    return Output(output=inp.prompt)


def _join_batch(batch: tuple[BatchInput, ...]) -> Output:
    """The batching routes: wait the longest `delay_ms`, answer the prompts joined by ","."""
    delay_ms = max(inp.delay_ms for inp in batch)
    if delay_ms:
        time.sleep(delay_ms / 1000)
    return Output(output=",".join(inp.prompt for inp in batch))


class ConformanceApp(fal.App):
    """WS /realtime (+ optional routes), HTTP POST /, GET /health (fal's), raw WS /echo."""

    keep_alive = 60

    @fal.endpoint("/")
    def generate(self, inp: EchoInput) -> Output:
        """HTTP JSON: the same output as /realtime for the same input (422 on validation)."""
        return _answer(inp)

    @fal.realtime("/realtime")
    def realtime(self, inp: EchoInput) -> Output:
        """Unary: one output per input, default unbounded FIFO."""
        return _answer(inp)

    @fal.realtime("/realtime/stream")
    async def stream(self, inp: StreamInput) -> AsyncIterator[Output]:
        """server-streaming: one input, `count` outputs, then fal's TIMEOUT frame + close.

        stream-handler-error: with `"fail": true` the handler fails after its outputs.
        """
        for index in range(inp.count):
            yield Output(output=f"{inp.prompt}-{index}")
        if inp.fail:
            raise RuntimeError("requested failure")

    @fal.realtime("/realtime/bidi", session_timeout=1.0)
    async def bidi(self, inputs: AsyncIterator[PromptInput]) -> AsyncIterator[Output]:
        """bidi: each input answered as it arrives; ends 1 s after the last input."""
        async for inp in inputs:
            yield Output(output=inp.prompt)

    @fal.realtime("/realtime/collect", session_timeout=0.5)
    async def collect(self, inputs: AsyncIterator[PromptInput]) -> Output:
        """client-streaming: all prompts joined by spaces, once the client is idle 0.5 s."""
        prompts = [inp.prompt async for inp in inputs]
        return Output(output=" ".join(prompts))

    @fal.realtime("/realtime/timeout", session_timeout=1.0)
    def timeout(self, inp: EchoInput) -> Output:
        """session-timeout: unary echo; TIMEOUT + close 1000 after 1 s without input."""
        return _answer(inp)

    @fal.realtime("/realtime/latest", buffering=2)
    def latest(self, inp: EchoInput) -> Output:
        """buffering: unary echo with a latest-wins queue of 2 pending inputs."""
        return _answer(inp)

    @fal.realtime("/realtime/batch", max_batch_size=4)
    def batch(self, first: BatchInput, *more: BatchInput) -> Output:
        """batching: fal passes up to 4 queued inputs as positional arguments."""
        return _join_batch((first, *more))

    @fal.realtime("/realtime/batch-timeout", max_batch_size=4, session_timeout=1.0)
    def batch_timeout(self, first: BatchInput, *more: BatchInput) -> Output:
        """batching-timeout: the batching route with an idle timeout of 1 s (RT-LIFE-006)."""
        return _join_batch((first, *more))

    @fal.realtime("/realtime/fanout", session_timeout=1.0)
    async def fanout(self, inputs: AsyncIterator[FanoutInput]) -> AsyncIterator[Output]:
        """bidi-fanout: `ready` before any input, then `count` outputs per input (RT-STREAM-011)."""
        yield Output(output="ready")
        async for inp in inputs:
            for index in range(inp.count):
                yield Output(output=f"{inp.prompt}-{index}")

    # buffering=16: fal's outgoing queue holds 2 x buffering messages and sends the overflow
    # directly, ahead of the queue, so the burst answer, candidates, end-of-candidates would
    # arrive reordered (end first) with the default 2; signaling never has 16 inputs waiting.
    @fal.realtime("/realtime/webrtc", buffering=16)
    async def webrtc(self, signals: AsyncIterator[Signal]) -> AsyncIterator[dict[str, Any]]:
        """webrtc-signaling and webrtc-media: a loopback aiortc peer inside the fal.App.

        As fal's webcam demo does, the bidi handler runs an aiortc peer; the peer and its
        signaling rules are the reference's (`reference.webrtc`, plain aiortc code), so the fal
        runner hosts the same media app as the reference server (frames come back inverted).
        """
        from reference.webrtc.signaling import webrtc_session

        async def maps() -> AsyncIterator[dict[str, Any]]:
            async for signal in signals:
                yield signal.model_dump()

        async for message in webrtc_session(maps()):
            yield message

    @fal.endpoint("/echo", is_websocket=True)
    async def echo(self, websocket: WebSocket) -> None:
        """Raw WebSocket: text m -> m-0, m-1, m-2, close 1000; binary b -> b (echo).

        raw-handler-error: the text `fail` makes the handler raise, the text `return` makes it
        return, both without closing the connection (what fal/uvicorn then do is the point).
        """
        await websocket.accept()
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("text") is not None:
                    text = message["text"]
                    if text == "fail":
                        raise RuntimeError("requested failure")
                    if text == "return":
                        return
                    for index in range(3):
                        await websocket.send_text(f"{text}-{index}")
                    await websocket.close(1000)
                    return
                await websocket.send_bytes(message.get("bytes") or b"")
        except WebSocketDisconnect:
            return
