"""The 1.1 extension channel on a server that declares it (spec chapter 15-extensions).

Every check here needs the feature `extensions`; a target that does not declare it (the fal
runner, any 1.0 server) gets "not applicable". What every server must do with `rt_ext`
whether or not it implements the channel (ignore it, RT-EXT-003/005) is checked elsewhere.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from conformance.failures import requirement
from conformance.frames import CLOSE, PING, TEXT
from conformance.wire import Conn, Received, Target

EOI = '{"type":"x-fal-message","action":"end-of-input"}'
MODES = {
    "/realtime": "unary",
    "/realtime/stream": "server-streaming",
    "/realtime/collect": "client-streaming",
    "/realtime/bidi": "bidirectional",
}
FEATURE_OF = {
    "/realtime/stream": "server-streaming",
    "/realtime/collect": "client-streaming",
    "/realtime/bidi": "bidi",
}

pytestmark = pytest.mark.feature("extensions")


def _offer(*tokens: str) -> dict[str, str]:
    return {"rt_ext": ",".join(tokens)}


def _action(frame: Received) -> Any:
    return frame.value.get("action") if frame.is_message_frame else None


def _hello(conn: Conn) -> dict[str, Any]:
    """The first message, which must be the hello (RT-EXT-002)."""
    with requirement("RT-EXT-002"):
        frame = conn.recv(timeout=5)
        assert _action(frame) == "hello", f"the first message is {frame.summary()}, not a hello"
    assert isinstance(frame.value, dict)
    return frame.value


def _frames_until_close(conn: Conn, *reqs: str, timeout: float = 5) -> list[Received]:
    """Every frame (x-fal-message frames included) up to the close; `reqs` blamed if none."""
    frames = []
    with requirement(*reqs):
        while True:
            frame = conn.recv(timeout=timeout)
            frames.append(frame)
            if frame.kind == "close":
                return frames


def _assert_end_of_output(frames: list[Received], reason: str) -> None:
    """The session ended with end-of-output `reason`, close 1000, and no TIMEOUT (RT-EXT-020).

    An idle end where end-of-input should have ended the session is RT-EXT-011's failure.
    """
    final = frames[-2] if len(frames) >= 2 else frames[-1]
    if reason == "end-of-input" and _action(final) == "end-of-output":
        with requirement("RT-EXT-011"):
            got = final.value.get("reason")
            assert got != "idle-timeout", "the session idled out: end-of-input was not acted on"
    with requirement("RT-EXT-020"):
        assert len(frames) >= 2, f"the session ended with {[f.summary() for f in frames]}"
        final, close = frames[-2], frames[-1]
        assert _action(final) == "end-of-output", f"the final frame is {final.summary()}"
        assert final.value.get("reason") == reason, f"end-of-output reason: {final.value}"
        assert close.code == 1000, f"after end-of-output: {close.summary()}"
        timeouts = [f for f in frames if f.is_error_frame and f.value.get("error") == "TIMEOUT"]
        assert not timeouts, "a TIMEOUT error frame was sent although end-of-output is on"


# -- 15.1 hello --------------------------------------------------------------------------------
@pytest.mark.req("RT-EXT-002", "RT-EXT-004", "RT-EXT-005", "RT-EXT-043")
@pytest.mark.parametrize("path", list(MODES))
def test_server_says_hello_first_with_mode_and_limits(target: Target, path: str) -> None:
    """The hello comes first, before any input, and enables the known offered tokens in order."""
    feature = FEATURE_OF.get(path)
    if feature is not None and feature not in target.config.features:
        pytest.skip(f"not applicable: the target does not declare the feature '{feature}'")
    offer = _offer("x-acme-unknown", "end-of-output", "", "correlation")
    with target.connect(path, query=offer) as conn:
        hello = _hello(conn)
    with requirement("RT-EXT-004"):
        assert hello.get("version") == "1.1", f"hello.version: {hello.get('version')!r}"
        assert hello.get("extensions") == ["end-of-output", "correlation"], hello
        assert hello.get("mode") == MODES[path], f"hello.mode on {path}: {hello.get('mode')!r}"
        limits = hello.get("limits")
        assert isinstance(limits, dict), f"hello.limits: {limits!r}"
        assert type(limits.get("max_message_bytes")) is int, limits
        assert type(limits.get("max_batch_size")) is int, limits
        for member in ("session_timeout", "buffering"):
            assert member in limits, f"hello.limits lacks {member}"
    with requirement("RT-EXT-043"):
        assert "heartbeat_interval" not in hello, f"heartbeat_interval without heartbeat: {hello}"


@pytest.mark.req("RT-EXT-009")
@pytest.mark.parametrize(
    ("offer", "enabled"),
    [
        ("Correlation,END-OF-OUTPUT,end-of-output", ["end-of-output"]),
        (" end-of-output , correlation,end-of-output", ["end-of-output", "correlation"]),
    ],
)
def test_server_reads_rt_ext_tokens_exactly(target: Target, offer: str, enabled: list[str]) -> None:
    """Tokens match case-sensitively, surrounding spaces aside; a repeat is enabled once."""
    with target.connect("/realtime", query={"rt_ext": offer}) as conn:
        hello = _hello(conn)
    with requirement("RT-EXT-009"):
        got = hello.get("extensions")
        assert got == enabled, f"rt_ext={offer!r}: hello.extensions {got!r}, expected {enabled}"


@pytest.mark.req("RT-EXT-009")
def test_server_uses_the_last_rt_ext_parameter(target: Target) -> None:
    """`rt_ext` given twice in the URL: the last occurrence is the offer, the first ignored."""
    query = [("rt_ext", "correlation"), ("rt_ext", "end-of-output")]
    with target.connect("/realtime", query=query) as conn:
        hello = _hello(conn)
    with requirement("RT-EXT-009"):
        got = hello.get("extensions")
        assert got == ["end-of-output"], (
            f"rt_ext=correlation&rt_ext=end-of-output: hello.extensions {got!r}, "
            "expected ['end-of-output'] (the last occurrence)"
        )


@pytest.mark.req("RT-EXT-006")
@pytest.mark.feature("server-streaming")
def test_server_sends_no_frame_of_an_extension_left_off(target: Target) -> None:
    """Only end-of-input offered: a stream ends with TIMEOUT, outputs are not tagged."""
    with target.connect("/realtime/stream", query=_offer("end-of-input")) as conn:
        _hello(conn)
        conn.send_msgpack({"prompt": "p", "count": 2})
        frames = _frames_until_close(conn, "RT-STREAM-001")
    with requirement("RT-EXT-006"):
        extra = [f.summary() for f in frames if _action(f) not in (None, "timings")]
        assert not extra, f"frames of extensions that are off: {extra}"
        assert frames[-2].is_error_frame, f"the stream ended with {frames[-2].summary()}"
        assert frames[-2].value.get("error") == "TIMEOUT", frames[-2].summary()
        assert "input_index" not in frames[-2].value


# -- 15.2 end-of-input -------------------------------------------------------------------------
@pytest.mark.req("RT-EXT-011", "RT-EXT-020")
@pytest.mark.feature("client-streaming")
def test_end_of_input_answers_a_client_stream_before_the_idle_timeout(target: Target) -> None:
    """/realtime/collect (idle 0.5 s): the result follows end-of-input, not the idle timer."""
    with target.connect("/realtime/collect", query=_offer("end-of-input", "end-of-output")) as conn:
        _hello(conn)
        conn.send_msgpack({"prompt": "a"})
        conn.send_msgpack({"prompt": "b"})
        conn.send_text(EOI)
        frames = _frames_until_close(conn, "RT-EXT-011")
    with requirement("RT-EXT-011"):
        outputs = [f.value for f in frames if f.kind == "binary"]
        assert outputs == [{"output": "a b"}], f"outputs: {outputs}"
    _assert_end_of_output(frames, "end-of-input")


@pytest.mark.req("RT-EXT-011")
def test_end_of_input_ends_a_unary_session_after_its_inputs(target: Target) -> None:
    """/realtime has no idle timeout: only end-of-input can end it, after its outputs."""
    with target.connect("/realtime", query=_offer("end-of-input", "end-of-output")) as conn:
        _hello(conn)
        for word in ("a", "b"):
            conn.send_msgpack({"prompt": word})
        conn.send_text(EOI)
        frames = _frames_until_close(conn, "RT-EXT-011")
    with requirement("RT-EXT-011"):
        outputs = [f.value for f in frames if f.kind == "binary"]
        assert outputs == [{"output": "a"}, {"output": "b"}], f"outputs: {outputs}"
    _assert_end_of_output(frames, "end-of-input")


@pytest.mark.req("RT-EXT-012")
@pytest.mark.parametrize(
    "text",
    [
        '{"type":"x-fal-message","action":"end-of-inputs"}',
        '{"type":"end-of-input"}',
        "end-of-input",
    ],
)
def test_a_text_frame_that_is_not_end_of_input_is_a_rejected_input(
    target: Target, text: str
) -> None:
    """Anything but the exact frame is INVALID_INPUT; the session does not end normally."""
    with target.connect("/realtime", query=_offer("end-of-input")) as conn:
        _hello(conn)
        conn.send_text(text)
        with requirement("RT-EXT-012"):
            frame = conn.recv_data()
            assert frame.is_error_frame, f"after {text!r}: {frame.summary()}"
            assert frame.value.get("error") == "INVALID_INPUT", frame.summary()


@pytest.mark.req("RT-EXT-013", "RT-EXT-030", "RT-EXT-034")
def test_end_of_input_while_off_is_a_rejected_data_message(target: Target) -> None:
    """Only correlation on: end-of-input is a text input, rejected, with index 0; then 1."""
    with target.connect("/realtime", query=_offer("correlation")) as conn:
        _hello(conn)
        conn.send_text(EOI)
        conn.send_msgpack({"prompt": "x"})
        with requirement("RT-EXT-013"):
            error = conn.recv(timeout=5)
            assert error.is_error_frame, f"after end-of-input while off: {error.summary()}"
            assert error.value.get("error") == "INVALID_INPUT", error.summary()
        _assert_input_index(error.value, 0)
        tag = conn.recv(timeout=5)
        if tag.kind == "close":
            return  # a core server may close after a rejected input (RT-CTRL-010)
        with requirement("RT-EXT-031"):  # an untagged output is 15.4's failure, not 15.2's
            assert _action(tag) == "output", f"expected the output frame, got {tag.summary()}"
        with requirement("RT-EXT-034", "RT-EXT-013"):
            assert tag.value.get("inputs") == [1], f"the input after it: {tag.value}"


@pytest.mark.req("RT-EXT-034", "RT-EXT-030", "RT-EXT-012")
@pytest.mark.feature("delay")
def test_a_second_end_of_input_is_a_rejected_input_with_its_index(target: Target) -> None:
    """A slow input, end-of-input twice: the second is INVALID_INPUT with index 1."""
    offer = _offer("correlation", "end-of-input", "end-of-output")
    with target.connect("/realtime", query=offer) as conn:
        _hello(conn)
        conn.send_msgpack({"prompt": "a", "delay_ms": 300})
        conn.send_text(EOI)
        conn.send_text(EOI)
        frames = _frames_until_close(conn, "RT-EXT-011")
    errors = [f.value for f in frames if f.is_error_frame]
    with requirement("RT-EXT-012"):
        assert errors, f"no error frame for the second one: {[f.summary() for f in frames]}"
        assert errors[0].get("error") == "INVALID_INPUT", f"its error frame: {errors[0]}"
    _assert_input_index(errors[0], 1)
    _assert_end_of_output(frames, "end-of-input")


def _assert_input_index(error: dict[str, Any], index: int) -> None:
    """An error frame answering one input: no index at all is RT-EXT-030's failure, the
    wrong one RT-EXT-034's (how data messages are numbered)."""
    with requirement("RT-EXT-030"):
        assert "input_index" in error, f"an error frame answering an input, no index: {error}"
    with requirement("RT-EXT-034"):
        assert error["input_index"] == index, f"input_index {error['input_index']}, not {index}"


