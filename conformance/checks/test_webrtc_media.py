"""WebRTC media through the conformance app (spec 11-webrtc, 13 RT-CONF-030..032; `webrtc-media`).

The suite connects its own aiortc peer (`conformance.media_peer`) over the traced signaling
session, on 127.0.0.1 host candidates only, sends solid frames of known colours and waits for the
inverted colours to come back. It reports the frame rate and the colour-change latency it saw.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from conformance.failures import ConformanceFailure, HarnessError, fail, mark_verified, requirement
from conformance.wire import Conn, Target

pytestmark = pytest.mark.feature("webrtc-media")
PATH = "/realtime/webrtc"
SIGNALING = "webrtc-signaling"
TOLERANCE = 24  # lossy video (YUV 4:2:0, VP8/H.264) moves a flat colour by a few levels
COLOURS = [(200, 30, 90), (0, 0, 0), (255, 255, 255), (20, 240, 128)]
END = {"type": "icecandidate", "candidate": None}


def inverse(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return (255 - rgb[0], 255 - rgb[1], 255 - rgb[2])


@pytest.fixture
def peer() -> Iterator[Any]:
    """The suite's media peer (needs aiortc: without it the check errors, never passes)."""
    try:
        from conformance.media_peer import MediaPeer
    except ImportError as exc:
        raise HarnessError(
            "checking webrtc-media needs aiortc: pip install 'realtime-endpoint-protocol[webrtc]'"
        ) from exc
    media = MediaPeer()
    try:
        yield media
    finally:
        media.close()


def _offer(conn: Conn, peer: Any, *, early: bool = False) -> None:
    """ready, then the offer and this peer's candidates (before the offer when `early`)."""
    with requirement("RT-RTC-001"):
        assert conn.recv_output(schema=SIGNALING, missing=("RT-RTC-001",)) == {"type": "ready"}
    offer, candidates = peer.offer()
    trickle = [{"type": "icecandidate", "candidate": c} for c in candidates] + [END]
    if early:
        for message in trickle[:-1]:
            conn.send_msgpack(message)
    conn.send_msgpack({"type": "offer", "sdp": offer})
    for message in trickle[-1:] if early else trickle:
        conn.send_msgpack(message)


def _answer(conn: Conn, target: Target) -> tuple[str, list[dict[str, Any]]]:
    """The answer's SDP and the candidates the server trickled up to their end (RT-RTC-011)."""
    with requirement("RT-RTC-003", "RT-CONF-030"):
        answer = conn.recv_output(target.scale(15), schema=SIGNALING)
        assert answer.get("type") == "answer", f"a webrtc-media server must answer: {answer}"
        assert isinstance(answer.get("sdp"), str), answer
    candidates = []
    with requirement("RT-RTC-011"):
        while (message := conn.recv_output(target.scale(10), schema=SIGNALING)) != END:
            if message.get("type") == "answer":
                fail(f"a second answer to one offer: {message}", "RT-RTC-003")
            assert message.get("type") == "icecandidate", f"expected candidates, got {message}"
            candidates.append(message["candidate"])
    return answer["sdp"], candidates


def _connect(
    conn: Conn,
    target: Target,
    peer: Any,
    *,
    use_server_candidates: bool = True,
    early: bool = False,
    blame: str = "RT-RTC-010",
) -> None:
    """Signal and wait until the peer connection is up.

    With `use_server_candidates` False the connection can only come up if the server uses the
    candidates this peer trickled; if it does not, the failure blames `blame`.
    """
    from conformance.media_peer import bare_description

    _offer(conn, peer, early=early)
    sdp, candidates = _answer(conn, target)
    if use_server_candidates:
        peer.apply_answer(sdp)
        for candidate in candidates:
            peer.add_candidate(candidate)
        peer.add_candidate(None)
    else:
        peer.apply_answer(bare_description(sdp)[0])
    state = peer.wait_state({"connected", "failed", "closed"}, target.scale(15))
    if state == "connected":
        mark_verified("RT-CONF-032" if use_server_candidates else blame)
    else:
        raise ConformanceFailure(
            f"the media connection over 127.0.0.1 did not come up (state {state}; "
            f"server candidates {candidates}, ignored as not loopback {peer.ignored})",
            ("RT-CONF-032" if use_server_candidates else blame,),
        )


def _expect_inverse(peer: Any, target: Target, rgb: tuple[int, int, int]) -> Any:
    since = peer.show(rgb)
    frame = peer.wait_returned(inverse(rgb), since, TOLERANCE, target.scale(5))
    if frame is None:
        unchanged = peer.wait_returned(rgb, since, TOLERANCE, 0)
        seen = [f.rgb for f in peer.returned[-3:]]
        what = "came back unchanged" if unchanged else f"came back as {seen or 'nothing'}"
        raise ConformanceFailure(
            f"frames of colour {rgb} {what}; expected {inverse(rgb)} (+-{TOLERANCE})",
            ("RT-CONF-030",),
        )
    return frame


