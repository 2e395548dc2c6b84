# mypy: disallow-subclassing-any=False, disallow-untyped-decorators=False
"""A fal app of raw WebSocket endpoints using Starlette's WebSocket surface, as fal users do.

fal 1.83.0 hands an `is_websocket=True` handler a `starlette.websockets.WebSocket`: the ASGI
`receive()` dict loop, `iter_json`, `headers`, `query_params`, `send_json`. It runs on the fal
runner as is; `tests/interop/test_moved_fal_apps.py` moves it to the reference by changing
only its two import lines and drives both with the real `fal_client` (`ws_connect`,
`ws_connect_async`).
"""

import fal
from fastapi import WebSocket  # type: ignore[import-not-found]


class RawApp(fal.App):
    @fal.endpoint("/messages", is_websocket=True)
    async def messages(self, websocket: WebSocket) -> None:
        """Text t -> {"text": t, ...}; binary b -> b reversed; ends on the client's close."""
        await websocket.accept()
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await websocket.send_json(
                    {
                        "text": message["text"],
                        "has_user_agent": "User-Agent" in websocket.headers,
                        "missing_param": websocket.query_params.get("missing", "none"),
                    }
                )
            else:
                await websocket.send_bytes(message["bytes"][::-1])

    @fal.endpoint("/json", is_websocket=True)
    async def json_lines(self, websocket: WebSocket) -> None:
        """Each JSON text message is answered; {"stop": true} closes with 1000."""
        await websocket.accept()
        async for value in websocket.iter_json():
            if value.get("stop"):
                await websocket.close()
                return
            await websocket.send_json({"got": value, "keys": sorted(value)}, mode="text")
