"""A loopback-only aiortc peer connection (spec 11-webrtc, RT-CONF-032). Needs `[webrtc]`.

aiortc asks aioice for the machine's addresses, and aioice leaves 127.0.0.1 out of them
(`aioice.ice.get_host_addresses`) while offering every other interface, and aiortc's default
configuration adds a public STUN server. A loopback peer wants the opposite: no ICE servers,
one host candidate on 127.0.0.1, and no remote candidate anywhere else. `LoopbackPeer` wraps an
`RTCPeerConnection` built that way; its ICE agents gather on 127.0.0.1 only, which is done per
connection (not by patching aioice globally) so other aiortc users in the process are unaffected.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aioice import Candidate, Connection
from aiortc import RTCConfiguration, RTCIceCandidate, RTCPeerConnection, RTCSessionDescription
from aiortc.sdp import candidate_from_sdp

from reference.webrtc import sdp

#: Peer connection states after which no media flows again (chapter 11, end of session).
ENDED_STATES = frozenset({"failed", "closed"})
#: Remote candidates one peer takes (queued early ones included); more is a flood, refused so
#: that a client cannot grow the ICE agent's check list or the early queue without bound.
MAX_REMOTE_CANDIDATES = 64


def gather_on_loopback(connection: Connection) -> None:
    """Make one aioice agent gather its host candidates on 127.0.0.1 and nowhere else."""
    if getattr(connection, "_reference_loopback", False):
        return
    original = connection.get_component_candidates

    async def loopback_candidates(
        component: int, addresses: list[str], timeout: int = 5
    ) -> list[Candidate]:
        return await original(component=component, addresses=[sdp.LOOPBACK], timeout=timeout)

    connection.get_component_candidates = loopback_candidates  # type: ignore[method-assign]
    connection._reference_loopback = True  # type: ignore[attr-defined]


def _ice_connections(pc: RTCPeerConnection) -> list[Connection]:
    transports = [t.sender.transport for t in pc.getTransceivers()]
    if pc.sctp is not None:
        transports.append(pc.sctp.transport)
    found = []
    for dtls in transports:
        if dtls is not None:
            found.append(dtls.transport.iceGatherer._connection)
    return found


def to_candidate(message: Mapping[str, Any]) -> RTCIceCandidate:
    """An RTCIceCandidateInit map (`candidate`, `sdpMid`, `sdpMLineIndex`) as aiortc's type."""
    text = message.get("candidate")
    if not isinstance(text, str):
        raise ValueError("an icecandidate needs a str candidate")
    candidate = candidate_from_sdp(sdp.candidate_text(text))
    mid, index = message.get("sdpMid"), message.get("sdpMLineIndex")
    candidate.sdpMid = mid if isinstance(mid, str) else None
    candidate.sdpMLineIndex = index if isinstance(index, int) else None
    if candidate.sdpMid is None and candidate.sdpMLineIndex is None:
        candidate.sdpMLineIndex = 0
    return candidate


class LoopbackPeer:
    """One RTCPeerConnection with no ICE servers, gathering and connecting on 127.0.0.1 only.

    Descriptions go out without candidates (they are trickled: `local_candidates`), and remote
    candidates that are not 127.0.0.1 are dropped, from descriptions and from trickle alike.
    Remote candidates that arrive before the remote description wait for it (RT-RTC-012).
    """

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.local_candidates: list[dict[str, Any]] = []
        self.ignored_candidates = 0
        self.remote_candidates = 0
        self.has_remote = False
        self._early: list[Mapping[str, Any] | None] = []
        self._ended = asyncio.Event()
        self.pc.on("connectionstatechange", self._state_changed)

    def _state_changed(self) -> None:
        if self.pc.connectionState in ENDED_STATES:
            self._ended.set()

    @property
    def state(self) -> str:
        """The RTCPeerConnection's connectionState."""
        return str(self.pc.connectionState)

    async def wait_ended(self) -> str:
        """Wait until the connection fails or closes; returns that state."""
        await self._ended.wait()
        return self.state

    async def set_remote(self, text: str, kind: str) -> None:
        """Apply the remote offer or answer (loopback candidates only), then queued candidates."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp.keep_loopback(text), kind))
        self.has_remote = True
        early, self._early = self._early, []
        for message in early:
            await self.add_candidate(message)

    async def set_local(self, make: Callable[[], Awaitable[RTCSessionDescription]]) -> str:
        """Create and apply the local offer or answer; returns it without candidates."""
        description = await make()
        for connection in _ice_connections(self.pc):
            gather_on_loopback(connection)
        await self.pc.setLocalDescription(description)
        text, self.local_candidates = sdp.split_candidates(self.pc.localDescription.sdp)
        return text

    async def add_candidate(self, message: Mapping[str, Any] | None) -> bool:
        """Apply one trickled candidate (None: end of candidates); False when it is ignored.

        Ignored: a candidate that is not an ICE candidate attribute, one on an address other
        than 127.0.0.1 (RT-CONF-032), and every one past MAX_REMOTE_CANDIDATES.
        """
        if message is not None:
            text = message.get("candidate")
            address = sdp.candidate_address(text) if isinstance(text, str) else None
            self.remote_candidates += 1
            if address != sdp.LOOPBACK or self.remote_candidates > MAX_REMOTE_CANDIDATES:
                self.ignored_candidates += 1
                return False
        if not self.has_remote:
            self._early.append(message)
            return True
        if message is None:
            await self.pc.addIceCandidate(None)
            return True
        await self.pc.addIceCandidate(to_candidate(message))
        return True

    async def close(self) -> None:
        """Close the connection and stop the tracks it sends (idempotent)."""
        for sender in self.pc.getSenders():
            if sender.track is not None:
                sender.track.stop()
        await self.pc.close()
        self._ended.set()
