"""Server-streaming, client-streaming and bidirectional endpoints (spec chapter 08-streaming)."""

from __future__ import annotations

import pytest

from conformance.failures import requirement
from conformance.wire import Conn, Received, Target


def _next(conn: Conn, *reqs: str) -> Received:
    """The next frame; a session that never ends blames `reqs` (not how it would end)."""
    with requirement(*reqs):
        return conn.recv_data(timeout=5)


def _end_normally(conn: Conn, frame: Received, *reqs: str) -> None:
    """`frame` and what follows are the normal end: TIMEOUT error frame, then close 1000."""
    with requirement(*reqs, "RT-CTRL-017"):
        assert frame.is_error_frame, f"expected the TIMEOUT error frame, got {frame.summary()}"
        assert frame.value["error"] == "TIMEOUT", f"the session ended with {frame.value}"
        end = conn.recv_data()
        assert (end.kind, end.code) == ("close", 1000), f"after TIMEOUT: {end.summary()}"


@pytest.mark.req("RT-STREAM-001", "RT-CONF-021", "RT-CTRL-017", "RT-CONF-020")
@pytest.mark.feature("server-streaming")
@pytest.mark.parametrize("count", [0, 1, 25])
def test_server_streams_outputs_then_ends(target: Target, count: int) -> None:
    """One input gives `count` outputs, then TIMEOUT and close 1000."""
    with target.connect("/realtime/stream") as conn:
        conn.send_msgpack({"prompt": "p", "count": count})
        outputs = []
        frame = _next(conn, "RT-STREAM-001", "RT-CONF-021", "RT-CTRL-017")
        while frame.kind == "binary":
            outputs.append(frame.value["output"])
            frame = _next(conn, "RT-STREAM-001", "RT-CONF-021", "RT-CTRL-017")
        with requirement("RT-STREAM-001", "RT-CONF-021"):
            assert sorted(outputs) == sorted(f"p-{i}" for i in range(count)), outputs
        _end_normally(conn, frame, "RT-STREAM-001", "RT-CONF-021")


@pytest.mark.req("RT-STREAM-004")
@pytest.mark.feature("server-streaming")
def test_server_streams_outputs_in_order(target: Target) -> None:
    """Streamed outputs come in the order the handler produced them."""
    with target.connect("/realtime/stream") as conn:
        conn.send_msgpack({"prompt": "o", "count": 200})
        outputs = [conn.recv_output()["output"] for _ in range(200)]
        with requirement("RT-STREAM-004"):
            assert outputs == [f"o-{i}" for i in range(200)], "streamed outputs out of order"


@pytest.mark.req("RT-STREAM-002", "RT-STREAM-003")
@pytest.mark.feature("server-streaming")
def test_server_streams_once_per_session(target: Target) -> None:
    """A second input on a server-streaming session starts no second stream."""
    with target.connect("/realtime/stream") as conn:
        conn.send_msgpack({"prompt": "first", "count": 3})
        conn.send_msgpack({"prompt": "second", "count": 3})
        frames = conn.collect()
        outputs = [f.value["output"] for f in frames if f.kind == "binary"]
        with requirement("RT-STREAM-002"):
            assert not [o for o in outputs if o.startswith("second")], f"a second stream: {outputs}"
            assert sorted(outputs) == ["first-0", "first-1", "first-2"], outputs
        errors = [f.value for f in frames if f.is_error_frame]
        with requirement("RT-STREAM-003"):
            assert [e["error"] for e in errors[:1]] == ["INVALID_INPUT"], (
                f"the second input got no INVALID_INPUT error frame: {errors}"
            )
            last_output = max(i for i, f in enumerate(frames) if f.kind == "binary")
            first_error = next(i for i, f in enumerate(frames) if f.is_error_frame)
            assert first_error > last_output, "the error frame came before the stream's outputs"


@pytest.mark.req("RT-STREAM-005", "RT-CTRL-017", "RT-LIFE-001", "RT-CONF-020")
@pytest.mark.feature("client-streaming")
def test_server_collects_input_stream(target: Target) -> None:
    """Inputs of a client-streaming session go to one handler call; one output, then the end."""
    with target.connect("/realtime/collect") as conn:
        for word in ("alpha", "beta", "gamma"):
            conn.send_msgpack({"prompt": word})
        frame = conn.recv_data(timeout=5)
        with requirement("RT-STREAM-005", "RT-CONF-020"):
            assert frame.kind == "binary", f"expected the collected output, got {frame.summary()}"
            assert frame.value == {"output": "alpha beta gamma"}
        end = _next(conn, "RT-STREAM-005", "RT-LIFE-001", "RT-CONF-020")
        _end_normally(conn, end, "RT-STREAM-005")


@pytest.mark.req("RT-STREAM-006", "RT-CTRL-017", "RT-LIFE-001", "RT-CONF-020")
@pytest.mark.feature("bidi")
def test_server_answers_bidi_inputs_as_they_arrive(target: Target) -> None:
    """Each bidi input is answered before the next is sent; the session ends after idling."""
    with target.connect("/realtime/bidi") as conn:
        for word in ("one", "two", "three"):
            conn.send_msgpack({"prompt": word})
            with requirement("RT-STREAM-006"):
                assert conn.recv_output() == {"output": word}
        end = _next(conn, "RT-STREAM-006", "RT-LIFE-001", "RT-CONF-020")
        _end_normally(conn, end, "RT-STREAM-006")


@pytest.mark.req("RT-STREAM-007", "RT-CONF-020")
@pytest.mark.feature("stream-handler-error")
def test_server_reports_failed_stream_then_closes_1000(target: Target) -> None:
    """A stream whose handler fails after its outputs: INTERNAL_ERROR, then close 1000."""
    with target.connect("/realtime/stream") as conn:
        conn.send_msgpack({"prompt": "f", "count": 3, "fail": True})
        outputs = []
        frame = _next(conn, "RT-STREAM-007")
        while frame.kind == "binary":
            outputs.append(frame.value["output"])
            frame = _next(conn, "RT-STREAM-007")
        with requirement("RT-CONF-020"):
            assert sorted(outputs) == ["f-0", "f-1", "f-2"], f"the stream's outputs: {outputs}"
        with requirement("RT-STREAM-007"):
            assert frame.is_error_frame, f"a failed stream ended with {frame.summary()}"
            assert frame.value["error"] == "INTERNAL_ERROR", f"a failed stream sent {frame.value}"
            end = conn.recv_data()
            assert (end.kind, end.code) == ("close", 1000), f"after the error: {end.summary()}"
