"""Server decisions added in spec 1.1 that fit no older check file (chapters 02, 04, 08, 15).

Invalid UTF-8 text fails the connection with 1007 (RT-MSG-015); invalid `max_buffering` values
are ignored (RT-TRANS-023); `rt_ext` opts in to the extension channel and is otherwise ignored
(RT-EXT-003, RT-EXT-005); bidirectional endpoints deliver every output, several per input and
some without an input (RT-STREAM-011); an empty client stream still reaches the handler
(RT-STREAM-012); every declared WebSocket path answers in the gateway form (RT-TRANS-002).
"""

from __future__ import annotations

import pytest

from conformance.failures import requirement
from conformance.wire import Target

# Every WebSocket path of the conformance app with the feature that declares it (spec 13.2).
WS_PATHS = {
    "/realtime": None,
    "/echo": None,
    "/realtime/stream": "server-streaming",
    "/realtime/bidi": "bidi",
    "/realtime/collect": "client-streaming",
    "/realtime/timeout": "session-timeout",
    "/realtime/latest": "buffering",
    "/realtime/batch": "batching",
    "/realtime/batch-timeout": "batching-timeout",
    "/realtime/fanout": "bidi-fanout",
    "/realtime/webrtc": "webrtc-signaling",
}


@pytest.mark.req("RT-MSG-015")
def test_server_fails_connection_on_invalid_utf8_text(target: Target) -> None:
    """A text message `ff fe` (not UTF-8) gets close 1007 and no error frame."""
    raw = target.handshake("/realtime")
    try:
        assert raw.status == 101, f"handshake got HTTP {raw.status}"
        raw.send_frame(0x1, b"\xff\xfe")
        frame = raw.recv_frame()
        with requirement("RT-MSG-015"):
            assert frame is not None, "the server dropped TCP without a close frame"
            assert frame.opcode == 0x8, f"expected close 1007, got opcode {frame.opcode:#x}"
            assert frame.close_code == 1007, f"the server closed with {frame.close_code}"
    finally:
        raw.close()


@pytest.mark.req("RT-TRANS-023")
@pytest.mark.parametrize("value", ["0", "61", "abc", ""])
def test_server_ignores_invalid_max_buffering(target: Target, value: str) -> None:
    """An out-of-range or non-numeric `max_buffering` neither refuses nor breaks the session."""
    with requirement("RT-TRANS-023"), target.connect(query={"max_buffering": value}) as conn:
        for n in range(3):
            conn.send_msgpack({"prompt": f"mb-{n}"})
        got = sorted(conn.recv_output()["output"] for _ in range(3))  # order: RT-MSG-030
        assert got == ["mb-0", "mb-1", "mb-2"], got


@pytest.mark.req("RT-EXT-005", "RT-EXT-004")
@pytest.mark.parametrize("offer", ["x-unknown-token", "", "end-of-input,,x-other"])
def test_server_tolerates_extension_offer(target: Target, offer: str) -> None:
    """`rt_ext` never costs the session; a `hello`, if any, enables only offered tokens."""
    with requirement("RT-EXT-005"), target.connect(query={"rt_ext": offer}) as conn:
        conn.send_msgpack({"prompt": "ext"})
        frame = conn.recv()
        if frame.is_message_frame:
            with requirement("RT-EXT-004"):
                hello = frame.value
                assert hello.get("action") == "hello", f"first x-fal-message is {hello}"
                offered = [t for t in offer.split(",") if t]
                enabled = hello.get("extensions")
                assert isinstance(enabled, list), f"hello.extensions is {enabled!r}"
                assert all(t in offered for t in enabled), f"enabled {enabled}, offered {offered}"
                assert isinstance(hello.get("version"), str), f"hello.version: {hello}"
            frame = conn.recv_data()
        assert frame.kind == "binary", frame.summary()
        assert frame.value == {"output": "ext"}, frame.summary()


@pytest.mark.req("RT-EXT-003")
def test_server_sends_no_extension_frame_without_offer(target: Target) -> None:
    """Without `rt_ext` the first message of a unary session is the output: no `hello`."""
    with target.connect() as conn:
        conn.send_msgpack({"prompt": "plain"})
        frame = conn.recv()
        with requirement("RT-EXT-003"):
            action = frame.value.get("action") if frame.is_message_frame else None
            assert action not in ("hello", "heartbeat", "output", "dropped", "end-of-output"), (
                f"an extension frame on a session that offered none: {frame.summary()}"
            )


@pytest.mark.req("RT-STREAM-011", "RT-STREAM-006", "RT-CTRL-017", "RT-CONF-020")
@pytest.mark.feature("bidi-fanout")
def test_server_delivers_bidi_outputs_not_paired_with_inputs(target: Target) -> None:
    """An output before any input, 3 / 0 / 2 outputs for three inputs, then the normal end."""
    with target.connect("/realtime/fanout") as conn:
        with requirement("RT-STREAM-011"):
            assert conn.recv_output() == {"output": "ready"}, "no output before the first input"
        for prompt, count in (("x", 3), ("y", 0), ("z", 2)):
            conn.send_msgpack({"prompt": prompt, "count": count})
        frames = conn.collect()
        outputs = [f.value["output"] for f in frames if f.kind == "binary"]
        with requirement("RT-STREAM-011", "RT-STREAM-006", "RT-CONF-020"):
            assert sorted(outputs) == ["x-0", "x-1", "x-2", "z-0", "z-1"], outputs
        with requirement("RT-CTRL-017", "RT-STREAM-006"):
            errors = [f.value for f in frames if f.is_error_frame]
            assert [e["error"] for e in errors] == ["TIMEOUT"], errors
            assert frames[-1].code == 1000, frames[-1].summary()


@pytest.mark.req("RT-STREAM-004")
@pytest.mark.feature("bidi-fanout")
def test_server_keeps_bidi_fanout_order(target: Target) -> None:
    """Several outputs of one input keep the order the handler produced them."""
    with target.connect("/realtime/fanout") as conn:
        conn.recv_output()
        conn.send_msgpack({"prompt": "o", "count": 20})
        outputs = [conn.recv_output()["output"] for _ in range(20)]
        with requirement("RT-STREAM-004"):
            assert outputs == [f"o-{i}" for i in range(20)], outputs


@pytest.mark.req("RT-STREAM-012")
@pytest.mark.feature("client-streaming")
def test_server_calls_handler_for_empty_client_stream(target: Target) -> None:
    """A client-streaming session with no input still gets the handler's output ("")."""
    with target.connect("/realtime/collect") as conn:
        frames = conn.collect()
        with requirement("RT-STREAM-012"):
            outputs = [f.value for f in frames if f.kind == "binary"]
            assert outputs == [{"output": ""}], [f.summary() for f in frames]


@pytest.mark.req("RT-TRANS-002", "RT-CONF-020")
@pytest.mark.feature("gateway-paths")
@pytest.mark.parametrize("path", sorted(WS_PATHS))
def test_server_accepts_gateway_form_on_every_path(target: Target, path: str) -> None:
    """Each declared WebSocket path is also served under /{owner}/{alias}/..."""
    feature = WS_PATHS[path]
    if feature is not None and feature not in target.features:
        pytest.skip(f"not applicable: the target does not declare the feature '{feature}'")
    raw = target.handshake(path, gateway=True)
    raw.close()
    with requirement("RT-TRANS-002", "RT-CONF-020"):
        assert raw.status == 101, f"the gateway form of {path} got HTTP {raw.status}"
