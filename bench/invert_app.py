"""The conformance app plus `/realtime/invert`, the WebSocket-msgpack twin of the media path.

Served by `bench/webrtc_media.py` (`python -m reference serve --app bench.invert_app:InvertApp`):
an input `{"frame": <bin rgb24 bytes>}` gets `{"frame": <the bytes with v -> 255 - v>}`, the
same inversion `/realtime/webrtc` applies to video frames, so the two paths can be compared.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from reference import realtime
from reference.apps.conformance import ConformanceApp

INVERT = bytes(range(255, -1, -1))


class Frame(BaseModel):
    model_config = ConfigDict(strict=True)

    frame: bytes


class InvertApp(ConformanceApp):
    """Every conformance-app route, and one unary route inverting raw RGB bytes."""

    @realtime("/realtime/invert")
    async def invert(self, inp: Frame) -> dict[str, bytes]:
        return {"frame": inp.frame.translate(INVERT)}
