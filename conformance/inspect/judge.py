"""The rules an inspected frame or message is held to, as it passes (spec chapters 01-06).

The message rules are the suite's own: :func:`conformance.schemas.decode_profile` for msgpack
(RT-CONV-001..003), :func:`conformance.validation.validate_control` for text frames
(RT-CTRL-001..006, RT-CTRL-033, RT-CTRL-040) and the same output rules the suite's connections
apply (RT-MSG-020, RT-CTRL-002), plus the client's side of them (RT-MSG-001/002). Frame rules
need a little memory per connection: a ping's payload until its pong (RT-LIFE-010/011), an
error frame until the close (RT-LIFE-020), an unmasked client frame until the server's answer
(RT-LIFE-022). Message rules apply to realtime endpoints only; a raw endpoint (chapter 09)
carries any text or bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from conformance import schemas
from conformance.failures import ConformanceFailure
from conformance.frames import CLOSE, OPCODES, PING, PONG, Frame
from conformance.inspect.stream import MessageEvent
from conformance.validation import BINARY_CONTROL_REQS, OUTPUT_MAP_REQS, validate_control

__all__ = ["CLIENT", "SERVER", "Flag", "Judge"]

CLIENT, SERVER = "C->S", "S->C"
#: Not a requirement of the spec but of RFC 6455 itself; flagged under this name.
RFC6455 = "RFC6455"


@dataclass(frozen=True)
class Flag:
    """One rule a frame broke: the requirement ID (or ``RFC6455``) and what happened."""

    req_id: str
    note: str


def _failure(exc: ConformanceFailure) -> list[Flag]:
    return [Flag(req, str(exc)) for req in exc.reqs or ("RT-CONV-001",)]


def _decode_msgpack(data: bytes) -> tuple[Any, list[Flag]]:
    """Decode one msgpack message under the profile; flag where it breaks it."""
    try:
        value = schemas.decode_profile(data)
    except schemas.ProfileError as exc:
        return None, [Flag(exc.req, f"not one msgpack value of the profile: {exc}")]
    flags = []
    if schemas.float32_paths(data):
        flags.append(Flag("RT-CONV-004", "a non-integer number is encoded as float32"))
    return value, flags


def _server_binary(data: bytes) -> tuple[Any, list[Flag]]:
    value, flags = _decode_msgpack(data)
    if value is None and flags:
        return value, flags
    if not isinstance(value, dict):
        flags.append(Flag(OUTPUT_MAP_REQS[0], f"the output is not a msgpack map: {value!r:.80}"))
    elif value.get("type") in ("x-fal-error", "x-fal-message"):
        flags += [Flag(r, "a control frame sent as BINARY msgpack") for r in BINARY_CONTROL_REQS]
    return value, flags


def _server_text(data: bytes) -> tuple[Any, list[Flag]]:
    try:
        value = json.loads(data.decode("utf-8"))
    except ValueError:
        value = None
    try:
        validate_control(value, data)
    except ConformanceFailure as exc:
        return value, _failure(exc)
    return value, []


def _client_binary(data: bytes) -> tuple[Any, list[Flag]]:
    value, flags = _decode_msgpack(data)
    if value is not None and not isinstance(value, dict):
        flags.append(Flag("RT-MSG-001", f"the input is not a msgpack map: {value!r:.80}"))
    return value, flags


@dataclass
class Judge:
    """The rules of one connection (``realtime`` False for a raw endpoint)."""

    realtime: bool = True
    _pings: dict[str, list[bytes]] = field(default_factory=lambda: {CLIENT: [], SERVER: []})
    _error_sent: bool = False
    _unmasked_client_frame: bool = False

    def on_message(self, direction: str, message: MessageEvent) -> tuple[Any, list[Flag]]:
        """The decoded value of a whole message and the rules it breaks."""
        if message.error:
            return None, [Flag("RT-TRANS-030", message.error)]
        shown: Any = message.data
        if message.kind == "text":
            try:
                shown = json.loads(message.data.decode("utf-8"))
            except ValueError:
                shown = message.data.decode("utf-8", "replace")
        if not self.realtime:
            return shown, []
        if direction == CLIENT:
            if message.kind == "text":
                return shown, [Flag("RT-MSG-002", "a client sent a TEXT message")]
            return _client_binary(message.data)
        if message.kind == "text":
            value, flags = _server_text(message.data)
            if isinstance(value, dict) and value.get("type") == "x-fal-error":
                self._error_sent = True
            return (value if value is not None else shown), flags
        return _server_binary(message.data)

    def on_frame(self, direction: str, frame: Frame) -> list[Flag]:
        """The frame-level rules (masking, ping/pong, close codes) this frame breaks."""
        flags = self._masking(direction, frame)
        if frame.opcode not in OPCODES:
            flags.append(Flag(RFC6455, f"reserved opcode 0x{frame.opcode:X} (RFC 6455 5.2)"))
        if frame.opcode == PING:
            self._pings[direction].append(frame.payload)
        elif frame.opcode == PONG:
            flags += self._pong(direction, frame.payload)
        elif (
            frame.opcode == CLOSE
            and direction == SERVER
            and self._error_sent
            and frame.close_code != 1000
        ):
            note = f"closed with {frame.close_code} after an error frame"
            flags.append(Flag("RT-LIFE-020", note))
        return flags

    def on_end(self) -> list[Flag]:
        """The rules the connection's end breaks: an unmasked client frame never answered 1002."""
        if self._unmasked_client_frame:
            self._unmasked_client_frame = False
            return [Flag("RT-LIFE-022", "the connection ended with no CLOSE 1002 for it")]
        return []

    def _masking(self, direction: str, frame: Frame) -> list[Flag]:
        if direction == CLIENT and not frame.masked:
            self._unmasked_client_frame = True
            return [Flag(RFC6455, "an unmasked client frame (RFC 6455 5.1: a client masks)")]
        if direction == SERVER and frame.masked:
            return [Flag(RFC6455, "a masked server frame (RFC 6455 5.1: a server never masks)")]
        if direction == SERVER and self._unmasked_client_frame:
            self._unmasked_client_frame = False
            if frame.opcode != CLOSE or frame.close_code != 1002:
                what = f"CLOSE {frame.close_code}" if frame.opcode == CLOSE else frame.name
                return [Flag("RT-LIFE-022", f"answered an unmasked client frame with {what}")]
        return []

    def _pong(self, direction: str, payload: bytes) -> list[Flag]:
        pinged_by = SERVER if direction == CLIENT else CLIENT
        pending = self._pings[pinged_by]
        if not pending:
            return []  # an unsolicited pong is allowed (RFC 6455 5.5.3)
        expected = pending.pop(0)
        if payload == expected:
            return []
        req = "RT-LIFE-011" if direction == CLIENT else "RT-LIFE-010"
        return [Flag(req, f"pong payload {payload!r:.40} is not the ping's {expected!r:.40}")]
