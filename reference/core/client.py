"""The client's session rules, without I/O (spec chapters 04-messages, 05-control-frames, 15).

`ClientSession` classifies each received message once for every client layer (sync and
asyncio): a binary message is an output; an x-fal-error frame is a failure, except TIMEOUT,
which is the normal end of a session (RT-CTRL-017/018); x-fal-message frames and text frames
of an unknown type are skipped (RT-CTRL-031/032). A binary message that is not one msgpack
map inside the profile is a `DECODE_ERROR` of that output, and the session reads on
(RT-CONV-010, RT-CONV-016, RT-CTRL-026). Once ended, the session stays ended.

A client that opts in to the 1.1 extension channel (`extensions=`, spec 15) reads the `hello`
from the first message only (RT-EXT-007): an extension is on when it was offered and the
`hello` enabled it; every frame of an extension that is off is skipped as 1.0 skips it
(RT-EXT-006). With `correlation` on, outputs and errors carry the input indexes the server
sent (RT-EXT-033); with `end-of-output` on, that frame is the normal end (RT-EXT-021).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from reference.core.codec import ProfileError, decode_output, encode
from reference.core.extensions import (
    CORRELATION,
    END_OF_INPUT,
    END_OF_INPUT_FRAME,
    END_OF_OUTPUT,
    HEARTBEAT,
)
from reference.core.frames import MESSAGE_TYPE, ErrorFrame, parse_text

#: The code a client reports when the connection closed with an error code (not 1000/1001).
CONNECTION_CLOSED = "CONNECTION_CLOSED"
#: The code a client reports for a binary message it cannot deliver as an output (RT-CTRL-026).
DECODE_ERROR = "DECODE_ERROR"
#: The code a client reports when a heartbeat session went silent (RT-EXT-042).
HEARTBEAT_LOST = "HEARTBEAT_LOST"


@dataclass(frozen=True, slots=True)
class Output:
    """One output map of the server; `inputs` are its input indexes (correlation on)."""

    value: Any
    inputs: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class Ended:
    """The session ended normally (TIMEOUT or end-of-output frame, or a clean close)."""

    reason: str = ""  # the end-of-output reason, when that extension is on


@dataclass(frozen=True, slots=True)
class Failed:
    """An error of one input (its error frame, or an output that cannot be decoded) or of the
    session (a close with an error code, a lost heartbeat)."""

    code: str
    reason: str
    payload: dict[str, Any]
    input_index: int | None = None  # the input the error answers (correlation on)


ClientEvent = Output | Ended | Failed


def _indexes(value: Any) -> tuple[int, ...] | None:
    if isinstance(value, list) and all(type(i) is int and i >= 0 for i in value):
        return tuple(value)
    return None


class ClientSession:
    """What a realtime client makes of the messages it receives."""

    __slots__ = (
        "_tag",
        "dropped",
        "enabled",
        "ended",
        "hello",
        "input_ended",
        "last_message_at",
        "offered",
        "seen_first",
        "sent",
    )

    def __init__(self, extensions: Sequence[str] | None = None) -> None:
        self.ended = False
        #: The `rt_ext` tokens asked for; None: the client does not opt in (a 1.0 client).
        self.offered = None if extensions is None else tuple(dict.fromkeys(extensions))
        self.enabled: tuple[str, ...] = ()  # on for this session (RT-EXT-007)
        self.hello: dict[str, Any] | None = None
        self.seen_first = False  # the first message decides whether a hello came
        self.sent = 0  # data messages sent: the next input's index (spec 15.4)
        self.input_ended = False
        self.dropped: list[int] = []  # inputs the server reported dropped (RT-EXT-032/033)
        self.last_message_at: float | None = None
        self._tag: tuple[int, ...] | None = None  # the inputs of the next output

    def is_on(self, token: str) -> bool:
        """Whether extension `token` is on for the session."""
        return token in self.enabled

    @property
    def heartbeat_interval(self) -> float | None:
        """The server's heartbeat period when `heartbeat` is on, else None."""
        if self.hello is None or not self.is_on(HEARTBEAT):
            return None
        interval = self.hello.get("heartbeat_interval")
        return float(interval) if isinstance(interval, int | float) else None

    def input_bytes(self, value: dict[str, Any]) -> bytes:
        """One input map as a binary message (msgpack); counts it for its input index."""
        if self.input_ended:
            raise RuntimeError("end-of-input was sent: no input may follow it (RT-EXT-010)")
        data = encode(value)
        self.sent += 1
        return data

    def end_of_input(self) -> str | None:
        """The end-of-input frame to send, or None when the extension is off (RT-EXT-010).

        Sent at most once; after it, `input_bytes` refuses further inputs.
        """
        if not self.is_on(END_OF_INPUT) or self.input_ended:
            return None
        self.input_ended = True
        return END_OF_INPUT_FRAME

    def receive_message(self, message: bytes | str, now: float | None = None) -> ClientEvent | None:
        """Classify one message; None means skip it and read the next one."""
        if now is not None:
            self.last_message_at = now
        if self.ended:
            return Ended()
        first = not self.seen_first
        self.seen_first = True
        if isinstance(message, bytes):
            tag, self._tag = self._tag, None
            try:
                return Output(decode_output(message), tag)
            except ProfileError as exc:  # RT-CONV-010/016: an error of this output, read on
                index = tag[0] if tag is not None and len(tag) == 1 else None
                return Failed(DECODE_ERROR, exc.reason, {}, index)
        frame = parse_text(message)
        if not isinstance(frame, ErrorFrame):
            return self._message(message, first)
        if frame.ends_session:
            self.ended = True
            return Ended()
        index = frame.payload.get("input_index") if self.is_on(CORRELATION) else None
        return Failed(
            frame.code, frame.reason, frame.payload, index if type(index) is int else None
        )

    def _message(self, text: str, first: bool) -> ClientEvent | None:
        """An x-fal-message (or unknown text): the hello, an extension frame, or skipped."""
        try:
            obj = json.loads(text)
        except ValueError:
            return None
        if type(obj) is not dict or obj.get("type") != MESSAGE_TYPE:
            return None  # unknown type, not JSON: ignored (RT-CTRL-032)
        action = obj.get("action")
        if action == "hello":
            if first and self.offered is not None:
                self._hello(obj)
            return None
        if action == "output" and self.is_on(CORRELATION):
            self._tag = _indexes(obj.get("inputs"))
        elif action == "dropped" and self.is_on(CORRELATION):
            self.dropped.extend(_indexes(obj.get("inputs")) or ())
        elif action == END_OF_OUTPUT and self.is_on(END_OF_OUTPUT):
            self.ended = True  # RT-EXT-021: the normal end, never an error
            reason = obj.get("reason")
            return Ended(reason if isinstance(reason, str) else "")
        return None  # timings, heartbeat, an extension that is off (RT-EXT-006, RT-CTRL-031)

    def _hello(self, hello: dict[str, Any]) -> None:
        enabled = hello.get("extensions")
        if not isinstance(enabled, list) or self.offered is None:
            return
        self.hello = hello
        self.enabled = tuple(t for t in self.offered if t in enabled)

    def heartbeat_deadline(self) -> float | None:
        """When silence means a lost server (twice the interval, RT-EXT-042), or None."""
        interval = self.heartbeat_interval
        if interval is None or self.last_message_at is None or self.ended:
            return None
        return self.last_message_at + 2 * interval

    def heartbeat_lost(self) -> Failed:
        """The session failed: the server stayed silent past its heartbeat (RT-EXT-042)."""
        self.ended = True
        return Failed(HEARTBEAT_LOST, "no message from the server for twice heartbeat_interval", {})

    def receive_closed(self, clean: bool, detail: str) -> ClientEvent:
        """The connection closed: a clean end, or a failure with `detail`."""
        self.ended = True
        return Ended() if clean else Failed(CONNECTION_CLOSED, detail, {})
