"""Inputs any app must reject, and how the session goes on (chapters 01, 04, 05, 12).

The bad inputs are explicit bytes (hex); none depends on the app's own input shape.
"""

from __future__ import annotations

import contextlib
import json

import pytest

from conformance.failures import ConformanceFailure, requirement
from conformance.frames import BINARY, frame_header
from conformance.production.app import App
from conformance.scenarios import LEAK, answer

NOT_ONE_VALUE = ("RT-CONV-010", "RT-MSG-010")
MALFORMED: dict[str, tuple[str, tuple[str, ...]]] = {
    "byte c1 (never used)": ("c1", NOT_ONE_VALUE),
    "truncated map": ("81 a1 78", NOT_ONE_VALUE),
    "trailing bytes": ("81 a1 78 a1 78 c0", NOT_ONE_VALUE),
    "empty message": ("", NOT_ONE_VALUE),
    "invalid UTF-8 str": ("81 a1 78 a2 c328", ("RT-MSG-010",)),
    "top level array": ("91 a1 78", ("RT-MSG-010",)),
    "top level str": ("a6 70726f6d7074", ("RT-MSG-010",)),
    "top level int": ("2a", ("RT-MSG-010",)),
    "int map key": ("81 01 a1 78", ("RT-MSG-010",)),
}
OUTSIDE_PROFILE = {  # inside a key the app does not use (RT-CONV-009)
    "ext type": "d4 05 00",
    "timestamp": "d6 ff 00000001",
    "int key in nested map": "81 01 c0",
}


@pytest.mark.req("RT-MSG-010", "RT-CONV-010", "RT-CTRL-010", "RT-LIFE-020", "RT-MSG-013")
@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_app_rejects_malformed_input(app: App, case: str) -> None:
    """A message that is not one profile msgpack map gets an error frame, never an output."""
    hex_bytes, reqs = MALFORMED[case]
    with app.connect() as conn:
        conn.send_bytes(bytes.fromhex(hex_bytes))
        app.expect_rejection(conn, reqs)


@pytest.mark.req("RT-MSG-011", "RT-CTRL-010", "RT-LIFE-020")
def test_app_rejects_text_message(app: App) -> None:
    """A TEXT message is rejected, even one holding a sample input as JSON."""
    with app.connect() as conn:
        conn.send_text(json.dumps(app.first.input))
        app.expect_rejection(conn, ("RT-MSG-011",))


@pytest.mark.req("RT-CTRL-012")
@pytest.mark.parametrize(
    ("bad_hex", "rejected_by"),
    [("c1", NOT_ONE_VALUE), ("91 a1 78", ("RT-MSG-010",))],
    ids=["malformed", "not-a-map"],
)
def test_app_keeps_session_after_rejection(
    app: App, bad_hex: str, rejected_by: tuple[str, ...]
) -> None:
    """After rejecting one input the session serves the next sample input."""
    with app.connect() as conn:
        conn.send_bytes(bytes.fromhex(bad_hex))
        result = app.expect_rejection(conn, rejected_by)
        with requirement("RT-CTRL-012"):
            assert result.kept_open, "the server closed the session after one rejected input"


@pytest.mark.req(
    "RT-CTRL-001", "RT-CTRL-002", "RT-CTRL-004", "RT-CTRL-005", "RT-CTRL-006", "RT-CTRL-040"
)
def test_app_control_frames_are_registered_json_text(app: App) -> None:
    """Error frames are TEXT JSON objects with type, error (a registered code) and reason.

    Every TEXT message is validated as it arrives (conformance.wire), so a legacy shape, a
    binary control frame, a missing member or an unregistered code fails with its rule.
    """
    for bad in ("c1", "91 a1 78"):
        with app.connect() as conn:
            conn.send_bytes(bytes.fromhex(bad))
            frame = answer(conn)
            assert frame.is_error_frame, f"the rejected input got {frame.summary()}"
            assert set(frame.value) >= {"type", "error", "reason"}, frame.value


@pytest.mark.req("RT-CTRL-018")
@pytest.mark.parametrize("bad_hex", ["c1", "91 a1 78", "81 01 a1 78"])
def test_app_never_reports_rejection_as_timeout(app: App, bad_hex: str) -> None:
    """A rejected input is never reported with the code TIMEOUT."""
    with app.connect() as conn:
        conn.send_bytes(bytes.fromhex(bad_hex))
        frame = answer(conn)
        assert frame.is_error_frame, frame.summary()
        assert frame.value["error"] != "TIMEOUT", frame.value


