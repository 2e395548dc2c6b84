"""Rules every TEXT message from a realtime endpoint is held to (spec chapter 05-control-frames).

Each violation blames the requirement it breaks, so a failure in any check names the rule.
"""

from __future__ import annotations

from typing import Any

from conformance import schemas
from conformance.failures import ConformanceFailure

# Requirements every frame the server sends is held to: the validator blames these.
OUTPUT_MAP_REQS = ("RT-MSG-020",)  # outputs: one binary message holding one msgpack map
CONTROL_FRAME_REQS = ("RT-CTRL-001",)  # text: one JSON object with a string `type`
UNKNOWN_TEXT_REQS = ("RT-CTRL-004",)  # no other text messages on a realtime endpoint
TEXT_OUTPUT_REQS = ("RT-MSG-020", "RT-CTRL-004")  # an output sent as TEXT
LEGACY_ERROR_REQS = ("RT-CTRL-040",)  # {"status": "error"}: allowed by CTRL-004, a SHOULD NOT
BINARY_CONTROL_REQS = ("RT-CTRL-002",)  # control frames never binary / msgpack
ERROR_FRAME_REQS = ("RT-CTRL-005",)  # type, error, reason
ERROR_CODE_REQS = ("RT-CTRL-006",)  # a registered code
TIMINGS_REQS = ("RT-CTRL-033",)  # timings: a non-negative number of seconds
# The error-code registry of spec version 1.0 (chapter 05-control-frames).
ERROR_CODES = frozenset({"INTERNAL_ERROR", "TIMEOUT", "INVALID_INPUT"})


def validate_control(value: Any, data: bytes) -> None:
    """Hold one TEXT message from a realtime endpoint to chapter 05's rules."""
    if isinstance(value, dict) and value.get("status") == "error" and "type" not in value:
        raise ConformanceFailure(
            f"the server sent the legacy error shape {value!r}", LEGACY_ERROR_REQS
        )
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        looks_like_control = isinstance(value, dict) and bool(
            {"type", "error", "reason"} & set(value)
        )
        raise ConformanceFailure(
            f"a TEXT message is not a JSON object with a string `type`: {data[:80]!r}",
            CONTROL_FRAME_REQS if looks_like_control else TEXT_OUTPUT_REQS,
        )
    kind = value["type"]
    if kind == "x-fal-error":
        if isinstance(value.get("error"), str) and value["error"] not in ERROR_CODES:
            raise ConformanceFailure(
                f"error code {value['error']!r} is not in the registry {sorted(ERROR_CODES)}",
                ERROR_CODE_REQS,
            )
        problem = schemas.check("x-fal-error", value)
        if problem:
            raise ConformanceFailure(
                f"x-fal-error frame breaks its schema: {problem}", ERROR_FRAME_REQS
            )
        if value["error"] not in ERROR_CODES:
            raise ConformanceFailure(
                f"error code {value['error']!r} is not in the registry {sorted(ERROR_CODES)}",
                ERROR_CODE_REQS,
            )
    elif kind == "x-fal-message":
        problem = schemas.check("x-fal-message", value)
        timing = value.get("timing")
        if not problem and value.get("action") == "timings":
            ok = isinstance(timing, int | float) and not isinstance(timing, bool) and timing >= 0
            problem = None if ok else f"timing {timing!r} is not a non-negative number"
        if problem:
            raise ConformanceFailure(f"x-fal-message frame is invalid: {problem}", TIMINGS_REQS)
    else:
        raise ConformanceFailure(
            f"a TEXT message of unknown type {kind!r} on a realtime endpoint", UNKNOWN_TEXT_REQS
        )