# -- 15.3 end-of-output ------------------------------------------------------------------------
@pytest.mark.req("RT-EXT-022", "RT-EXT-020")
@pytest.mark.parametrize(
    ("path", "reason"), [("/realtime/collect", "idle-timeout"), ("/realtime/stream", "complete")]
)
def test_end_of_output_names_what_ended_the_session(target: Target, path: str, reason: str) -> None:
    """An idle client stream ends with idle-timeout; a stream with end-of-input after its
    request ends with complete (the end-of-input changed nothing)."""
    feature = FEATURE_OF[path]
    if feature not in target.config.features:
        pytest.skip(f"not applicable: the target does not declare the feature '{feature}'")
    with target.connect(path, query=_offer("end-of-input", "end-of-output")) as conn:
        _hello(conn)
        if path == "/realtime/stream":
            conn.send_msgpack({"prompt": "p", "count": 2})
            with requirement("RT-STREAM-001"):
                first = conn.recv_data()
                assert first.kind == "binary", f"the stream's first message: {first.summary()}"
            conn.send_text(EOI)  # after the request was served: changes nothing (RT-EXT-011)
        else:
            conn.send_msgpack({"prompt": "a"})
        frames = _frames_until_close(conn, "RT-EXT-020")
    with requirement("RT-EXT-022"):
        final = frames[-2] if len(frames) >= 2 else frames[-1]
        if _action(final) == "end-of-output":
            got = final.value.get("reason")
            assert got == reason, f"end-of-output reason {got!r} on {path}, expected {reason!r}"
    _assert_end_of_output(frames, reason)


