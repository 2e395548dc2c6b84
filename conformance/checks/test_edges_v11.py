"""Edges that spec 1.1 decides: the end of a session, refusals, compression bombs, streams.

Inputs that arrive after the idle timeout fired (RT-LIFE-008/009), the close-handshake timeout
(RT-LIFE-027), `WWW-Authenticate` and the path-before-credential order (RT-AUTH-014/015),
subprotocol offers (RT-TRANS-005), HTTP bodies that are not a JSON object (RT-HTTP-007/008), an
inflated message over the limit (RT-TRANS-047), and rejected inputs on streaming endpoints
(RT-STREAM-009/010).
"""

from __future__ import annotations

import time
import zlib

import pytest

from conformance.failures import ConformanceFailure, requirement
from conformance.frames import BINARY, CLOSE, frame_header, mask_payload
from conformance.wire import Target

TIMEOUT_S = 1.0  # /realtime/timeout and /realtime/bidi (spec 13.2)
CLOSE_TIMEOUT_S = 5.0  # RT-LIFE-027
SLACK_S = 1.0


@pytest.mark.req("RT-LIFE-008", "RT-LIFE-009")
@pytest.mark.feature("session-timeout", "delay")
def test_server_does_not_serve_inputs_after_idle_timeout(target: Target) -> None:
    """An input sent after the timer fired (handler still busy) never reaches the handler."""
    with target.connect("/realtime/timeout") as conn:
        conn.send_msgpack({"prompt": "slow", "delay_ms": 1800})
        time.sleep(target.scale(TIMEOUT_S + 0.3))  # the timer fired at T: the session is ENDING
        conn.send_msgpack({"prompt": "late"})
        with requirement("RT-LIFE-001"):  # the session must end at all before ENDING counts
            frames = conn.collect(timeout=4)
        outputs = [f.value.get("output") for f in frames if f.kind == "binary"]
        errors = [f.value for f in frames if f.is_error_frame]
        with requirement("RT-LIFE-008"):
            assert "late" not in outputs, f"an input sent in ENDING was served: {outputs}"
        with requirement("RT-LIFE-009"):
            assert [e["error"] for e in errors[:-1]] == ["INVALID_INPUT"], (
                f"the late input got no INVALID_INPUT before the final frame: {errors}"
            )


@pytest.mark.req("RT-LIFE-027")
@pytest.mark.feature("session-timeout")
def test_server_drops_tcp_when_close_is_not_answered(target: Target) -> None:
    """After its close frame, the server drops TCP within 5 s when the client never answers."""
    raw = target.handshake("/realtime/timeout")
    try:
        assert raw.status == 101, f"handshake got HTTP {raw.status}"
        with requirement("RT-LIFE-001"):
            closing = raw.recv_close_frame(timeout=TIMEOUT_S + SLACK_S + 1)
            assert closing is not None, "the server dropped TCP without a close frame"
        sent_close = time.monotonic()
        with requirement("RT-LIFE-027"):
            try:
                while raw.recv_frame(timeout=CLOSE_TIMEOUT_S + SLACK_S) is not None:
                    pass
            except ConformanceFailure:
                waited = time.monotonic() - sent_close
                raise AssertionError(
                    f"the TCP connection was still open {waited:.1f}s after the server's close"
                ) from None
    finally:
        raw.close()


@pytest.mark.req("RT-AUTH-014")
@pytest.mark.feature("auth")
def test_server_sends_www_authenticate_on_401(target: Target) -> None:
    """A handshake without a credential refused with 401 names the `Key` scheme."""
    raw = target.handshake("/realtime", auth=False)
    raw.close()
    if raw.status != 401:
        pytest.skip(f"not applicable: the refusal was HTTP {raw.status}, not 401")
    with requirement("RT-AUTH-014"):
        challenge = [
            line.split(":", 1)[1].strip()
            for line in raw.head.split("\r\n")
            if line.lower().startswith("www-authenticate:")
        ]
        assert any(c.lower().startswith("key") for c in challenge), (
            f"401 without a WWW-Authenticate: Key challenge: {challenge}"
        )


@pytest.mark.req("RT-AUTH-015", "RT-TRANS-003")
@pytest.mark.feature("auth")
def test_server_checks_path_before_credential(target: Target) -> None:
    """An unknown path without a credential gets the unknown-path status, not 401."""
    raw = target.handshake("/no-such-endpoint", auth=False)
    raw.close()
    with requirement("RT-TRANS-003"):
        assert raw.status != 101, "an unknown path was upgraded"
    with requirement("RT-AUTH-015"):
        assert raw.status not in (401, 403), f"the unknown path got {raw.status}: auth first"


