"""The media side of `/realtime/webrtc` (feature `webrtc-media`, spec 11-webrtc). Needs `[webrtc]`.

One session is one `LoopbackPeer`. The client offers (RT-RTC-002); the server answers with an
SDP that has no candidates, then trickles its 127.0.0.1 candidates and their end (RT-RTC-011).
The client's candidates are applied as they come, loopback only, queued while no offer has been
applied (RT-RTC-012). The first video track of the offer comes back inverted (RT-CONF-030).
The session ends when the peer connection closes, or after an `error` when it fails, and
closes the peer when the client ends the session (RT-RTC-015).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from reference.webrtc.invert import InvertedTrack
from reference.webrtc.messages import READY, error, offer_sdp
from reference.webrtc.peer import ENDED_STATES, LoopbackPeer

_INPUT_ENDED = object()
_CLOSING: set[asyncio.Future[None]] = set()
_PEER_ENDED = object()


async def _forward(signals: AsyncIterator[Mapping[str, Any]], events: asyncio.Queue[Any]) -> None:
    try:
        async for message in signals:
            events.put_nowait(message)
    finally:
        events.put_nowait(_INPUT_ENDED)


async def _answer(peer: LoopbackPeer, offer: str) -> str:
    """Apply the offer, send the first video track back inverted, return the bare answer."""
    await peer.set_remote(offer, "offer")
    for transceiver in peer.pc.getTransceivers():
        if transceiver.kind == "video" and transceiver.receiver.track is not None:
            peer.pc.addTrack(InvertedTrack(transceiver.receiver.track))
            break
    return await peer.set_local(peer.pc.createAnswer)


class _Session:
    """What one signaling session knows: its peer (after the offer) and the event queue."""

    def __init__(self) -> None:
        self.events: asyncio.Queue[Any] = asyncio.Queue()
        self.peer: LoopbackPeer | None = None

    def watch(self, peer: LoopbackPeer) -> None:
        def changed() -> None:
            if peer.state in ENDED_STATES:
                self.events.put_nowait(_PEER_ENDED)

        peer.pc.on("connectionstatechange", changed)

    async def offer(self, message: Mapping[str, Any]) -> list[dict[str, Any]]:
        text = offer_sdp(message)
        if text is None:
            return [error("an offer needs a str sdp")]
        if self.peer is not None and self.peer.has_remote:
            return [error("one offer per session: renegotiation is not supported")]
        peer = self.peer or LoopbackPeer()
        try:
            answer = await _answer(peer, text)
        except Exception as exc:  # a bad offer: say why, keep the session (RT-RTC-003)
            await peer.close()
            self.peer = None
            return [error(f"cannot answer this offer: {exc}")]
        self.peer = peer
        self.watch(peer)
        trickle = [{"type": "icecandidate", "candidate": c} for c in peer.local_candidates]
        end = {"type": "icecandidate", "candidate": None}
        return [{"type": "answer", "sdp": answer}, *trickle, end]

    async def candidate(self, message: Mapping[str, Any]) -> list[dict[str, Any]]:
        if "candidate" not in message:
            return [error("an icecandidate needs a candidate (a map, or nil at the end)")]
        value = message["candidate"]
        if value is not None and not isinstance(value, Mapping):
            return [error("an icecandidate's candidate must be a map or nil")]
        if self.peer is None:
            self.peer = LoopbackPeer()  # holds the candidate until the offer (RT-RTC-012)
        try:
            await self.peer.add_candidate(value)
        except Exception as exc:  # unusable candidate: reported, session goes on (RT-RTC-014)
            return [error(f"cannot use this candidate: {exc}")]
        return []

    async def close(self) -> None:
        if self.peer is not None:
            await self.peer.close()


async def media_session(signals: AsyncIterator[Mapping[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    """`ready`, then answers, candidates and errors until the peer or the client ends it."""
    session = _Session()
    reader = asyncio.ensure_future(_forward(signals, session.events))
    try:
        yield READY  # RT-RTC-001
        while True:
            event = await session.events.get()
            if event is _INPUT_ENDED:
                return
            if event is _PEER_ENDED:
                if session.peer is not None and session.peer.state == "failed":
                    yield error("the peer connection failed")  # RT-RTC-015
                return
            kind = event.get("type")
            if kind == "offer":
                replies = await session.offer(event)
            elif kind == "icecandidate":
                replies = await session.candidate(event)
            else:
                replies = []  # unknown types (RT-RTC-005)
            for reply in replies:
                yield reply
    finally:
        reader.cancel()
        # Shielded: a server may cancel the handler more than once while it leaves (the client's
        # close frame, then the lost connection); the peer must still close (RT-RTC-015).
        closing = asyncio.ensure_future(session.close())
        _CLOSING.add(closing)  # held until done: the event loop keeps only weak references
        closing.add_done_callback(_CLOSING.discard)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(closing)
