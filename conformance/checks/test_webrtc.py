"""WebRTC signaling on a realtime endpoint (spec chapter 11-webrtc; `webrtc-signaling`)."""

from __future__ import annotations

import pytest

from conformance.failures import ConformanceFailure, fail, requirement
from conformance.wire import Conn, Target

pytestmark = pytest.mark.feature("webrtc-signaling")
PATH = "/realtime/webrtc"
SIGNALING = "webrtc-signaling"  # outputs are signaling messages (spec 11), not {"output": ...}
OFFER = {"type": "offer", "sdp": "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}
END = {"type": "icecandidate", "candidate": None}


def _ready(conn: Conn) -> None:
    with requirement("RT-RTC-001"):
        assert conn.recv_output(schema=SIGNALING, missing=("RT-RTC-001",)) == {"type": "ready"}


@pytest.mark.req("RT-RTC-001", "RT-RTC-003", "RT-CONF-020")
def test_server_signals_ready_then_answers_offer(target: Target) -> None:
    """`ready` comes first; an offer gets an answer with a non-empty SDP."""
    with target.connect(PATH) as conn:
        _ready(conn)
        conn.send_msgpack(OFFER)
        with requirement("RT-RTC-003"):
            answer = conn.recv_output(schema=SIGNALING)
            assert answer.get("type") in ("answer", "error"), answer
            if answer["type"] == "answer":
                assert isinstance(answer.get("sdp"), str), answer
                assert answer["sdp"], answer
        if answer["type"] == "answer":
            with requirement("RT-CONF-020"):  # candidates (if any), then their end
                while (out := conn.recv_output(schema=SIGNALING)) != END:
                    assert out.get("type") == "icecandidate", out
                    assert isinstance(out.get("candidate"), dict), out


@pytest.mark.req("RT-RTC-008")
def test_server_sends_no_answer_before_the_offer(target: Target) -> None:
    """After `ready`, a candidate and an unknown message get nothing: no answer without an offer."""
    with target.connect(PATH) as conn:
        _ready(conn)
        conn.send_msgpack({"type": "icecandidate", "candidate": None})
        conn.send_msgpack({"type": "rt-unknown-signal"})
        try:
            early = conn.recv(timeout=target.scale(1.0))
        except ConformanceFailure:
            return  # nothing came: right
        with requirement("RT-RTC-008"):
            value = early.value if isinstance(early.value, dict) else {}
            assert value.get("type") not in ("answer", "icecandidate"), (
                f"the server sent {early.summary()} before any offer"
            )


@pytest.mark.req("RT-RTC-003")
def test_server_answers_bad_offer_with_error(target: Target) -> None:
    """An offer without a str `sdp` gets a signaling error output."""
    with target.connect(PATH) as conn:
        _ready(conn)
        conn.send_msgpack({"type": "offer", "sdp": 5})
        with requirement("RT-RTC-003"):
            out = conn.recv_output(schema=SIGNALING)
            assert out.get("type") == "error", out
            assert isinstance(out.get("error"), str), out


@pytest.mark.req("RT-RTC-004", "RT-RTC-005")
def test_server_accepts_end_of_candidates_and_ignores_unknown_types(target: Target) -> None:
    """A nil icecandidate and an unknown message type get no output; the session goes on."""
    with target.connect(PATH) as conn:
        _ready(conn)
        conn.send_msgpack({"type": "icecandidate", "candidate": None})
        conn.send_msgpack({"type": "rt-unknown-signal", "x": 1})
        conn.send_msgpack(OFFER)
        with requirement("RT-RTC-004", "RT-RTC-005"):
            out = conn.recv_output(schema=SIGNALING)
            assert out.get("type") in ("answer", "error"), f"unexpected output {out}"


@pytest.mark.req("RT-RTC-007")
def test_server_keeps_quiet_signaling_session(target: Target) -> None:
    """A signaling session outlives an idle period longer than the app's other timeouts."""
    with target.connect(PATH) as conn:
        _ready(conn)
        try:
            early = conn.recv(timeout=1.5)  # nothing may arrive, not even the end of the session
        except ConformanceFailure:
            early = None
        if early is not None:
            kind = early.value.get("type") if isinstance(early.value, dict) else None
            early_signal = kind in ("answer", "icecandidate")  # an answer before the offer
            blame = "RT-RTC-008" if early_signal else "RT-RTC-007"
            fail(f"the quiet session got {early.summary()}", blame)
        conn.send_msgpack(OFFER)
        with requirement("RT-RTC-007"):
            assert conn.recv_output(schema=SIGNALING).get("type") in ("answer", "error")
