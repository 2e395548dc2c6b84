"""`/realtime/webrtc` with a loopback aiortc peer, and its fault switches (spec 11, 13).

Written from the spec, sharing no code with `reference/` or the suite. Without faults: `ready`,
an answer with no candidates in it, the peer's 127.0.0.1 candidates trickled and ended, the
client's candidates applied (loopback only, early ones kept), the first video track sent back
with every RGB value v -> 255 - v, `error` then TIMEOUT when the peer fails, TIMEOUT when it
closes. Needs aiortc (the `[webrtc]` extra); without it an offer gets an `error`.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import msgpack
from broken_app import Inbox, Session
from broken_wire import WsConnection

#: Fault switches of this endpoint, with what each does.
FAULTS: dict[str, str] = {
    "webrtc-no-ready": "the signaling session never sends `ready`",
    "webrtc-answer-before-offer": "a canned `answer` follows `ready` before any offer",
    "webrtc-ignore-candidates": "the client's trickled candidates are never applied",
    "webrtc-media-unchanged": "the returned video track carries the frames unchanged",
    "webrtc-peer-outlives-session": "the peer connection stays up after the client's session ends",
}
#: Peers kept alive by `webrtc-peer-outlives-session` (never closed while the server runs).
ORPHANS: list[Any] = []
MEDIA = all(importlib.util.find_spec(name) is not None for name in ("aiortc", "av"))
CANNED = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
POLL_S = 0.05  # how often the session looks at the peer's state between inputs
END = {"type": "icecandidate", "candidate": None}


def _decode(message: str | bytes) -> dict[str, Any]:
    try:
        value = msgpack.unpackb(message) if isinstance(message, bytes) else None
    except Exception:
        value = None
    return value if isinstance(value, dict) else {}


async def realtime_webrtc(conn: WsConnection, faults: frozenset[str]) -> None:
    """The signaling session; media through `BrokenPeer` when aiortc is installed."""
    session = Session(conn, faults)
    inbox = Inbox(conn)
    peer: Any = None
    try:
        if "webrtc-no-ready" not in faults:
            await session.output({"type": "ready"})
        if "webrtc-answer-before-offer" in faults:
            await session.output({"type": "answer", "sdp": CANNED})
        while True:
            message = await inbox.get(POLL_S)
            if message is None:
                if inbox.closed:
                    return
                if peer is not None and peer.ended():
                    if peer.state() == "failed":
                        await session.output({"type": "error", "error": "peer connection failed"})
                    await session.timeout()
                    return
                continue
            value = _decode(message)
            if value.get("type") == "icecandidate" and "candidate" in value:
                if MEDIA and "webrtc-ignore-candidates" not in faults:
                    peer = peer or _new_peer(faults)
                    await peer.candidate(value["candidate"])
            elif value.get("type") == "offer":
                peer = peer or (_new_peer(faults) if MEDIA else None)
                for reply in await _offer(peer, value.get("sdp")):
                    await session.output(reply)
    finally:
        inbox.stop()
        if peer is not None and "webrtc-peer-outlives-session" in faults and inbox.closed:
            ORPHANS.append(peer)
        elif peer is not None:
            await peer.close()


def _new_peer(faults: frozenset[str]) -> Any:
    from broken_webrtc_peer import BrokenPeer

    return BrokenPeer(invert="webrtc-media-unchanged" not in faults)


async def _offer(peer: Any, sdp: Any) -> list[dict[str, Any]]:
    if not isinstance(sdp, str):
        return [{"type": "error", "error": "an offer needs a str sdp"}]
    if peer is None:
        return [{"type": "error", "error": "no media here: aiortc is not installed"}]
    if peer.answered:
        return [{"type": "error", "error": "one offer per session"}]
    try:
        answer, candidates = await peer.answer(sdp)
    except Exception as exc:
        return [{"type": "error", "error": f"unusable offer: {exc}"}]
    trickle = [{"type": "icecandidate", "candidate": c} for c in candidates]
    return [{"type": "answer", "sdp": answer}, *trickle, END]
