"""Inputs a server must reject, and how it answers them (spec chapters 01, 04-messages, 05).

The bad inputs are explicit bytes (hex): the suite never asks the code under test to build
its own negative cases.
"""

from __future__ import annotations

import pytest

from conformance.failures import requirement
from conformance.scenarios import LEAK, PROBE, answer, expect_rejection
from conformance.wire import Target

# Not exactly one complete msgpack value: both RT-CONV-010 and RT-MSG-010 require rejecting it.
NOT_ONE_VALUE = ("RT-CONV-010", "RT-MSG-010")
# fixmap(1) "prompt" ... and friends, as sent on the wire, and the rules that reject them.
MALFORMED: dict[str, tuple[str, tuple[str, ...]]] = {
    "byte c1 (never used)": ("c1", NOT_ONE_VALUE),
    "truncated map": ("81 a6 70726f6d7074", NOT_ONE_VALUE),
    "trailing bytes": ("81 a6 70726f6d7074 a1 78 c0", NOT_ONE_VALUE),
    "empty message": ("", NOT_ONE_VALUE),
    "invalid UTF-8 str": ("81 a6 70726f6d7074 a2 c328", ("RT-MSG-010",)),
    "top level array": ("91 a1 78", ("RT-MSG-010",)),
    "top level str": ("a6 70726f6d7074", ("RT-MSG-010",)),
    "top level int key": ("82 a6 70726f6d7074 a1 78 01 a1 78", ("RT-MSG-010",)),
}
INVALID_FOR_APP = {  # well-formed maps the conformance app's validation refuses (RT-CONF-012)
    "missing prompt": "80",
    "prompt not a str": "81 a6 70726f6d7074 7b",
    "delay_ms negative": "82 a6 70726f6d7074 a1 78 a8 64656c61795f6d73 ff",
    "delay_ms too large": "82 a6 70726f6d7074 a1 78 a8 64656c61795f6d73 cd 2711",
    "fail not a bool": "82 a6 70726f6d7074 a1 78 a4 6661696c a3 796573",
}
# Valid for the app but outside the profile deep inside an ignored key (RT-CONV-009).
OUTSIDE_PROFILE = {
    "ext type in ignored key": "82 a6 70726f6d7074 a1 78 a5 6578747261 d4 05 00",
    "timestamp in ignored key": "82 a6 70726f6d7074 a1 78 a5 6578747261 d6 ff 00000001",
    "int key in nested map": "82 a6 70726f6d7074 a1 78 a5 6578747261 81 01 c0",
}
_HEAD = bytes.fromhex("82 a6 70726f6d7074 a1 78 a5 6578747261")  # {"prompt": "x", "extra": ...


@pytest.mark.req("RT-MSG-010", "RT-CONV-010", "RT-CTRL-010", "RT-LIFE-020", "RT-MSG-013")
@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_server_rejects_malformed_input(target: Target, case: str) -> None:
    """A message that is not one profile msgpack map gets an error frame, never an output."""
    hex_bytes, reqs = MALFORMED[case]
    with target.connect() as conn:
        conn.send_bytes(bytes.fromhex(hex_bytes))
        expect_rejection(conn, reqs)


@pytest.mark.req("RT-MSG-011", "RT-CTRL-010", "RT-LIFE-020")
def test_server_rejects_text_message(target: Target) -> None:
    """A TEXT message on a realtime endpoint is rejected, even one holding a valid input as JSON."""
    with target.connect() as conn:
        conn.send_text('{"prompt": "as text"}')
        expect_rejection(conn, ("RT-MSG-011",))


@pytest.mark.req("RT-MSG-012", "RT-CONF-012", "RT-CTRL-010", "RT-LIFE-020", "RT-MSG-013")
@pytest.mark.parametrize("case", list(INVALID_FOR_APP), ids=list(INVALID_FOR_APP))
def test_server_rejects_input_the_app_refuses(target: Target, case: str) -> None:
    """An input the app's validation refuses gets an error frame."""
    with target.connect() as conn:
        conn.send_bytes(bytes.fromhex(INVALID_FOR_APP[case]))
        expect_rejection(conn, ("RT-MSG-012", "RT-CONF-012"))


@pytest.mark.req("RT-CONV-008", "RT-CTRL-010", "RT-LIFE-020")
def test_server_rejects_nesting_deeper_than_1024(target: Target) -> None:
    """An input nested 1100 deep is answered as a rejected input, not by a crash."""
    with target.connect() as conn:
        conn.send_bytes(_HEAD + bytes.fromhex("91") * 1100 + bytes.fromhex("c0"))
        # A dropped connection is "failing in any other way" (RT-CONV-008).
        expect_rejection(conn, ("RT-CONV-008",), unanswered=("RT-CONV-008",))


