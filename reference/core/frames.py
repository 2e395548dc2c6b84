"""Control frames, error codes and close codes (spec chapters 05-control-frames, 06-lifecycle).

Control frames are TEXT JSON: `{"type":"x-fal-error","error":CODE,"reason":str}` and
`{"type":"x-fal-message","action":...}`. Outputs are never text, so a client tells them apart
by the frame type alone.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any


class ErrorCode(enum.StrEnum):
    """The registered `error` values of an x-fal-error frame."""

    INTERNAL_ERROR = "INTERNAL_ERROR"  # RT-CTRL-015: the handler failed on an accepted input
    TIMEOUT = "TIMEOUT"  # RT-CTRL-017/018: the session ended normally; not a failure
    INVALID_INPUT = "INVALID_INPUT"  # RT-CTRL-011: one input was rejected; the session goes on


class CloseCode(enum.IntEnum):
    """WebSocket close codes the protocol uses (RFC 6455 section 7.4.1)."""

    NORMAL = 1000  # also after an error frame
    GOING_AWAY = 1001  # server shutdown
    PROTOCOL_ERROR = 1002
    INVALID_DATA = 1007  # a text message that is not UTF-8
    POLICY = 1008
    TOO_BIG = 1009  # message over the server's limit
    INTERNAL = 1011  # failure with no error frame possible (raw endpoint handler)


#: The reason fal sends with TIMEOUT; clients that show it to users know this text.
TIMEOUT_REASON = "no inputs, reconnect when needed!"

ERROR_TYPE = "x-fal-error"
MESSAGE_TYPE = "x-fal-message"


def error_frame(code: str, reason: str, input_index: int | None = None) -> str:
    """Serialise an x-fal-error frame (compact JSON, key order type, error, reason).

    `input_index` is added only with the `correlation` extension on (RT-EXT-030); without it
    the frame is exactly 1.0's.
    """
    frame: dict[str, Any] = {"type": ERROR_TYPE, "error": str(code), "reason": reason}
    if input_index is not None:
        frame["input_index"] = input_index
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def timings_frame(seconds: float) -> str:
    """Serialise an x-fal-message timings frame."""
    return json.dumps(
        {"type": MESSAGE_TYPE, "action": "timings", "timing": seconds}, separators=(",", ":")
    )


@dataclass(frozen=True, slots=True)
class ErrorFrame:
    """A parsed x-fal-error frame; `payload` holds the whole JSON object."""

    code: str
    reason: str
    payload: dict[str, Any]

    @property
    def ends_session(self) -> bool:
        """TIMEOUT marks the normal end of a session, not a failure."""
        return self.code == ErrorCode.TIMEOUT


@dataclass(frozen=True, slots=True)
class OtherText:
    """A text frame that is not an error: x-fal-message, unknown type, or not JSON."""

    text: str


def parse_text(text: str) -> ErrorFrame | OtherText:
    """Classify a text frame received by a client.

    Clients ignore x-fal-message frames and text frames whose `type` they do not know
    (RT-CTRL-031/032); an x-fal-error frame, or the legacy `{"status":"error"}` shape, is an
    `ErrorFrame` (RT-CTRL-020, RT-CTRL-041); unknown codes stay errors (RT-CTRL-022).
    """
    try:
        obj = json.loads(text)
    except ValueError:
        return OtherText(text)
    if type(obj) is not dict:
        return OtherText(text)
    if obj.get("type") == ERROR_TYPE or (obj.get("status") == "error" and "type" not in obj):
        # The second form is the legacy `{"status": "error", "error": ...}` (RT-CTRL-041).
        code = obj.get("error")
        reason = obj.get("reason")
        return ErrorFrame(
            code if isinstance(code, str) else "UNKNOWN_ERROR",
            reason if isinstance(reason, str) else "",
            obj,
        )
    return OtherText(text)


def describe(exc: BaseException) -> str:
    """A short reason for an error frame: the message, else the exception's class name."""
    text = str(exc)
    return text if text else type(exc).__name__
