"""The conformance app: strict inputs, failure and signaling features (chapters 08, 09, 11, 13).

Covers RT-CONF-012 (strict input models), `raw-handler-error` (RT-RAW-004/005/007),
`stream-handler-error` (RT-STREAM-007) and `webrtc-signaling` (RT-RTC-001/003/004/005/007),
over real sockets against the reference server.
"""

from __future__ import annotations

from typing import Any

import pytest
from refhelpers import DEADLINE, Running, frames_until_close, is_error, open_ws, pack, recv
from test_ref_server_http import request
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK

from reference.apps.conformance import ConformanceApp

# Inputs pydantic's lax mode would coerce; the conformance app refuses each (RT-CONF-012).
LAX_INPUTS: list[dict[str, Any]] = [
    {"prompt": "p", "fail": "yes"},
    {"prompt": "p", "fail": 1},
    {"prompt": "p", "delay_ms": "5"},
    {"prompt": "p", "delay_ms": 5.0},
    {"prompt": "p", "delay_ms": True},
    {"prompt": "p", "delay_ms": 10_001},
    {"prompt": b"p"},
    {"prompt": 3},
    {"prompt": None},
]


@pytest.mark.parametrize("bad", LAX_INPUTS, ids=repr)
def test_unary_refuses_lax_inputs_and_keeps_the_session(server: Running, bad: Any) -> None:
    with open_ws(server.url + "/realtime") as ws:
        ws.send(pack(bad))
        ws.send(pack({"prompt": "after", "extra": "ignored"}))
        frame, after = recv(ws), recv(ws)
    assert is_error(frame, "INVALID_INPUT"), frame
    assert after == {"output": "after"}


@pytest.mark.parametrize("bad", [b for b in LAX_INPUTS if not isinstance(b["prompt"], bytes)])
def test_http_refuses_lax_inputs_with_422(server: Running, bad: Any) -> None:
    assert request(server.http, "POST", "/", bad)[0] == 422


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ("/realtime/stream", {"prompt": "p", "count": "3"}),
        ("/realtime/stream", {"prompt": "p", "count": 3, "fail": "no"}),
        ("/realtime/batch", {"prompt": "p", "delay_ms": "1"}),
        ("/realtime/bidi", {"prompt": 1}),
    ],
)
def test_other_routes_refuse_lax_inputs(server: Running, path: str, bad: Any) -> None:
    with open_ws(server.url + path) as ws:
        ws.send(pack(bad))
        assert is_error(recv(ws), "INVALID_INPUT")


# -- raw-handler-error ------------------------------------------------------------------------
def test_raw_handler_failure_without_close_ends_with_1011(server: Running) -> None:
    for path in ("/echo", "/owner/app/echo"):
        with open_ws(server.url + path) as ws:
            ws.send(b"\x01")
            assert ws.recv(DEADLINE) == b"\x01"
            ws.send("fail")
            with pytest.raises(ConnectionClosedError):  # RT-RAW-004/005: a 1011 close frame
                ws.recv(DEADLINE)
            assert ws.close_code == 1011
            assert ws.protocol.close_rcvd is not None  # a close frame, not a dropped TCP connection


def test_raw_handler_return_without_close_ends_with_1000(server: Running) -> None:
    with open_ws(server.url + "/echo") as ws:
        ws.send("return")
        with pytest.raises(ConnectionClosedOK):  # RT-RAW-007
            ws.recv(DEADLINE)
        assert ws.close_code == 1000
        assert ws.protocol.close_rcvd is not None


# -- stream-handler-error ---------------------------------------------------------------------
@pytest.mark.parametrize("count", [0, 1, 50])
def test_stream_handler_failure_after_outputs(server: Running, count: int) -> None:
    with open_ws(server.url + "/realtime/stream") as ws:
        ws.send(pack({"prompt": "s", "count": count, "fail": True}))
        frames = frames_until_close(ws)
        assert ws.close_code == 1000  # RT-STREAM-007: INTERNAL_ERROR, then close 1000
    assert frames[:count] == [{"output": f"s-{i}"} for i in range(count)]
    assert len(frames) == count + 1
    assert is_error(frames[-1], "INTERNAL_ERROR")
    assert frames[-1]["reason"] == "requested failure"


def test_stream_without_fail_still_ends_with_timeout(server: Running) -> None:
    with open_ws(server.url + "/realtime/stream") as ws:
        ws.send(pack({"prompt": "s", "count": 2, "fail": False}))
        frames = frames_until_close(ws)
    assert frames[:2] == [{"output": "s-0"}, {"output": "s-1"}]
    assert is_error(frames[2], "TIMEOUT")


# -- webrtc-signaling -------------------------------------------------------------------------
def test_webrtc_signaling_exchange(server: Running) -> None:
    for path in ("/realtime/webrtc", "/owner/app/realtime/webrtc"):
        with open_ws(server.url + path) as ws:
            assert recv(ws) == {"type": "ready"}  # RT-RTC-001: before any input
            # No output for candidates (RT-RTC-004) or unknown types (RT-RTC-005): the next
            # outputs after these are the offer's.
            ws.send(pack({"type": "icecandidate", "candidate": {"candidate": "c", "sdpMid": "0"}}))
            ws.send(pack({"type": "icecandidate", "candidate": None}))
            ws.send(pack({"type": "future-kind", "x": 1}))
            ws.send(pack({"type": "offer", "sdp": "v=0\r\n"}))
            answer = recv(ws)
            assert answer["type"] == "answer"
            assert isinstance(answer["sdp"], str)
            assert answer["sdp"]
            assert recv(ws) == {"type": "icecandidate", "candidate": None}


@pytest.mark.parametrize("offer", [{"type": "offer"}, {"type": "offer", "sdp": 5}])
def test_webrtc_offer_without_str_sdp_gets_an_error(server: Running, offer: Any) -> None:
    with open_ws(server.url + "/realtime/webrtc") as ws:
        assert recv(ws) == {"type": "ready"}
        ws.send(pack(offer))
        error = recv(ws)
        assert error["type"] == "error"
        assert isinstance(error["error"], str)
        ws.send(pack({"type": "offer", "sdp": "v=0\r\n"}))  # the session goes on
        assert recv(ws)["type"] == "answer"


def test_webrtc_route_has_no_idle_timeout() -> None:
    # RT-RTC-007; a wire test of "never times out" would need a timed assertion.
    [spec] = [s for name, s in ConformanceApp.route_specs() if name == "webrtc"]
    assert spec.path == "/realtime/webrtc"
    assert spec.config is not None
    assert spec.config.session_timeout is None


def test_webrtc_session_ends_when_the_client_closes(server: Running) -> None:
    with open_ws(server.url + "/realtime/webrtc") as ws:
        assert recv(ws) == {"type": "ready"}
        ws.close()
        assert ws.close_code == 1000
