"""Session lifecycle: pings, closes, idle timeouts, shutdown (spec chapters 05, 06-lifecycle)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.failures import ConformanceFailure, requirement
from conformance.frames import CLOSE, PING, PONG, client_frame, frame_header
from conformance.plugin import NA_PREFIX
from conformance.wire import Target

IDLE_WINDOW = 1.5  # longer than every idle timeout of the conformance app (1.0 s)


@pytest.mark.req("RT-LIFE-010")
def test_server_answers_ping_with_pong(target: Target) -> None:
    """A ping gets a pong with the same payload."""
    raw = target.handshake("/realtime")
    try:
        assert raw.status == 101
        raw.send_frame(PING, b"rt-ping-1")
        frame = raw.recv_frame()
        assert frame is not None, "the server ended the connection instead of answering the ping"
        assert frame.opcode == PONG, f"expected a PONG, got {frame.name}"
        assert frame.payload == b"rt-ping-1", f"the pong carries {frame.payload!r}"
    finally:
        raw.close()


@pytest.mark.req("RT-LIFE-024")
def test_server_answers_close_and_ends_tcp(target: Target) -> None:
    """A client close frame gets a close frame back, then the TCP connection ends."""
    raw = target.handshake("/realtime")
    try:
        assert raw.status == 101
        raw.send_frame(CLOSE, (1000).to_bytes(2, "big") + b"bye")
        frame = raw.recv_frame()
        assert frame is not None, "the server dropped TCP without answering the close frame"
        assert frame.opcode == CLOSE, f"expected a CLOSE, got {frame.name}"
        end = raw.recv_frame()
        assert end is None, f"after the close handshake the server sent {end.name}"
    finally:
        raw.close()


@pytest.mark.req("RT-LIFE-022")
@pytest.mark.parametrize("case", ["unmasked frame", "close code 1005"])
def test_server_closes_1002_on_framing_violation(target: Target, case: str) -> None:
    """An unmasked client frame, or a close frame with code 1005, gets close 1002."""
    raw = target.handshake("/realtime")
    try:
        assert raw.status == 101
        if case == "unmasked frame":
            payload = bytes.fromhex("81 a6 70726f6d7074 a1 78")
            raw.send_raw(frame_header(2, len(payload)) + payload, "BINARY frame WITHOUT mask")
        else:
            raw.send_raw(client_frame(CLOSE, (1005).to_bytes(2, "big")), "CLOSE 1005")
        frame = raw.recv_close_frame()
        assert frame is not None, "the server dropped TCP without a close frame"
        assert frame.close_code == 1002, f"the server closed with {frame.close_code}"
    finally:
        raw.close()


@pytest.mark.req("RT-LIFE-003", "RT-CONF-013")
def test_server_keeps_idle_session_without_timeout(target: Target) -> None:
    """/realtime (no idle timeout) stays open through an idle period and serves the next input."""
    with target.connect() as conn:
        with pytest.raises(ConformanceFailure):
            conn.recv(timeout=IDLE_WINDOW)  # nothing may arrive: the deadline passing is the pass
        conn.send_msgpack({"prompt": "after idle"})
        frame = conn.recv_data()
        with requirement("RT-LIFE-003", "RT-CONF-013"):
            assert frame.kind == "binary", f"after {IDLE_WINDOW}s idle: {frame.summary()}"
            assert frame.value == {"output": "after idle"}


@pytest.mark.req("RT-LIFE-001", "RT-CTRL-017", "RT-CONF-020")
@pytest.mark.feature("session-timeout")
def test_server_ends_idle_session_with_timeout(target: Target) -> None:
    """After its idle timeout a session gets TIMEOUT, then close 1000."""
    with target.connect("/realtime/timeout") as conn:
        conn.send_msgpack({"prompt": "t"})
        assert conn.recv_output() == {"output": "t"}
        with requirement("RT-LIFE-001", "RT-CONF-020"):  # the session must end at all
            frame = conn.recv_data(timeout=4)
        with requirement("RT-LIFE-001", "RT-CTRL-017"):
            assert frame.is_error_frame, f"expected a TIMEOUT error frame, got {frame.summary()}"
            assert frame.value["error"] == "TIMEOUT", frame.value
        end = conn.recv_data()
        with requirement("RT-CTRL-017"):
            assert (end.kind, end.code) == ("close", 1000), f"after TIMEOUT: {end.summary()}"


@pytest.mark.req("RT-LIFE-002")
@pytest.mark.feature("session-timeout")
@pytest.mark.feature("delay")
def test_server_sends_pending_output_before_timeout(target: Target) -> None:
    """An input still being handled when the idle timeout expires is answered before TIMEOUT."""
    with target.connect("/realtime/timeout") as conn:
        conn.send_msgpack({"prompt": "slow", "delay_ms": 1300})
        frame = conn.recv_data(timeout=5)
        with requirement("RT-LIFE-002"):
            assert frame.kind == "binary", (
                f"expected the pending output first, got {frame.summary()}"
            )
            assert frame.value == {"output": "slow"}


@pytest.mark.req("RT-LIFE-025")
@pytest.mark.feature("delay")
def test_server_survives_client_close_with_pending_work(target: Target) -> None:
    """A client that closes while its input is pending gets a close answer; the server serves on."""
    with target.connect() as conn:
        conn.send_msgpack({"prompt": "pending", "delay_ms": 200})
        conn.close(1000, "client bye")
        end = conn.recv()
        assert end.kind == "close", f"expected the close answer, got {end.summary()}"
    with target.connect() as conn:
        conn.send_msgpack({"prompt": "next"})
        assert conn.recv_output() == {"output": "next"}


@pytest.mark.req("RT-LIFE-021")
def test_server_closes_1001_on_shutdown(target: Target) -> None:
    """A server shutting down closes open sessions with 1001 (embedded reference only)."""
    if not target.config.embedded:
        pytest.skip(NA_PREFIX + "the suite can shut down only a server it started itself")
    from conformance.target import EmbeddedServer, TargetConfig

    server = EmbeddedServer(Path(target.config.extra["cwd"]), target.config.key, 1.0)
    url = server.start()
    try:
        other = Target(TargetConfig(url=url, key=target.config.key), target.recorder)
        with other.connect() as conn:
            conn.send_msgpack({"prompt": "before shutdown"})
            assert conn.recv_output() == {"output": "before shutdown"}
            server.stop()
            end = conn.recv()
            with requirement("RT-LIFE-021"):
                assert (end.kind, end.code) == ("close", 1001), f"on shutdown: {end.summary()}"
    finally:
        server.stop()