@pytest.mark.req("RT-EXT-023", "RT-EXT-035")
@pytest.mark.feature("stream-handler-error")
def test_a_failed_stream_ends_without_end_of_output(target: Target) -> None:
    """A failing stream: INTERNAL_ERROR with the request's index, close 1000, no end-of-output."""
    with target.connect("/realtime/stream", query=_offer("end-of-output", "correlation")) as conn:
        _hello(conn)
        conn.send_msgpack({"prompt": "f", "count": 2, "fail": True})
        frames = _frames_until_close(conn, "RT-STREAM-007")
    errors = [f.value for f in frames if f.is_error_frame]
    with requirement("RT-STREAM-007"):
        assert errors, f"a failed stream sent no error frame: {[f.summary() for f in frames]}"
        assert errors[-1].get("error") == "INTERNAL_ERROR", f"its error frame: {errors[-1]}"
    with requirement("RT-EXT-023"):
        ends = [f.summary() for f in frames if _action(f) == "end-of-output"]
        assert not ends, f"end-of-output on a failed session: {ends}"
    with requirement("RT-EXT-035"):
        index = errors[-1].get("input_index")
        assert index == 0, f"the stream's INTERNAL_ERROR has input_index {index!r}, not 0"


@pytest.mark.req("RT-EXT-035")
@pytest.mark.feature("server-streaming")
def test_the_final_timeout_names_no_input(target: Target) -> None:
    """Correlation on, end-of-output off: the stream's TIMEOUT answers no input, so no index."""
    with target.connect("/realtime/stream", query=_offer("correlation")) as conn:
        _hello(conn)
        conn.send_msgpack({"prompt": "p", "count": 1})
        frames = _frames_until_close(conn, "RT-STREAM-001")
    timeouts = [f.value for f in frames if f.is_error_frame and f.value.get("error") == "TIMEOUT"]
    with requirement("RT-CTRL-017"):
        assert timeouts, f"the stream ended with {[f.summary() for f in frames]}"
    with requirement("RT-EXT-035"):
        assert "input_index" not in timeouts[0], f"TIMEOUT with an input_index: {timeouts[0]}"


