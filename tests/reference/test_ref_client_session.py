"""The client's session rules (reference/core/client.py; spec 04, 05): messages in, events out."""

from __future__ import annotations

import msgpack

from reference.core.client import CONNECTION_CLOSED, ClientSession, Ended, Failed, Output


def test_binary_message_is_an_output() -> None:
    session = ClientSession()
    assert session.receive_message(msgpack.packb({"output": "hi"})) == Output({"output": "hi"})


def test_timings_and_unknown_text_frames_are_skipped() -> None:
    session = ClientSession()
    assert session.receive_message('{"type":"x-fal-message","action":"timings"}') is None
    assert session.receive_message('{"type":"future-frame"}') is None
    assert session.receive_message("not json") is None


def test_error_frame_fails_and_the_session_goes_on() -> None:
    session = ClientSession()
    event = session.receive_message('{"type":"x-fal-error","error":"INVALID_INPUT","reason":"r"}')
    assert isinstance(event, Failed)
    assert (event.code, event.reason, session.ended) == ("INVALID_INPUT", "r", False)


def test_timeout_frame_ends_the_session_for_good() -> None:
    session = ClientSession()
    assert (
        session.receive_message('{"type":"x-fal-error","error":"TIMEOUT","reason":""}') == Ended()
    )
    assert session.ended
    assert session.receive_message(msgpack.packb({"output": "late"})) == Ended()


def test_close_is_clean_or_a_failure() -> None:
    assert ClientSession().receive_closed(True, "") == Ended()
    failed = ClientSession().receive_closed(False, "1011")
    assert isinstance(failed, Failed)
    assert failed.code == CONNECTION_CLOSED


def test_output_outside_the_profile_is_a_decode_error_and_the_session_goes_on() -> None:
    """RT-CONV-016 / RT-CTRL-026: reported as DECODE_ERROR of that output, never delivered."""
    session = ClientSession()
    bad = [
        msgpack.packb({"t": msgpack.ExtType(5, b"\x00")}),  # an ext value
        msgpack.packb({"t": msgpack.Timestamp(1)}, datetime=False),  # ext -1
        msgpack.packb({1: "int key"}),
        msgpack.packb([1, 2]),  # not a map
        msgpack.packb({"o": 1}) + b"\x00",  # trailing bytes (RT-CONV-010)
        b"\x81\xa1",  # truncated
    ]
    for data in bad:
        event = session.receive_message(data)
        assert isinstance(event, Failed), data.hex()
        assert event.code == "DECODE_ERROR", data.hex()
        assert event.reason, data.hex()
    assert not session.ended
    assert session.receive_message(msgpack.packb({"output": "after"})) == Output(
        {"output": "after"}
    )


def test_deep_output_is_delivered() -> None:
    """The client has no depth limit of its own (RT-CONV-006 binds servers): 500 levels pass."""
    nested = b"\x81\xa1n\x91" * 500 + b"\x80"  # {"n": [{"n": [ ... {} ]}]}
    event = ClientSession().receive_message(nested)
    assert isinstance(event, Output), event
