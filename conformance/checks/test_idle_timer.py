"""The idle timer as 1.1 decides it (spec chapter 06-lifecycle 6.2 and its timing bounds 6.2.1).

What restarts the timer (every data message, never a ping: RT-LIFE-004/005), a long idle
period on an endpoint without a timeout (RT-LIFE-003), and the end of a batching session on its
timeout (RT-LIFE-006, the fal 1.83.0 bug recorded in chapter 14).
"""

from __future__ import annotations

import contextlib
import time

import pytest

from conformance.failures import ConformanceFailure, requirement
from conformance.plugin import NA_PREFIX
from conformance.wire import Conn, Received, Target

TIMEOUT_S = 1.0  # the idle timeout of /realtime/timeout, /realtime/batch-timeout (spec 13.2)
SLACK_S = max(1.0, TIMEOUT_S)  # spec 6.2.1: slack = max(1 s, T)
LONG_IDLE_S = 6.0  # several times every idle timeout of the conformance app


def _final_frames(conn: Conn, wait: float) -> list[Received]:
    """Every frame up to and including the close, waiting at most `wait` for each."""
    return conn.collect(timeout=wait)


def _quiet_for(conn: Conn, seconds: float, *reqs: str) -> None:
    """Nothing may arrive for `seconds` (the deadline passing is the pass)."""
    try:
        frame = conn.recv(timeout=seconds)
    except ConformanceFailure:
        return
    with requirement(*reqs):
        raise AssertionError(f"expected nothing for {seconds}s, got {frame.summary()}")


@pytest.mark.req("RT-LIFE-004", "RT-LIFE-001")
@pytest.mark.feature("session-timeout")
def test_server_restarts_idle_timer_at_each_input(target: Target) -> None:
    """Inputs spaced 0.7 T apart keep a session alive past 2 T; it ends T after the last one."""
    with target.connect("/realtime/timeout") as conn:
        started = time.monotonic()
        last_input = started
        for n in range(3):
            # Spaced from the SEND, not from the output: a late output (RT-MSG-030's business)
            # must neither widen the gap past T nor move the start of the final wait.
            last_input = time.monotonic()
            conn.send_msgpack({"prompt": f"spaced-{n}"})
            with requirement("RT-LIFE-004"):
                assert conn.recv_output() == {"output": f"spaced-{n}"}
            spaced_until = last_input + target.scale(0.7 * TIMEOUT_S)
            _quiet_for(conn, max(0.0, spaced_until - time.monotonic()), "RT-LIFE-004")
        with requirement("RT-LIFE-001"):  # a session that never ends breaks RT-LIFE-001 first
            frames = _final_frames(conn, target.scale(TIMEOUT_S + SLACK_S))
        ended = time.monotonic()
        with requirement("RT-LIFE-004"):
            assert ended - started > 2 * TIMEOUT_S, "the spaced inputs did not keep the session"
        with requirement("RT-LIFE-001"):
            # One final frame, then close 1000; the frame's shape is RT-CTRL-001/005's business.
            assert len(frames) == 2, [f.summary() for f in frames]
            assert frames[-1].code == 1000, frames[-1].summary()
            assert ended - last_input >= 0.9 * TIMEOUT_S, "the session ended before T elapsed"


@pytest.mark.req("RT-LIFE-004")
@pytest.mark.feature("session-timeout")
def test_server_restarts_idle_timer_at_rejected_input(target: Target) -> None:
    """A rejected input restarts the timer too (observable when the server keeps the session)."""
    with target.connect("/realtime/timeout") as conn:
        _quiet_for(conn, target.scale(0.6 * TIMEOUT_S), "RT-LIFE-004")
        conn.send_msgpack({"not-a-prompt": 1})
        with requirement("RT-CTRL-010"):
            error = conn.recv_error()
        after_rejection = time.monotonic()
        with requirement("RT-LIFE-001"):  # a session that never ends breaks RT-LIFE-001
            frame = conn.recv(timeout=target.scale(2 * TIMEOUT_S + SLACK_S))
        if frame.kind == "close":
            pytest.skip(NA_PREFIX + "the server closed after the rejected input (RT-CTRL-010)")
        with requirement("RT-LIFE-004"):
            assert frame.is_error_frame, f"expected the session's end, got {frame.summary()}"
            waited = time.monotonic() - after_rejection
            assert waited >= 0.9 * TIMEOUT_S, (
                f"the session ended {waited:.2f}s after a rejected input ({error['error']}): "
                "the rejected input did not restart the idle timer"
            )