@pytest.mark.req("RT-TRANS-005", "RT-TRANS-001")
def test_server_selects_no_subprotocol(target: Target) -> None:
    """A client that offers a subprotocol is served without one being selected."""
    raw = target.handshake("/realtime", headers={"Sec-WebSocket-Protocol": "rt.test"})
    raw.close()
    with requirement("RT-TRANS-001"):
        assert raw.status == 101, f"a subprotocol offer got HTTP {raw.status}"
    with requirement("RT-TRANS-005"):
        selected = [
            line
            for line in raw.head.split("\r\n")
            if line.lower().startswith("sec-websocket-protocol")
        ]
        assert not selected, f"the server selected a subprotocol: {selected}"


@pytest.mark.req("RT-HTTP-007", "RT-HTTP-008")
@pytest.mark.parametrize(
    "body", [b"{not json", b"[1, 2]", b'"prompt"'], ids=["bad", "array", "str"]
)
def test_server_answers_422_for_body_that_is_not_an_object(target: Target, body: bytes) -> None:
    """A body that is not a JSON object gets 422 with a `detail` member."""
    response = target.http("POST", "/", raw_body=body)
    with requirement("RT-HTTP-007"):
        assert response.status == 422, f"{body!r} got HTTP {response.status}"
    with requirement("RT-HTTP-008"):
        document = response.json()
        assert isinstance(document, dict), f"422 body {response.body[:200]!r}"
        assert "detail" in document, f"422 body {document}"


@pytest.mark.req("RT-TRANS-047", "RT-TRANS-044")
def test_server_limits_inflated_size(target: Target) -> None:
    """A deflated message that inflates past the inbound limit gets close 1009."""
    limit = target.config.max_message_size
    bomb = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = bomb.compress(b"\x00" * (limit + 1024)) + bomb.flush(zlib.Z_SYNC_FLUSH)
    payload = payload[:-4]  # RFC 7692 7.2.1: drop the trailing 00 00 ff ff
    raw = target.handshake("/realtime", headers={"Sec-WebSocket-Extensions": "permessage-deflate"})
    try:
        assert raw.status == 101, f"handshake got HTTP {raw.status}"
        if "permessage-deflate" not in raw.head.lower():
            pytest.skip("not applicable: the server declined permessage-deflate")
        key = b"\x5a\x17\x3c\x08"
        head = frame_header(BINARY, len(payload), rsv=4, mask_key=key)  # rsv=4: RSV1 set
        raw.send_raw(head + mask_payload(payload, key), f"deflated BINARY of {len(payload)} B")
        closing = raw.recv_close_frame(timeout=10)
        with requirement("RT-TRANS-047"):
            assert closing is not None, "the server dropped TCP without a close frame"
            assert closing.opcode == CLOSE
            assert closing.close_code == 1009, f"the server closed with {closing.close_code}"
    finally:
        raw.close()


@pytest.mark.req("RT-STREAM-009", "RT-STREAM-001")
@pytest.mark.feature("server-streaming")
def test_server_takes_first_accepted_input_as_request(target: Target) -> None:
    """A rejected first input does not become the request; a robust server waits for one."""
    with target.connect("/realtime/stream") as conn:
        conn.send_msgpack({"prompt": "bad", "count": "three"})
        conn.send_msgpack({"prompt": "good", "count": 2})
        frames = conn.collect()
        outputs = [f.value["output"] for f in frames if f.kind == "binary"]
        with requirement("RT-STREAM-001"):
            assert not [o for o in outputs if o.startswith("bad")], outputs
        with requirement("RT-STREAM-009"):
            assert sorted(outputs) == ["good-0", "good-1"], f"outputs {outputs}"


@pytest.mark.req("RT-STREAM-010")
@pytest.mark.feature("bidi")
def test_server_rejects_mid_stream_input_and_goes_on(target: Target) -> None:
    """A bad input in the middle of a bidi stream gets INVALID_INPUT; the stream goes on."""
    with target.connect("/realtime/bidi") as conn:
        conn.send_msgpack({"prompt": "a"})
        assert conn.recv_output(missing=("RT-STREAM-006",)) == {"output": "a"}
        conn.send_msgpack({"prompt": 1})
        frame = conn.recv_data()
        with requirement("RT-STREAM-010"):
            assert frame.is_error_frame, f"expected INVALID_INPUT, got {frame.summary()}"
            assert frame.value["error"] == "INVALID_INPUT", frame.value
            conn.send_msgpack({"prompt": "c"})
            assert conn.recv_output() == {"output": "c"}, "the stream did not go on"
