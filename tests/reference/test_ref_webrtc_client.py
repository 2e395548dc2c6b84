"""The WebRTC client's signaling rules against scripted servers on 127.0.0.1 (spec 11).

The client-adapter contract cannot drive a media client (spec 13.1), so the reference client's
side of RT-RTC-002/004/005/006/012 is tested here: a websockets server plays the script, with an
aiortc peer for the media where the script needs one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack
from av import VideoFrame
from websockets.asyncio.server import ServerConnection, serve

from reference.client.webrtc import FrameSource, webrtc_connect
from reference.webrtc.peer import LoopbackPeer

Script = Callable[[ServerConnection, list[Any]], Awaitable[None]]


def frame() -> VideoFrame:
    out = VideoFrame(160, 120, "rgb24")
    out.planes[0].update(bytes((10, 20, 30)) * (out.planes[0].line_size // 3 * 120))
    return out


async def send(ws: ServerConnection, value: dict[str, Any]) -> None:
    await ws.send(msgpack.packb(value))


async def recv(ws: ServerConnection, seen: list[Any]) -> Any:
    value = msgpack.unpackb(await ws.recv())
    seen.append((time.monotonic(), value))
    return value


async def run_against(
    script: Script, client: Callable[[str], Awaitable[Any]]
) -> tuple[Any, list[Any]]:
    seen: list[Any] = []

    async def handler(ws: ServerConnection) -> None:
        await script(ws, seen)

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        result = await asyncio.wait_for(client(f"ws://127.0.0.1:{port}"), 30)
    return result, seen


async def answer_with_media(ws: ServerConnection, seen: list[Any], early: bool) -> None:
    """A real answer from a loopback peer that ignores the client's candidates; with `early`
    its candidates go out before the answer, so only a client that keeps them can connect."""
    peer = LoopbackPeer()
    offer = await recv(ws, seen)
    await peer.set_remote(offer["sdp"], "offer")
    transceiver = peer.pc.getTransceivers()[0]
    peer.pc.addTrack(transceiver.receiver.track)  # echo the client's video
    answer = await peer.set_local(peer.pc.createAnswer)
    trickle = [{"type": "icecandidate", "candidate": c} for c in peer.local_candidates]
    if early:
        for message in trickle:
            await send(ws, message)
        await send(ws, {"type": "answer", "sdp": answer})
    else:
        await send(ws, {"type": "answer", "sdp": answer})
        for message in trickle:
            await send(ws, message)
    await send(ws, {"type": "icecandidate", "candidate": None})
    try:
        while True:
            await recv(ws, seen)  # the client's candidates: ignored on purpose
    except Exception:
        pass
    finally:
        await peer.close()


def test_client_offers_only_after_ready_and_reads_ice_servers_under_either_name() -> None:
    ready_at: list[float] = []

    async def script(ws: ServerConnection, seen: list[Any]) -> None:
        await asyncio.sleep(0.3)  # the client must wait for ready (RT-RTC-002)
        await send(ws, {"type": "rt-future-kind"})  # ignored (RT-RTC-005)
        ready_at.append(time.monotonic())
        await send(ws, {"type": "ready", "ice_servers": [{"urls": "stun:192.0.2.1"}]})
        await answer_with_media(ws, seen, early=False)

    async def client(url: str) -> Any:
        async with webrtc_connect(url, FrameSource(frame), path=None) as session:
            return session.ice_servers

    ice_servers, seen = asyncio.run(run_against(script, client))
    assert ice_servers == [{"urls": "stun:192.0.2.1"}]  # recorded, never used (loopback only)
    first_at, first = seen[0]
    assert first["type"] == "offer"
    assert first_at >= ready_at[0]


def test_client_keeps_server_candidates_that_arrive_before_the_answer() -> None:
    async def script(ws: ServerConnection, seen: list[Any]) -> None:
        await send(ws, {"type": "ready", "iceServers": []})
        await answer_with_media(ws, seen, early=True)

    async def client(url: str) -> Any:
        async with webrtc_connect(url, FrameSource(frame), path=None) as session:
            got = await session.recv_frame(timeout=15)  # RT-RTC-012: connected via early ones
            return got.width, session.peer.state

    (width, state), _ = asyncio.run(run_against(script, client))
    assert (width, state) == (160, "connected")


def test_client_uses_trickled_candidates_and_accepts_their_end() -> None:
    async def script(ws: ServerConnection, seen: list[Any]) -> None:
        await send(ws, {"type": "ready"})
        await answer_with_media(ws, seen, early=False)

    async def client(url: str) -> Any:
        async with webrtc_connect(url, FrameSource(frame), path=None) as session:
            await session.recv_frame(timeout=15)
            return session.server_candidates, session.peer.state

    (candidates, state), seen = asyncio.run(run_against(script, client))
    assert state == "connected"  # only the server's trickled candidates could connect it
    assert candidates
    sent = [value for _, value in seen]
    assert sent[-1] == {"type": "icecandidate", "candidate": None}  # RT-RTC-011: ended
    assert all(m["type"] == "icecandidate" for m in sent[1:])
