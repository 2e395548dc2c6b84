"""The suite's own WebRTC peer for the `webrtc-media` checks (spec 11-webrtc, 13 RT-CONF-030..032).

Written from the spec, sharing nothing with `reference/`. It needs aiortc (the `[webrtc]` extra),
imported only when a `webrtc-media` check runs. The peer lives on its own asyncio loop in a
thread, so the checks keep their synchronous, traced signaling connection (`conformance.wire`).

Media stays on the machine: no ICE servers, host candidates gathered on 127.0.0.1 only (aioice
leaves loopback out by default; each ICE agent of this peer is told otherwise), and remote
candidates that are not 127.0.0.1 are never given to the ICE agent. The outgoing track sends
solid frames of the colour the check sets; every returned frame is sampled at its centre.
"""

from __future__ import annotations

import asyncio
import fractions
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from aioice import Candidate, Connection
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceCandidate,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.sdp import candidate_from_sdp
from av import VideoFrame

LOOPBACK = "127.0.0.1"
CLOCK = 90_000
T = TypeVar("T")


def candidate_address(candidate: str) -> str | None:
    """The connection address of a candidate attribute (with or without `candidate:`)."""
    fields = candidate.removeprefix("a=").removeprefix("candidate:").split()
    return fields[4] if len(fields) >= 8 else None


def description_candidates(sdp: str) -> list[str]:
    """The `a=candidate:` lines of a description."""
    return [line for line in sdp.splitlines() if line.startswith("a=candidate:")]


def bare_description(sdp: str) -> tuple[str, list[dict[str, Any]]]:
    """The description without candidate lines, and its candidates as trickle messages."""
    kept: list[str] = []
    found: list[tuple[int, str]] = []
    index = -1
    for line in sdp.splitlines():
        if line.startswith("m="):
            index += 1
        if line.startswith("a=candidate:"):
            found.append((index, line[2:]))
        elif line != "a=end-of-candidates":
            kept.append(line)
    mids = _mids(kept)
    messages = [{"candidate": text, "sdpMid": mids.get(i), "sdpMLineIndex": i} for i, text in found]
    return "\r\n".join(kept) + "\r\n", messages


def _mids(lines: list[str]) -> dict[int, str]:
    """m-section index -> its `a=mid` value."""
    mids: dict[int, str] = {}
    section = -1
    for line in lines:
        if line.startswith("m="):
            section += 1
        elif line.startswith("a=mid:"):
            mids[section] = line[6:]
    return mids


def loopback_only_description(sdp: str) -> str:
    """The description without candidates on any address other than 127.0.0.1."""
    lines = [
        line
        for line in sdp.splitlines()
        if not line.startswith("a=candidate:") or candidate_address(line) == LOOPBACK
    ]
    return "\r\n".join(lines) + "\r\n"


def _gather_on_loopback(connection: Connection) -> None:
    original = connection.get_component_candidates

    async def loopback(component: int, addresses: list[str], timeout: int = 5) -> list[Candidate]:
        return await original(component=component, addresses=[LOOPBACK], timeout=timeout)

    connection.get_component_candidates = loopback  # type: ignore[method-assign]


@dataclass(frozen=True)
class Returned:
    """One frame the server sent back: when it arrived, its size and its centre colour."""

    at: float
    width: int
    height: int
    rgb: tuple[int, int, int]


