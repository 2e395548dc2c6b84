"""The aiortc side of the broken server's `/realtime/webrtc` (needs the `[webrtc]` extra).

A peer connection with no ICE servers whose ICE agents gather on 127.0.0.1 only, a track that
returns the newest received frame (inverted, or unchanged under a fault), and candidates that
wait for the offer when they come first.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp
from av import VideoFrame

FLIP = bytes(255 - v for v in range(256))


def _address(candidate: str) -> str:
    fields = candidate.split()
    return fields[4] if len(fields) >= 8 else ""


def _loopback_only(ice: Any) -> None:
    """Make one aioice agent gather on 127.0.0.1 only (it leaves loopback out by default)."""
    gather = ice.get_component_candidates

    async def loopback(component: int, addresses: list[str], timeout: int = 5) -> Any:
        return await gather(component=component, addresses=["127.0.0.1"], timeout=timeout)

    ice.get_component_candidates = loopback


class ReturnTrack(MediaStreamTrack):
    """The newest frame of `source`, inverted unless `invert` is False."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack, invert: bool) -> None:
        super().__init__()
        self.source, self.invert = source, invert
        self.newest: VideoFrame | None = None
        self.fresh = asyncio.Event()
        self.pump = asyncio.ensure_future(self._pump())

    async def _pump(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                frame = await self.source.recv()
                if isinstance(frame, VideoFrame):
                    self.newest = frame
                    self.fresh.set()

    async def recv(self) -> VideoFrame:
        while self.newest is None:
            self.fresh.clear()
            await self.fresh.wait()
        frame, self.newest = self.newest, None
        if not self.invert:
            return frame
        rgb = frame.to_rgb()
        rgb.planes[0].update(bytes(rgb.planes[0]).translate(FLIP))
        return rgb

    def stop(self) -> None:
        super().stop()
        self.pump.cancel()


class BrokenPeer:
    """One session's peer connection."""

    def __init__(self, invert: bool) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.invert = invert
        self.answered = False
        self.early: list[Any] = []

    def state(self) -> str:
        return str(self.pc.connectionState)

    def ended(self) -> bool:
        return self.state() in ("failed", "closed")

    async def answer(self, offer: str) -> tuple[str, list[dict[str, Any]]]:
        kept = [
            line
            for line in offer.splitlines()
            if not line.startswith("a=candidate:") or _address(line) == "127.0.0.1"
        ]
        await self.pc.setRemoteDescription(
            RTCSessionDescription("\r\n".join(kept) + "\r\n", "offer")
        )
        for transceiver in self.pc.getTransceivers():
            if transceiver.kind == "video":
                self.pc.addTrack(ReturnTrack(transceiver.receiver.track, self.invert))
                break
        description = await self.pc.createAnswer()
        for transceiver in self.pc.getTransceivers():
            _loopback_only(transceiver.sender.transport.transport.iceGatherer._connection)
        await self.pc.setLocalDescription(description)
        self.answered = True
        for early in self.early:
            await self.candidate(early)
        return self._split(self.pc.localDescription.sdp)

    @staticmethod
    def _split(sdp: str) -> tuple[str, list[dict[str, Any]]]:
        lines, candidates, index, mid = [], [], -1, None
        for line in sdp.splitlines():
            if line.startswith("m="):
                index += 1
            if line.startswith("a=mid:"):
                mid = line[6:]
            if line.startswith("a=candidate:"):
                candidates.append({"candidate": line[2:], "sdpMid": mid, "sdpMLineIndex": index})
            elif line != "a=end-of-candidates":
                lines.append(line)
        return "\r\n".join(lines) + "\r\n", candidates

    async def candidate(self, init: Any) -> None:
        if not self.answered:
            self.early.append(init)
            return
        if init is None:
            await self.pc.addIceCandidate(None)
            return
        text = str(init.get("candidate", "")) if isinstance(init, dict) else ""
        text = text.removeprefix("candidate:")
        if _address(text) != "127.0.0.1":
            return
        candidate = candidate_from_sdp(text)
        candidate.sdpMid = init.get("sdpMid")
        candidate.sdpMLineIndex = init.get("sdpMLineIndex")
        if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
            candidate.sdpMLineIndex = 0
        await self.pc.addIceCandidate(candidate)

    async def close(self) -> None:
        for sender in self.pc.getSenders():
            if sender.track is not None:
                sender.track.stop()
        await self.pc.close()