@pytest.mark.req("RT-LIFE-005", "RT-LIFE-001")
@pytest.mark.feature("session-timeout")
def test_server_does_not_restart_idle_timer_on_ping(target: Target) -> None:
    """Pings every 0.25 s do not keep an idle session alive: it ends within T + slack."""
    with target.connect("/realtime/timeout") as conn:
        started = time.monotonic()
        deadline = started + target.scale(TIMEOUT_S + SLACK_S)
        frame: Received | None = None
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):  # the server may close between two pings
                conn.ws.ping(b"keep?")
            try:
                frame = conn.recv(timeout=0.25)
            except ConformanceFailure as exc:
                if exc.reqs:  # a malformed frame (RT-CTRL-*), not the quiet of a live session
                    raise
                continue
            break
        with requirement("RT-LIFE-005", "RT-LIFE-001"):
            assert frame is not None, (
                f"no end after {TIMEOUT_S + SLACK_S}s of pings: pings restarted the idle timer"
            )
        with requirement("RT-LIFE-001"):
            assert frame.kind != "close", f"no final frame before {frame.summary()}"
            assert conn.recv_close().code == 1000


@pytest.mark.req("RT-LIFE-003", "RT-CONF-013")
def test_server_keeps_session_through_long_idle(target: Target) -> None:
    """/realtime (no idle timeout) stays open through 6 s without input."""
    with target.connect() as conn:
        _quiet_for(conn, target.scale(LONG_IDLE_S), "RT-LIFE-003", "RT-CONF-013")
        conn.send_msgpack({"prompt": "after long idle"})
        with requirement("RT-LIFE-003", "RT-CONF-013"):
            assert conn.recv_output() == {"output": "after long idle"}


@pytest.mark.req("RT-LIFE-006", "RT-LIFE-002", "RT-LIFE-001", "RT-CONF-020")
@pytest.mark.feature("batching-timeout")
def test_server_ends_batching_session_normally_on_timeout(target: Target) -> None:
    """A batching endpoint ends on its idle timeout with the owed outputs and TIMEOUT.

    An input that waits behind a slow batch when the timer expires must not be batched with the
    end of the input stream (fal 1.83.0 calls the handler with `e, None` and ends with
    INTERNAL_ERROR, spec chapter 14).
    """
    with target.connect("/realtime/batch-timeout") as conn:
        conn.send_msgpack({"prompt": "slow", "delay_ms": 1500})
        time.sleep(0.1)
        conn.send_msgpack({"prompt": "waiting"})
        frames = _final_frames(conn, target.scale(1.5 + TIMEOUT_S + SLACK_S))
        outputs = [f.value["output"] for f in frames if f.kind == "binary"]
        errors = [f.value for f in frames if f.is_error_frame]
        with requirement("RT-LIFE-001"):
            assert frames[-1].kind == "close", frames[-1].summary()
            assert frames[-1].code == 1000, frames[-1].summary()
            assert errors, "the session ended without a final error frame"
        with requirement("RT-LIFE-006"):
            assert errors[-1]["error"] == "TIMEOUT", (
                f"the idle end of a batching session is {errors[-1]}, not TIMEOUT"
            )
        with requirement("RT-LIFE-002"):
            assert sorted(outputs) == ["slow", "waiting"], f"owed outputs lost: {outputs}"