# -- 15.4 correlation --------------------------------------------------------------------------
@pytest.mark.req("RT-EXT-030", "RT-EXT-031")
def test_correlation_names_the_input_of_each_output_and_error(target: Target) -> None:
    """A bad input then a good one: the error says 0, the output frame right before says [1]."""
    with target.connect("/realtime", query=_offer("correlation")) as conn:
        _hello(conn)
        conn.send_msgpack({})
        conn.send_msgpack({"prompt": "x"})
        with requirement("RT-EXT-030"):
            error = conn.recv(timeout=5)
            assert error.is_error_frame, f"expected INVALID_INPUT, got {error.summary()}"
            assert error.value.get("input_index") == 0, f"error frame: {error.value}"
        if conn.closed is not None:
            return  # a core server may close after a rejected input (RT-CTRL-010)
        with requirement("RT-EXT-031"):
            tag = conn.recv(timeout=5)
            assert _action(tag) == "output", f"expected the output frame, got {tag.summary()}"
            assert tag.value.get("inputs") == [1], f"output frame: {tag.value}"
            output = conn.recv(timeout=5)
            assert output.kind == "binary", f"right after the output frame: {output.summary()}"


@pytest.mark.req("RT-EXT-031", "RT-EXT-032")
@pytest.mark.feature("buffering", "delay")
def test_correlation_accounts_for_every_input_of_a_latest_wins_endpoint(target: Target) -> None:
    """/realtime/latest (buffering 2): each index is answered or reported dropped, once."""
    with target.connect("/realtime/latest", query=_offer("correlation")) as conn:
        _hello(conn)
        conn.send_msgpack({"prompt": "slow", "delay_ms": 300})
        time.sleep(0.05)
        for i in range(1, 6):
            conn.send_msgpack({"prompt": str(i)})
        seen: list[int] = []
        tag: Any = None  # the output frame right before a binary output, if it was one
        # The app echoes the prompt, so each output's index is known: an output frame naming
        # the wrong input is RT-EXT-031's failure, and an index never accounted for after
        # that can only be a drop left unreported (RT-EXT-032).
        index_of = {"slow": 0, **{str(i): i for i in range(1, 6)}}
        with requirement("RT-EXT-032"):
            while sorted(seen) != list(range(6)):
                frame = conn.recv(timeout=5)
                assert frame.kind != "close", f"closed with indexes {sorted(seen)} accounted for"
                if frame.kind == "binary":
                    with requirement("RT-EXT-031"):
                        untagged = f"an output without its output frame: {frame.summary()}"
                        assert tag is not None, untagged
                        answered = [index_of.get(str(frame.value.get("output")))]
                        inputs = tag.value.get("inputs")
                        assert inputs == answered, f"output frame {inputs} before {frame.summary()}"
                tag = frame if _action(frame) == "output" else None
                if _action(frame) == "dropped":
                    seen.extend(frame.value.get("inputs", []))
                elif tag is not None:
                    seen.extend(tag.value.get("inputs", []))
        with requirement("RT-EXT-032"):
            assert len(seen) == 6, f"an index reported twice: {seen}"


