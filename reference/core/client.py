"""The client's session rules, without I/O (spec chapters 04-messages, 05-control-frames).

`ClientSession` classifies each received message once for every client layer (sync and
asyncio): a binary message is an output; an x-fal-error frame is a failure, except TIMEOUT,
which is the normal end of a session (RT-CTRL-017/018); x-fal-message frames and text frames
of an unknown type are skipped (RT-CTRL-031/032). Once ended, the session stays ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reference.core.codec import decode_output, encode
from reference.core.frames import ErrorFrame, parse_text

#: The code a client reports when the connection closed with an error code (not 1000/1001).
CONNECTION_CLOSED = "CONNECTION_CLOSED"


@dataclass(frozen=True, slots=True)
class Output:
    """One output map of the server."""

    value: Any


@dataclass(frozen=True, slots=True)
class Ended:
    """The session ended normally (TIMEOUT frame or a clean close)."""


@dataclass(frozen=True, slots=True)
class Failed:
    """The session failed: an error frame, or a close with an error code."""

    code: str
    reason: str
    payload: dict[str, Any]


ClientEvent = Output | Ended | Failed


class ClientSession:
    """What a realtime client makes of the messages it receives."""

    __slots__ = ("ended",)

    def __init__(self) -> None:
        self.ended = False

    @staticmethod
    def input_bytes(value: dict[str, Any]) -> bytes:
        """One input map as a binary message (msgpack)."""
        return encode(value)

    def receive_message(self, message: bytes | str) -> ClientEvent | None:
        """Classify one message; None means skip it and read the next one."""
        if self.ended:
            return Ended()
        if isinstance(message, bytes):
            return Output(decode_output(message))
        frame = parse_text(message)
        if not isinstance(frame, ErrorFrame):
            return None  # x-fal-message, unknown type, not JSON: ignored (RT-CTRL-031/032)
        if frame.ends_session:
            self.ended = True
            return Ended()
        return Failed(frame.code, frame.reason, frame.payload)

    def receive_closed(self, clean: bool, detail: str) -> ClientEvent:
        """The connection closed: a clean end, or a failure with `detail`."""
        self.ended = True
        return Ended() if clean else Failed(CONNECTION_CLOSED, detail, {})