def solid_frame(rgb: tuple[int, int, int], width: int, height: int) -> VideoFrame:
    """A frame of one colour."""
    frame = VideoFrame(width, height, "rgb24")
    frame.planes[0].update(bytes(rgb) * (frame.planes[0].line_size // 3 * height))
    return frame


def centre_colour(frame: VideoFrame) -> tuple[int, int, int]:
    """The RGB colour of a frame's centre pixel."""
    rgb = frame if frame.format.name == "rgb24" else frame.to_rgb()
    plane = rgb.planes[0]
    data = memoryview(plane)
    offset = plane.line_size * (rgb.height // 2) + rgb.width // 2 * 3
    return data[offset], data[offset + 1], data[offset + 2]


class ColourTrack(MediaStreamTrack):
    """Solid frames of `colour`, paced at `fps`, with the time of the last colour change."""

    kind = "video"

    def __init__(self, width: int, height: int, fps: float) -> None:
        super().__init__()
        self.width, self.height, self.period = width, height, 1.0 / fps
        self.colour: tuple[int, int, int] = (0, 0, 0)
        self.sent = 0
        self._start: float | None = None

    async def recv(self) -> VideoFrame:
        now = time.monotonic()
        self._start = now if self._start is None else self._start
        due = self._start + self.sent * self.period
        if due > now:
            await asyncio.sleep(due - now)
        frame = solid_frame(self.colour, self.width, self.height)
        frame.pts = int(self.sent * self.period * CLOCK)
        frame.time_base = fractions.Fraction(1, CLOCK)
        self.sent += 1
        return frame


class MediaPeer:
    """A loopback aiortc peer on a private event loop; every method is called from the check."""

    def __init__(self, width: int = 320, height: int = 240, fps: float = 30.0) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.track = ColourTrack(width, height, fps)
        self.returned: list[Returned] = []
        self.ignored: list[str] = []
        self._reader: asyncio.Future[None] | None = None
        self._changed = threading.Condition()  # a frame came back or the connection state moved
        self.pc: RTCPeerConnection = self.call(self._create(), 10)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run a coroutine on the peer's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _create(self) -> RTCPeerConnection:
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no STUN/TURN (RT-CONF-032)
        pc.addTrack(self.track)
        pc.on("track", self._on_track)
        pc.on("connectionstatechange", self._notify)
        return pc

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "video":
            self._reader = asyncio.ensure_future(self._read(track))

    async def _read(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except Exception:  # the track ended
                return
            if isinstance(frame, VideoFrame):
                sample = Returned(time.monotonic(), frame.width, frame.height, centre_colour(frame))
                with self._changed:
                    self.returned.append(sample)
                    self._changed.notify_all()

    def offer(self) -> tuple[str, list[dict[str, Any]]]:
        """The offer without candidates, and this peer's (loopback) candidates to trickle."""
        return bare_description(self.call(self._offer(), 15))

    async def _offer(self) -> str:
        description = await self.pc.createOffer()
        for transceiver in self.pc.getTransceivers():
            _gather_on_loopback(transceiver.sender.transport.transport.iceGatherer._connection)
        await self.pc.setLocalDescription(description)
        return str(self.pc.localDescription.sdp)

    def apply_answer(self, sdp: str) -> None:
        """Set the server's answer (loopback candidates only) as the remote description."""
        description = RTCSessionDescription(loopback_only_description(sdp), "answer")
        self.call(self.pc.setRemoteDescription(description), 15)

    def add_candidate(self, init: dict[str, Any] | None) -> bool:
        """Give one trickled candidate to the ICE agent; False when it is not 127.0.0.1."""
        if init is None:
            self.call(self.pc.addIceCandidate(None), 5)
            return True
        text = str(init.get("candidate", ""))
        if candidate_address(text) != LOOPBACK:
            self.ignored.append(text)
            return False
        candidate: RTCIceCandidate = candidate_from_sdp(text.removeprefix("candidate:"))
        mid, index = init.get("sdpMid"), init.get("sdpMLineIndex")
        candidate.sdpMid = mid if isinstance(mid, str) else None
        candidate.sdpMLineIndex = index if isinstance(index, int) else None
        if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
            candidate.sdpMLineIndex = 0
        self.call(self.pc.addIceCandidate(candidate), 5)
        return True

    def wait_state(self, states: set[str], timeout: float) -> str:
        """Wait until the connection state is one of `states` (or the deadline); return it."""
        with self._changed:
            self._changed.wait_for(lambda: self.pc.connectionState in states, timeout)
        return str(self.pc.connectionState)

    def show(self, rgb: tuple[int, int, int]) -> float:
        """Send frames of colour `rgb` from now on; returns the time of the change."""
        self.track.colour = rgb
        return time.monotonic()

    def wait_returned(
        self, want: tuple[int, int, int], since: float, tolerance: int, timeout: float
    ) -> Returned | None:
        """The first frame returned after `since` whose centre is within `tolerance` of `want`."""
        seen = 0
        found: list[Returned] = []

        def arrived() -> bool:
            nonlocal seen
            for frame in self.returned[seen:]:
                close = all(abs(a - b) <= tolerance for a, b in zip(frame.rgb, want, strict=True))
                if frame.at >= since and close:
                    found.append(frame)
                    return True
            seen = len(self.returned)
            return False

        with self._changed:
            self._changed.wait_for(arrived, timeout)
        return found[0] if found else None

    def wait_count(self, count: int, timeout: float) -> bool:
        """Wait until `count` frames in all have come back; False at the deadline."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.returned) >= count, timeout)

    def hang_up(self) -> None:
        """Close the peer connection (the signaling session is the server's to end)."""
        self.track.stop()
        self.call(self.pc.close(), 10)

    def close(self) -> None:
        """Close the peer connection and stop its loop (idempotent)."""
        if self.loop.is_closed():
            return
        try:
            self.hang_up()
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()
