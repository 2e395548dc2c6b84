"""Control frames (reference/core/frames.py; spec chapter 05-control-frames)."""

from __future__ import annotations

import json

from reference.core.frames import ErrorCode, ErrorFrame, OtherText, error_frame, parse_text


def test_error_frame_is_compact_json_in_fal_key_order() -> None:
    text = error_frame(ErrorCode.INVALID_INPUT, "bad")
    assert text == '{"type":"x-fal-error","error":"INVALID_INPUT","reason":"bad"}'


def test_parse_text_reads_error_frames_with_extra_keys() -> None:
    frame = parse_text(json.dumps({"type": "x-fal-error", "error": "X", "reason": "r", "k": 1}))
    assert isinstance(frame, ErrorFrame)
    assert (frame.code, frame.reason, frame.payload["k"]) == ("X", "r", 1)
    assert not frame.ends_session


def test_timeout_ends_the_session() -> None:
    frame = parse_text(error_frame(ErrorCode.TIMEOUT, "no inputs"))
    assert isinstance(frame, ErrorFrame)
    assert frame.ends_session


def test_messages_unknown_types_and_non_json_are_other_text() -> None:
    for text in ('{"type":"x-fal-message","action":"timings","timing":0.1}', '{"type":"n"}', "hi"):
        assert isinstance(parse_text(text), OtherText)


def test_malformed_error_fields_do_not_crash() -> None:
    frame = parse_text('{"type":"x-fal-error","error":5}')
    assert isinstance(frame, ErrorFrame)
    assert (frame.code, frame.reason) == ("UNKNOWN_ERROR", "")


def test_legacy_status_error_shape_is_an_error() -> None:
    frame = parse_text('{"status":"error","error":"Unauthorized"}')
    assert isinstance(frame, ErrorFrame)
    assert frame.code == "Unauthorized"
