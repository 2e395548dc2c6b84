# mypy: disallow-subclassing-any=False, disallow-untyped-decorators=False
"""The example app of fal's realtime endpoints docs page, written the way a fal user writes it.

One `fal.App` with the three endpoint kinds of the page: an HTTP endpoint at `/`, a realtime
(msgpack) endpoint at `/realtime`, and a raw WebSocket endpoint at `/echo`. It runs on the fal
runner as is; `tests/interop/test_moved_fal_apps.py` moves it to the reference by changing
only its two import lines (`import fal`, the `WebSocket` import) and drives both with the
real `fal_client`.
"""

import fal
from fastapi import WebSocket  # type: ignore[import-not-found]
from pydantic import BaseModel, Field


class Input(BaseModel):
    prompt: str = Field()


class Output(BaseModel):
    output: str = Field()


class RealtimeApp(fal.App):
    @fal.endpoint("/")
    def generate(self, input: Input) -> Output:
        return Output(output=input.prompt)

    @fal.realtime("/realtime")
    def generate_rt(self, input: Input) -> Output:
        return Output(output=input.prompt)

    @fal.endpoint("/echo", is_websocket=True)
    async def echo(self, websocket: WebSocket) -> None:
        await websocket.accept()
        for _ in range(3):
            message = await websocket.receive_text()
            await websocket.send_json({"echo": message})
        await websocket.close()