@pytest.mark.req("RT-CTRL-011")
def test_app_uses_invalid_input_code(app: App) -> None:
    """A rejected input is reported with the code INVALID_INPUT."""
    with app.connect() as conn:
        conn.send_bytes(bytes.fromhex("c1"))
        frame = answer(conn)
        assert frame.is_error_frame, frame.summary()
        with requirement("RT-CTRL-011"):
            assert frame.value["error"] == "INVALID_INPUT", frame.value


@pytest.mark.req("RT-CTRL-014", "RT-SEC-002")
@pytest.mark.parametrize("bad_hex", ["c1", "91 a1 78"], ids=["malformed", "not-a-map"])
def test_app_error_reason_names_the_problem(app: App, bad_hex: str) -> None:
    """The reason of a rejection is non-empty and leaks no traceback or file path."""
    with app.connect() as conn:
        conn.send_bytes(bytes.fromhex(bad_hex))
        frame = answer(conn)
        assert frame.is_error_frame, frame.summary()
        reason = frame.value["reason"]
        with requirement("RT-SEC-002"):
            assert not LEAK.search(reason), f"the reason leaks internals: {reason!r}"
        with requirement("RT-CTRL-014"):
            assert reason.strip(), "the error frame's reason is empty"


@pytest.mark.req("RT-CTRL-013")
def test_app_delivers_earlier_outputs_before_error(app: App) -> None:
    """Every sample sent ahead of a bad input is answered before the error frame."""
    samples = app.cycle(3)
    with app.connect() as conn:
        for sample in samples:
            conn.send_bytes(app.packed(sample))
        conn.send_bytes(bytes.fromhex("c1"))  # never valid msgpack
        seen = []
        while True:
            with requirement("RT-CTRL-010"):  # silence: the bad input was never answered
                frame = conn.recv_data()
            if frame.kind != "binary":
                break
            seen.append(frame.value)
        with requirement("RT-CTRL-010"):
            assert frame.is_error_frame, f"expected the error frame, got {frame.summary()}"
        with requirement("RT-CTRL-013"):
            assert len(seen) == len(samples), f"before the error frame: {len(seen)} outputs"
        if all(s.output is not None for s in samples):  # order is checked only where declared
            with requirement("RT-MSG-030"):
                assert seen == [s.output for s in samples], f"outputs out of order: {seen}"


@pytest.mark.req("RT-CONV-008", "RT-CTRL-010", "RT-LIFE-020")
def test_app_rejects_nesting_deeper_than_1024(app: App) -> None:
    """An input nested 1100 deep is answered as a rejected input, not by a crash."""
    app.needs_extra_keys()
    with app.connect() as conn:
        conn.send_bytes(app.with_extra(app.first, b"\x91" * 1100 + b"\xc0"))
        app.expect_rejection(conn, ("RT-CONV-008",), unanswered=("RT-CONV-008",))


@pytest.mark.req("RT-CONV-009")
@pytest.mark.parametrize("case", list(OUTSIDE_PROFILE), ids=list(OUTSIDE_PROFILE))
def test_app_rejects_values_outside_the_profile(app: App, case: str) -> None:
    """Ext values and non-str keys are rejected even inside a key the app does not use."""
    app.needs_extra_keys()
    with app.connect() as conn:
        conn.send_bytes(app.with_extra(app.first, bytes.fromhex(OUTSIDE_PROFILE[case])))
        frame = answer(conn)
        with requirement("RT-CONV-009"):
            assert frame.is_error_frame, f"the input was not rejected: {frame.summary()}"


@pytest.mark.req("RT-SEC-001")
def test_app_keeps_other_sessions_serving(app: App) -> None:
    """Malformed, deep and oversized input on one session leaves another serving."""
    bad_inputs = (bytes.fromhex("c1"), bytes.fromhex("91 a1 78"), b"\x91" * 1100 + b"\xc0")
    with requirement("RT-SEC-001"), app.connect() as healthy:
        healthy.send_bytes(app.packed(app.first))
        app.output(healthy)
        for bad in bad_inputs:  # how the noisy session is answered is other checks' business
            with app.connect() as noisy, contextlib.suppress(ConformanceFailure):
                noisy.send_bytes(bad)
                noisy.recv_data()
        raw = app.handshake()
        try:
            limit = app.target.config.max_message_size
            raw.send_raw(frame_header(BINARY, limit + 1, mask_key=b"\0" * 4), "oversize header")
            with contextlib.suppress(ConformanceFailure):
                raw.recv_close_frame(timeout=2)
        finally:
            raw.close()
        healthy.send_bytes(app.packed(app.first))
        app.output(healthy)
