"""The conformance app's media contract (feature `webrtc-media`, RT-CONF-030): invert RGB.

Every frame received on the client's video track comes back on the server's track with each RGB
channel v -> 255 - v, same size and timestamp. The returned track is latest-wins: a pump reads
the incoming track as fast as it is decoded into a one-frame slot, and the outgoing track takes
whatever is newest when the encoder asks for a frame; a frame replaced before it was taken is
dropped (counted), so a slow encoder or receiver never builds a queue (RT-CONF-031).
"""

from __future__ import annotations

import asyncio
import contextlib

from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame

#: v -> 255 - v for every byte value, applied by bytes.translate (C speed, no numpy).
INVERT = bytes(range(255, -1, -1))


def invert_frame(frame: VideoFrame) -> VideoFrame:
    """The frame with its RGB colours inverted, same size, pts and time base (an rgb24 frame).

    The decoder's YUV frame is converted to RGB first, so the contract is about the colours the
    client sent, not about one pixel format; a frame already in rgb24 is inverted in place.
    """
    rgb = frame if frame.format.name == "rgb24" else frame.to_rgb()
    plane = rgb.planes[0]
    plane.update(bytes(plane).translate(INVERT))
    return rgb


class InvertedTrack(MediaStreamTrack):
    """A video track returning the newest frame of `source`, inverted (latest-wins)."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self.source = source
        self.received = 0
        self.sent = 0
        self.dropped = 0
        self._latest: VideoFrame | None = None
        self._fresh = asyncio.Event()
        self._ended = False
        self._pump = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            while True:
                frame = await self.source.recv()
                if not isinstance(frame, VideoFrame):
                    continue  # a video track yields video frames; anything else is not media
                self.received += 1
                if self._latest is not None:
                    self.dropped += 1  # replaced before the sender took it (RT-CONF-031)
                self._latest = frame
                self._fresh.set()
        except MediaStreamError:
            pass
        finally:
            self._ended = True
            self._fresh.set()

    async def recv(self) -> VideoFrame:
        """The next frame to send: the newest received one, inverted."""
        while self._latest is None:
            if self._ended:
                self.stop()
                raise MediaStreamError
            self._fresh.clear()
            await self._fresh.wait()
        frame, self._latest = self._latest, None
        self.sent += 1
        return invert_frame(frame)

    def stop(self) -> None:
        """Stop sending and reading."""
        super().stop()
        self._pump.cancel()
        with contextlib.suppress(Exception):
            self.source.stop()
