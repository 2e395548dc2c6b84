"""The `/realtime/webrtc` media peer and the WebRTC client over real loopback sockets (spec 11).

Signaling over the reference server (in a thread), media over aiortc on 127.0.0.1: frames of
known colours go out on the client's track and come back inverted (RT-CONF-030), candidates are
trickled and loopback only (RT-RTC-011/013), early candidates wait for the offer (RT-RTC-012),
and the session ends with the peer connection (RT-RTC-015).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Coroutine
from typing import Any

import pytest
from av import VideoFrame
from refhelpers import Running

from reference.client import AsyncRealtimeConnection, realtime_async
from reference.client.webrtc import FrameSource, WebRTCError, WebRTCSession, webrtc_connect
from reference.webrtc import sdp, signaling
from reference.webrtc.invert import invert_frame
from reference.webrtc.peer import MAX_REMOTE_CANDIDATES, LoopbackPeer

PATH = "/realtime/webrtc"
TOLERANCE = 16  # VP8 at low bitrate moves flat colours by a few levels


def run(coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


def solid(rgb: tuple[int, int, int], width: int = 320, height: int = 240) -> VideoFrame:
    frame = VideoFrame(width, height, "rgb24")
    frame.planes[0].update(bytes(rgb) * (frame.planes[0].line_size // 3 * height))
    return frame


def centre(frame: VideoFrame) -> tuple[int, int, int]:
    rgb = frame.to_rgb()
    row = bytes(rgb.planes[0])[rgb.planes[0].line_size * (rgb.height // 2) :]
    x = rgb.width // 2 * 3
    return row[x], row[x + 1], row[x + 2]


def close_to(got: tuple[int, ...], want: tuple[int, ...]) -> bool:
    return all(abs(a - b) <= TOLERANCE for a, b in zip(got, want, strict=True))


class Colours:
    """A frame producer whose colour the test changes while frames flow."""

    def __init__(self, rgb: tuple[int, int, int], size: tuple[int, int] = (320, 240)) -> None:
        self.rgb = rgb
        self.size = size

    def __call__(self) -> VideoFrame:
        return solid(self.rgb, *self.size)


async def first_frame_showing(
    session: WebRTCSession, want: tuple[int, int, int], limit: int = 90
) -> VideoFrame:
    for _ in range(limit):
        frame = await session.recv_frame(timeout=10)
        if close_to(centre(frame), want):
            return frame
    raise AssertionError(f"no returned frame showed {want} in {limit} frames")


# -- media ------------------------------------------------------------------------------------
def test_every_colour_comes_back_inverted(server: Running) -> None:
    async def scenario() -> list[tuple[int, int, int]]:
        colours = Colours((200, 30, 90))
        seen = []
        async with webrtc_connect(server.url, FrameSource(colours, fps=30)) as session:
            for rgb in [(200, 30, 90), (0, 0, 0), (255, 255, 255), (20, 240, 128)]:
                colours.rgb = rgb
                inverse = (255 - rgb[0], 255 - rgb[1], 255 - rgb[2])
                seen.append(centre(await first_frame_showing(session, inverse)))
        return seen

    seen = run(scenario())
    assert len(seen) == 4


def test_returned_frames_keep_their_size(server: Running) -> None:
    async def scenario() -> tuple[int, int]:
        colours = Colours((10, 20, 30), size=(352, 288))
        async with webrtc_connect(server.url, FrameSource(colours)) as session:
            frame = await first_frame_showing(session, (245, 235, 225))
            return frame.width, frame.height

    assert run(scenario()) == (352, 288)


def test_frames_that_do_not_change_are_not_inverted_twice(server: Running) -> None:
    # A server returning its input unchanged would show the sent colour: the inverse must hold.
    async def scenario() -> tuple[int, int, int]:
        async with webrtc_connect(server.url, FrameSource(Colours((250, 5, 5)))) as session:
            for _ in range(10):
                await session.recv_frame(timeout=10)
            return centre(await session.recv_frame(timeout=10))

    got = run(scenario())
    assert close_to(got, (5, 250, 250)), got


def test_invert_frame_maps_each_channel_to_its_complement() -> None:
    frame = solid((0, 100, 255), 4, 2)
    assert centre(invert_frame(frame)) == (255, 155, 0)
    yuv = solid((0, 100, 255), 16, 16).reformat(format="yuv420p")
    assert close_to(centre(invert_frame(yuv)), (255, 155, 0))


# -- signaling on a real peer -----------------------------------------------------------------
async def _offer(conn: AsyncRealtimeConnection, peer: LoopbackPeer) -> None:
    assert await conn.recv(timeout=10) == {"type": "ready"}
    peer.pc.addTrack(FrameSource(Colours((1, 2, 3))))
    await conn.send({"type": "offer", "sdp": await peer.set_local(peer.pc.createOffer)})


async def _answer_and_candidates(conn: AsyncRealtimeConnection) -> list[dict[str, Any]]:
    messages = [await conn.recv(timeout=10)]
    while messages[-1] != {"type": "icecandidate", "candidate": None}:
        messages.append(await conn.recv(timeout=10))
    return messages


def test_descriptions_carry_no_candidates_and_every_candidate_is_loopback(
    server: Running,
) -> None:
    async def scenario() -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
        peer = LoopbackPeer()
        async with realtime_async(server.url, path=PATH) as conn:
            await _offer(conn, peer)
            messages = await _answer_and_candidates(conn)
        await peer.close()
        return peer.pc.localDescription.sdp, peer.local_candidates, messages

    offer, ours, messages = run(scenario())
    answer, *trickled, end = messages
    assert answer["type"] == "answer"
    assert sdp.candidates_in(answer["sdp"]) == []  # RT-RTC-011: trickled, not in the answer
    assert sdp.has_video(answer["sdp"])
    assert trickled, "the server trickled no candidate"
    for message in trickled:
        assert message["type"] == "icecandidate"
        candidate = message["candidate"]
        assert candidate["sdpMid"] == "0"
        assert candidate["sdpMLineIndex"] == 0
        assert sdp.candidate_address(candidate["candidate"]) == "127.0.0.1"  # RT-CONF-032
        assert " typ host" in candidate["candidate"]
    assert end == {"type": "icecandidate", "candidate": None}
    assert ours
    assert all(sdp.is_loopback(c["candidate"]) for c in ours)  # the client's side too
    assert all(sdp.is_loopback(c) for c in sdp.candidates_in(offer))


def test_candidates_sent_before_the_offer_wait_for_it(server: Running) -> None:
    # RT-RTC-012: the server keeps early candidates and applies them after the offer; this
    # client never applies the server's candidates, so only its own (early) ones can connect.
    async def scenario() -> str:
        peer = LoopbackPeer()
        async with realtime_async(server.url, path=PATH) as conn:
            assert await conn.recv(timeout=10) == {"type": "ready"}
            peer.pc.addTrack(FrameSource(Colours((1, 2, 3))))
            offer = await peer.set_local(peer.pc.createOffer)
            for candidate in peer.local_candidates:
                await conn.send({"type": "icecandidate", "candidate": candidate})
            await conn.send({"type": "offer", "sdp": offer})
            answer = (await _answer_and_candidates(conn))[0]
            await peer.set_remote(answer["sdp"], "answer")  # no server candidate applied
            for _ in range(100):
                if peer.state == "connected":
                    break
                await asyncio.sleep(0.1)
            state = peer.state
        await peer.close()
        return state

    assert run(scenario()) == "connected"


def test_non_loopback_candidates_are_ignored() -> None:
    async def scenario() -> tuple[bool, int, list[str]]:
        offerer, answerer = LoopbackPeer(), LoopbackPeer()
        offerer.pc.addTrack(FrameSource(Colours((1, 2, 3))))
        await answerer.set_remote(await offerer.set_local(offerer.pc.createOffer), "offer")
        far = {"candidate": "candidate:1 1 udp 2130706431 192.0.2.1 9 typ host", "sdpMid": "0"}
        used = await answerer.add_candidate(far)
        remote = answerer.pc.getTransceivers()[0].receiver.transport.transport
        addresses = [c.ip for c in remote.getRemoteCandidates()]
        await offerer.close()
        await answerer.close()
        return used, answerer.ignored_candidates, addresses

    used, ignored, addresses = run(scenario())
    assert not used
    assert ignored == 1
    assert "192.0.2.1" not in addresses


def test_keep_loopback_drops_other_candidate_lines() -> None:
    text = (
        "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n"
        "a=candidate:1 1 udp 1 10.1.2.3 5000 typ host\r\n"
        "a=candidate:2 1 udp 1 127.0.0.1 5001 typ host\r\na=end-of-candidates\r\n"
    )
    assert sdp.candidates_in(sdp.keep_loopback(text)) == ["2 1 udp 1 127.0.0.1 5001 typ host"]
    bare, found = sdp.split_candidates(text)
    assert sdp.candidates_in(bare) == []
    assert "end-of-candidates" not in bare
    assert [c["sdpMid"] for c in found] == ["0", "0"]


def test_second_offer_gets_an_error_and_the_media_goes_on(server: Running) -> None:
    async def scenario() -> tuple[dict[str, Any], tuple[int, int, int]]:
        async with webrtc_connect(server.url, FrameSource(Colours((0, 0, 0)))) as session:
            await session.recv_frame(timeout=10)
            await session.conn.send({"type": "offer", "sdp": "v=0\r\n"})
            for _ in range(50):
                if session.errors:
                    break
                await asyncio.sleep(0.1)
            return {"errors": session.errors}, centre(await session.recv_frame(timeout=10))

    errors, colour = run(scenario())
    assert errors["errors"]
    assert "renegotiation" in errors["errors"][0]
    assert close_to(colour, (255, 255, 255))


# -- end of session ---------------------------------------------------------------------------
def test_session_ends_when_the_client_closes_its_peer(server: Running) -> None:
    async def scenario() -> list[str]:
        async with webrtc_connect(server.url, FrameSource(Colours((9, 9, 9)))) as session:
            await session.recv_frame(timeout=10)
            await session.peer.pc.close()
            await asyncio.wait_for(session.ended.wait(), 10)  # TIMEOUT then close (RT-RTC-015)
            return session.errors

    assert run(scenario()) == []


def test_session_ends_with_an_error_when_the_peer_fails(server: Running) -> None:
    # End of candidates with none given, and no checks from this side: ICE fails on the server.
    async def scenario() -> list[Any]:
        peer = LoopbackPeer()
        async with realtime_async(server.url, path=PATH) as conn:
            await _offer(conn, peer)
            await conn.send({"type": "icecandidate", "candidate": None})
            messages = await _answer_and_candidates(conn)
            while (message := await conn.recv(timeout=20)) is not None:
                messages.append(message)
        await peer.close()
        return messages[-1:]

    [last] = run(scenario())
    assert last == {"type": "error", "error": "the peer connection failed"}


def test_client_raises_on_an_error_answer(server: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signaling, "available", lambda: False)

    async def scenario() -> None:
        async with webrtc_connect(server.url, FrameSource(Colours((1, 1, 1)))):
            raise AssertionError("connected without media")

    with pytest.raises(WebRTCError, match="media is not available"):
        run(scenario())


def test_import_reference_client_does_not_import_aiortc() -> None:
    code = (
        "import sys, reference, reference.client, reference.apps.conformance\n"
        "assert 'aiortc' not in sys.modules and 'av' not in sys.modules, 'extra imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_unparsable_candidates_and_floods_are_dropped_without_a_reply(server: Running) -> None:
    # Before the offer, so they would queue: at most MAX_REMOTE_CANDIDATES of them count, and
    # neither junk nor the flood gets an output; the offer is then answered as usual.
    async def scenario() -> dict[str, Any]:
        peer = LoopbackPeer()
        async with realtime_async(server.url, path=PATH) as conn:
            assert await conn.recv(timeout=10) == {"type": "ready"}
            await conn.send({"type": "icecandidate", "candidate": {"candidate": "junk"}})
            flood = "candidate:1 1 udp 1 127.0.0.1 {} typ host"
            for port in range(1000, 1000 + MAX_REMOTE_CANDIDATES + 50):
                candidate = {"candidate": flood.format(port), "sdpMLineIndex": 0}
                await conn.send({"type": "icecandidate", "candidate": candidate})
            peer.pc.addTrack(FrameSource(Colours((1, 2, 3))))
            await conn.send({"type": "offer", "sdp": await peer.set_local(peer.pc.createOffer)})
            first = await conn.recv(timeout=10)
        await peer.close()
        assert isinstance(first, dict)
        return first

    first = run(scenario())
    assert first["type"] == "answer"


def test_peer_counts_at_most_max_remote_candidates() -> None:
    async def scenario() -> tuple[int, int]:
        peer = LoopbackPeer()
        used = 0
        for port in range(2000, 2000 + MAX_REMOTE_CANDIDATES + 10):
            text = f"candidate:1 1 udp 1 127.0.0.1 {port} typ host"
            used += await peer.add_candidate({"candidate": text, "sdpMLineIndex": 0})
        early = len(peer._early)
        await peer.close()
        return used, early

    used, early = run(scenario())
    assert used == MAX_REMOTE_CANDIDATES
    assert early == MAX_REMOTE_CANDIDATES


NO_EXTRA = (
    "import sys\n"
    "sys.modules['aiortc'] = None  # as if the [webrtc] extra were not installed\n"
    "sys.modules['av'] = None\n"
    "from reference.__main__ import main\n"
    "sys.exit(main(['serve', '--host', '127.0.0.1', '--port', '0']))\n"
)


def test_without_the_extra_an_offer_gets_a_media_not_available_error() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", NO_EXTRA], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("ws://"), proc.stderr.read() if proc.stderr else url

        async def scenario() -> list[Any]:
            async with realtime_async(url, path=PATH) as conn:
                got = [await conn.recv(timeout=10)]
                await conn.send({"type": "icecandidate", "candidate": None})
                await conn.send({"type": "offer", "sdp": "v=0\r\n"})
                got.append(await conn.recv(timeout=10))
                return got

        ready, reply = run(scenario())
    finally:
        proc.terminate()
        proc.wait(10)
    assert ready == {"type": "ready"}
    assert reply["type"] == "error"
    assert "media is not available" in reply["error"]


def test_closing_the_signaling_session_closes_the_servers_peer(server: Running) -> None:
    async def scenario() -> str:
        async with webrtc_connect(server.url, FrameSource(Colours((9, 9, 9)))) as session:
            await session.recv_frame(timeout=10)
            await session.conn.close()
            for _ in range(100):
                if session.peer.state in ("closed", "failed"):
                    break
                await asyncio.sleep(0.1)
            return session.peer.state

    assert run(scenario()) in ("closed", "failed")  # RT-RTC-015: the server closed its side


def test_returned_track_sends_the_newest_frame_and_drops_stale_ones() -> None:
    # RT-CONF-031: a sender slower than the source gets the newest frame, never a queue.
    from aiortc import MediaStreamTrack

    from reference.webrtc.invert import InvertedTrack

    class Burst(MediaStreamTrack):
        kind = "video"

        def __init__(self) -> None:
            super().__init__()
            self.made = 0

        async def recv(self) -> VideoFrame:
            if self.made >= 10:
                await asyncio.sleep(3600)  # the burst is over; the source stays open
            frame = solid((self.made, 0, 0), 16, 16)
            frame.pts = self.made
            self.made += 1
            return frame

    async def scenario() -> tuple[int | None, int, int]:
        track = InvertedTrack(Burst())
        for _ in range(50):  # let the pump read the whole burst before anyone asks
            await asyncio.sleep(0)
        frame = await track.recv()
        track.stop()
        return frame.pts, track.received, track.dropped

    pts, received, dropped = run(scenario())
    assert (pts, received, dropped) == (9, 10, 9)