@pytest.mark.req("RT-CONV-009")
@pytest.mark.parametrize("case", list(OUTSIDE_PROFILE), ids=list(OUTSIDE_PROFILE))
def test_server_rejects_values_outside_the_profile_anywhere(target: Target, case: str) -> None:
    """Ext values and non-str keys are rejected even inside a key the app ignores."""
    with target.connect() as conn:
        conn.send_bytes(bytes.fromhex(OUTSIDE_PROFILE[case]))
        frame = answer(conn)
        with requirement("RT-CONV-009"):
            assert frame.is_error_frame, f"the input was not rejected: {frame.summary()}"


@pytest.mark.req("RT-CTRL-011")
def test_server_uses_invalid_input_code(target: Target) -> None:
    """A rejected input is reported with the code INVALID_INPUT."""
    with target.connect() as conn:
        conn.send_bytes(bytes.fromhex("80"))
        frame = answer(conn)
        assert frame.is_error_frame, frame.summary()
        with requirement("RT-CTRL-011"):
            assert frame.value["error"] == "INVALID_INPUT"


@pytest.mark.req("RT-CTRL-012")
@pytest.mark.parametrize(
    ("bad_hex", "rejected_by"),
    [("c1", NOT_ONE_VALUE), ("80", ("RT-MSG-012", "RT-CONF-012"))],
    ids=["malformed", "refused-by-app"],
)
def test_server_keeps_session_after_rejection(
    target: Target, bad_hex: str, rejected_by: tuple[str, ...]
) -> None:
    """After rejecting one input the session serves the next one."""
    with target.connect() as conn:
        conn.send_bytes(bytes.fromhex(bad_hex))
        result = expect_rejection(conn, rejected_by)
        with requirement("RT-CTRL-012"):
            assert result.kept_open, "the server closed the session after one rejected input"


@pytest.mark.req("RT-CTRL-013", "RT-MSG-030")
def test_server_delivers_earlier_outputs_before_error(target: Target) -> None:
    """Every good input sent ahead of a bad one is answered before the error frame."""
    with target.connect() as conn:
        for word in ("a", "b", "c"):
            conn.send_msgpack({"prompt": word})
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
            assert sorted(o.get("output") for o in seen) == list("abc"), f"before the error: {seen}"
        with requirement("RT-MSG-030"):
            assert seen == [{"output": w} for w in "abc"], f"outputs out of input order: {seen}"


@pytest.mark.req("RT-CTRL-014", "RT-SEC-002")
@pytest.mark.parametrize(
    "bad_hex", ["c1", "81 a6 70726f6d7074 7b"], ids=["malformed", "wrong-type"]
)
def test_server_error_reason_names_the_problem(target: Target, bad_hex: str) -> None:
    """The reason of a rejection is non-empty and leaks no traceback or file path."""
    with target.connect() as conn:
        conn.send_bytes(bytes.fromhex(bad_hex))
        frame = answer(conn)
        assert frame.is_error_frame, frame.summary()
        reason = frame.value["reason"]
        with requirement("RT-SEC-002"):
            assert not LEAK.search(reason), f"the reason leaks internals: {reason!r}"
        with requirement("RT-CTRL-014"):
            assert reason.strip(), "the error frame's reason is empty"


@pytest.mark.req("RT-CONF-022", "RT-CTRL-015", "RT-CTRL-010", "RT-LIFE-020", "RT-SEC-002")
@pytest.mark.feature("handler-error")
def test_server_reports_handler_failure_as_internal_error(target: Target) -> None:
    """A handler failure gives INTERNAL_ERROR before any close, then close 1000 or service."""
    with target.connect() as conn:
        conn.send_msgpack({"prompt": "x", "fail": True})
        with requirement("RT-CTRL-015", "RT-CONF-022"):
            frame = conn.recv_data()
        with requirement("RT-CTRL-015", "RT-CONF-022"):
            assert frame.is_error_frame, f"expected an x-fal-error frame, got {frame.summary()}"
            assert frame.value["error"] == "INTERNAL_ERROR", frame.value
        with requirement("RT-SEC-002"):
            assert not LEAK.search(frame.value["reason"]), frame.value["reason"]
        conn.send_msgpack(PROBE)
        after = conn.recv_data()
        if after.kind == "close":
            with requirement("RT-LIFE-020", "RT-CTRL-010"):
                assert after.code == 1000, after.summary()


@pytest.mark.req("RT-CTRL-016")
@pytest.mark.feature("handler-error")
def test_server_keeps_session_after_handler_failure(target: Target) -> None:
    """After a handler failure on one input, a unary session serves later inputs."""
    with target.connect() as conn:
        conn.send_msgpack({"prompt": "x", "fail": True})
        assert conn.recv_data().is_error_frame
        conn.send_msgpack(PROBE)
        after = conn.recv_data()
        with requirement("RT-CTRL-016"):
            assert (after.kind, after.value) == ("binary", {"output": PROBE["prompt"]}), (
                f"after the handler failure the server sent {after.summary()}"
            )
