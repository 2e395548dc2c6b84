"""A WebRTC media client over a realtime signaling endpoint (spec 11-webrtc). Needs `[webrtc]`.

    from reference.client.webrtc import FrameSource, webrtc_connect

    source = FrameSource(lambda: next_frame(), fps=30)       # any av.VideoFrame producer
    async with webrtc_connect("ws://127.0.0.1:8765", source) as session:
        frame = await session.recv_frame(timeout=5)          # the server's returned frames

Signaling runs over `realtime_async` (so tokens, keys and gateway paths work as for any realtime
endpoint); media runs peer to peer on 127.0.0.1 only, with no ICE servers (RT-CONF-032). The
client offers after `ready` (RT-RTC-002), trickles its candidates and their end, applies the
server's candidates (loopback only; before the answer they wait for it, RT-RTC-012), accepts
`iceServers` or `ice_servers` (RT-RTC-006, recorded, never used on loopback) and ignores unknown
message types (RT-RTC-005). This module is separate so that `import reference.client` never
imports aiortc.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiortc import MediaStreamTrack
from av import VideoFrame

from reference.client import AsyncRealtimeConnection, realtime_async
from reference.webrtc.peer import LoopbackPeer

DEFAULT_PATH = "/realtime/webrtc"
VIDEO_CLOCK = 90_000  # RTP video clock rate (Hz)


class WebRTCError(Exception):
    """The server sent a signaling `error`, or the session ended before media could start."""


class FrameSource(MediaStreamTrack):
    """A video track paced at `fps` whose frames come from `next_frame()` (any producer)."""

    kind = "video"

    def __init__(self, next_frame: Callable[[], VideoFrame], fps: float = 30.0) -> None:
        super().__init__()
        self.next_frame = next_frame
        self.period = 1.0 / fps
        self.sent = 0
        self._start: float | None = None

    async def recv(self) -> VideoFrame:
        """The next frame, on the fps schedule, stamped with its 90 kHz presentation time."""
        now = time.monotonic()
        if self._start is None:
            self._start = now
        due = self._start + self.sent * self.period
        if due > now:
            await asyncio.sleep(due - now)
        frame = self.next_frame()
        frame.pts = int(self.sent * self.period * VIDEO_CLOCK)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.sent += 1
        return frame


def _video(frame: object) -> VideoFrame:
    if not isinstance(frame, VideoFrame):
        raise WebRTCError(f"expected a video frame, got {type(frame).__name__}")
    return frame


class WebRTCSession:
    """One media session: the signaling connection, the peer, and the returned video track."""

    def __init__(self, conn: AsyncRealtimeConnection, peer: LoopbackPeer) -> None:
        self.conn = conn
        self.peer = peer
        self.ice_servers: list[Any] = []
        self.errors: list[str] = []
        self.server_candidates: list[dict[str, Any]] = []
        self.answered = asyncio.Event()
        self.ended = asyncio.Event()
        self._track: asyncio.Future[MediaStreamTrack] = asyncio.get_running_loop().create_future()
        peer.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "video" and not self._track.done():
            self._track.set_result(track)

    async def track(self, timeout: float | None = None) -> MediaStreamTrack:
        """The server's video track (after the answer)."""
        return await asyncio.wait_for(asyncio.shield(self._track), timeout)

    async def recv_frame(self, timeout: float | None = None) -> VideoFrame:
        """The next frame the server sent back (raises TimeoutError after `timeout`)."""
        track = await self.track(timeout)
        return _video(await asyncio.wait_for(track.recv(), timeout))

    async def frames(self) -> AsyncIterator[VideoFrame]:
        """Every returned frame until the media session ends."""
        track = await self.track()
        while True:
            try:
                frame = await track.recv()
            except Exception:  # MediaStreamError: the track ended
                return
            yield _video(frame)

    async def signal(self, message: Any) -> None:
        """Handle one signaling message from the server."""
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        if kind in ("ready", "iceservers"):
            servers = message.get("iceServers", message.get("ice_servers"))  # RT-RTC-006
            if isinstance(servers, list):
                self.ice_servers = servers
        elif kind == "answer" and isinstance(message.get("sdp"), str):
            await self.peer.set_remote(message["sdp"], "answer")
            self.answered.set()
        elif kind == "icecandidate" and "candidate" in message:
            if message["candidate"] is not None:
                self.server_candidates.append(message["candidate"])
            await self.peer.add_candidate(message["candidate"])  # RT-RTC-004, RT-RTC-012
        elif kind == "error":
            self.errors.append(str(message.get("error")))
            self.answered.set()
        # anything else: ignored (RT-RTC-005)

    async def pump(self) -> None:
        """Read signaling messages until the session ends."""
        try:
            while (message := await self.conn.recv()) is not None:
                await self.signal(message)
        finally:
            self.ended.set()
            self.answered.set()


async def _wait_ready(
    conn: AsyncRealtimeConnection, session: WebRTCSession, timeout: float
) -> None:
    """Wait for `ready` (RT-RTC-002), skipping message types this client does not know."""
    while True:
        message = await conn.recv(timeout=timeout)
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "ready":
            await session.signal(message)
            return
        if message is None or kind == "error":
            raise WebRTCError(f"the session ended before ready: {message!r}")
        # anything else before ready is not for this client (RT-RTC-005)


@contextlib.asynccontextmanager
async def webrtc_connect(
    target: str,
    source: MediaStreamTrack,
    *,
    path: str | None = DEFAULT_PATH,
    timeout: float = 10.0,
    **realtime_args: Any,
) -> AsyncIterator[WebRTCSession]:
    """Open a signaling session, send `source`'s video, and yield once the answer is applied.

    `realtime_args` go to `realtime_async` (base_url, token, key, ...). Raises WebRTCError when
    the server answers the offer with an `error` or ends the session first.
    """
    async with realtime_async(target, path=path, **realtime_args) as conn:
        peer = LoopbackPeer()
        session = WebRTCSession(conn, peer)
        pump: asyncio.Task[None] | None = None
        try:
            await _wait_ready(conn, session, timeout)  # RT-RTC-002: offer only after ready
            peer.pc.addTrack(source)
            offer = await peer.set_local(peer.pc.createOffer)
            await conn.send({"type": "offer", "sdp": offer})
            for candidate in peer.local_candidates:
                await conn.send({"type": "icecandidate", "candidate": candidate})
            await conn.send({"type": "icecandidate", "candidate": None})
            pump = asyncio.ensure_future(session.pump())
            await asyncio.wait_for(session.answered.wait(), timeout)
            if not peer.has_remote:
                raise WebRTCError("; ".join(session.errors) or "the session ended before an answer")
            yield session
        finally:
            if pump is not None:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await pump
            await peer.close()