@pytest.mark.req("RT-CONF-030", "RT-CONF-032", "RT-RTC-003", "RT-RTC-011")
def test_server_returns_every_colour_inverted(target: Target, peer: Any) -> None:
    """Each colour sent comes back inverted, at the sent size, over loopback candidates."""
    with target.connect(PATH) as conn:
        _connect(conn, target, peer)
        for rgb in COLOURS:
            frame = _expect_inverse(peer, target, rgb)
            with requirement("RT-CONF-030"):
                size = (frame.width, frame.height)
                assert size == (peer.track.width, peer.track.height), f"size {size}"


@pytest.mark.req("RT-RTC-010")
def test_server_uses_the_candidates_the_client_trickles(target: Target, peer: Any) -> None:
    """This peer ignores the server's candidates: only the server's checks to ours can connect."""
    with target.connect(PATH) as conn:
        _connect(conn, target, peer, use_server_candidates=False)
        _expect_inverse(peer, target, COLOURS[0])


@pytest.mark.req("RT-RTC-012")
def test_server_keeps_candidates_sent_before_the_offer(target: Target, peer: Any) -> None:
    """Candidates trickled before the offer are applied after it, not dropped."""
    with target.connect(PATH) as conn:
        _connect(conn, target, peer, use_server_candidates=False, early=True, blame="RT-RTC-012")


@pytest.mark.req("RT-CONF-031")
def test_server_returns_frames_at_rate_and_latency(
    target: Target, peer: Any, record_property: Callable[[str, object], None]
) -> None:
    """Colour changes show up promptly and most frames come back (the numbers are reported)."""
    with target.connect(PATH) as conn:
        _connect(conn, target, peer)
        _expect_inverse(peer, target, (0, 0, 0))
        start_sent, start_back = peer.track.sent, len(peer.returned)
        latencies = []
        first = peer.returned[-1].at
        for i in range(8):  # about 3 s at 30 fps: 8 colour changes
            rgb = (30 * i, 255 - 30 * i, 128)
            since = peer.show(rgb)
            frame = _expect_inverse(peer, target, rgb)
            latencies.append(frame.at - since)
            peer.wait_count(len(peer.returned) + 9, target.scale(2))  # let ~0.3 s of frames flow
        sent, back = peer.track.sent - start_sent, len(peer.returned) - start_back
        seconds = peer.returned[-1].at - first
    p50 = statistics.median(latencies) * 1000
    fps = back / seconds if seconds > 0 else 0.0
    record_property(
        "webrtc_media",
        f"latency p50 {p50:.0f} ms, max {max(latencies) * 1000:.0f} "
        f"ms; {back}/{sent} frames back, {fps:.1f} fps",
    )
    with requirement("RT-CONF-031"):
        assert p50 <= 1000, f"colour changes took {p50:.0f} ms (p50) to come back"
        assert back * 2 >= sent, f"only {back} of {sent} frames came back"


@pytest.mark.req("RT-RTC-015")
def test_session_ends_when_the_peer_connection_closes(target: Target, peer: Any) -> None:
    """Closing the peer connection ends the signaling session: TIMEOUT, close 1000."""
    with target.connect(PATH) as conn:
        _connect(conn, target, peer)
        peer.hang_up()
        with requirement("RT-RTC-015"):
            error = conn.recv_error(target.scale(15))
            assert error.get("error") == "TIMEOUT", error
            assert conn.recv_close(target.scale(5)).code == 1000


@pytest.mark.req("RT-RTC-014")
def test_server_refuses_a_second_offer_and_keeps_the_media(target: Target, peer: Any) -> None:
    """A second offer gets an `error`; the media session goes on."""
    with target.connect(PATH) as conn:
        _connect(conn, target, peer)
        conn.send_msgpack({"type": "offer", "sdp": peer.pc.localDescription.sdp})
        with requirement("RT-RTC-014"):
            reply = conn.recv_output(target.scale(5), schema=SIGNALING)
            assert reply.get("type") == "error", reply
        _expect_inverse(peer, target, COLOURS[1])


@pytest.mark.req("RT-RTC-015")
def test_server_closes_its_peer_when_the_session_ends(target: Target, peer: Any) -> None:
    """Closing the signaling session ends the media: the server closes its peer connection."""
    with target.connect(PATH) as conn:
        _connect(conn, target, peer)
        conn.close(1000)
    state = peer.wait_state({"closed", "failed"}, target.scale(15))
    with requirement("RT-RTC-015"):
        assert state in ("closed", "failed"), f"the media connection is still {state}"