# -- 15.5 heartbeat ----------------------------------------------------------------------------
def _interval(hello: dict[str, Any]) -> float:
    with requirement("RT-EXT-043"):
        interval = hello.get("heartbeat_interval")
        assert isinstance(interval, int | float), f"hello.heartbeat_interval: {interval!r}"
        assert interval >= 1, f"heartbeat_interval {interval} is under 1 s"
    return float(interval)


@pytest.mark.req("RT-EXT-040", "RT-EXT-043")
def test_server_beats_when_it_has_sent_nothing_for_the_interval(target: Target) -> None:
    """Between 0.5 x interval and interval + slack after its last message (spec 6.2.1)."""
    with target.connect("/realtime", query=_offer("heartbeat")) as conn:
        interval = _interval(_hello(conn))
        conn.send_msgpack({"prompt": "a"})
        conn.recv_output()
        sent = time.monotonic()
        with requirement("RT-EXT-040"):
            frame = conn.recv(timeout=interval + max(1.0, interval))
            waited = time.monotonic() - sent
            assert _action(frame) == "heartbeat", f"expected a heartbeat, got {frame.summary()}"
            assert waited >= 0.5 * interval, f"a heartbeat {waited:.2f}s after the output"


@pytest.mark.req("RT-EXT-041", "RT-EXT-043")
def test_server_fails_a_connection_whose_pong_never_comes(target: Target) -> None:
    """A client that never answers the ping: close 1011 (or TCP end) one interval later."""
    raw = target.handshake("/realtime", query=_offer("heartbeat"))
    try:
        with requirement("RT-EXT-002"):
            assert raw.status == 101, f"the upgrade got {raw.status}"
            first = raw.recv_frame(5)
            assert first is not None, "the connection ended before the hello"
            assert first.opcode == TEXT, f"the first frame is {first.name}"
            hello = json.loads(first.payload)
            action = hello.get("action") if isinstance(hello, dict) else None
            assert action == "hello", f"the first message is {hello!r}, not a hello"
        interval = _interval(hello)
        slack = max(1.0, interval)
        with requirement("RT-EXT-041"):
            ping = None
            while ping is None:
                frame = raw.recv_frame(interval + slack)
                assert frame is not None, "the connection ended before any ping"
                if frame.opcode == PING:
                    ping = time.monotonic()
            frame = raw.recv_frame(interval + slack)
            while frame is not None and frame.opcode != CLOSE:
                frame = raw.recv_frame(interval + slack)
            assert frame is None or int.from_bytes(frame.payload[:2], "big") == 1011, (
                f"the close for a missing pong carries {frame.payload[:2].hex()}, not 1011"
            )
            waited = time.monotonic() - ping
            assert waited >= 0.5 * interval, f"failed {waited:.2f}s after the ping"
    finally:
        raw.close()
