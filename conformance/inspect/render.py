"""The inspector's printed lines: one per handshake head, frame and message, flags beneath.

Every line starts with the wall-clock time (microseconds), the time since the connection
opened, the connection number and the direction, so two interleaved sessions stay readable:

    14:02:03.123456 +0.004512 #1 C->S BINARY 11 B masked fin {'prompt': 'hi'}
    14:02:03.123470 +0.004526 #1 C->S TEXT 11 B masked fin 'not allowed'
      !! RT-MSG-002 [MUST] a client sent a TEXT message
         A client MUST NOT send text messages on a realtime endpoint.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from conformance.frames import CLOSE, Frame
from conformance.inspect.handshake import Head, mask_header, mask_target
from conformance.inspect.judge import Flag
from conformance.inspect.stream import MessageEvent
from conformance.requirements import Requirement, load_requirements

__all__ = ["Clock", "flag_lines", "frame_line", "head_lines", "message_line", "shorten"]

MAX_VALUE_CHARS = 240
MAX_HEX_BYTES = 32


class Clock:
    """Wall-clock and since-open timestamps of one connection."""

    def __init__(self, opened: float) -> None:
        self._opened = opened

    def stamp(self, now: float) -> str:
        """``HH:MM:SS.ffffff +S.ffffff`` for a time.time() value."""
        wall = dt.datetime.fromtimestamp(now).strftime("%H:%M:%S.%f")
        return f"{wall} +{now - self._opened:.6f}"


def shorten(value: Any) -> str:
    """A value's repr cut to a readable length."""
    text = repr(value)
    return (
        text if len(text) <= MAX_VALUE_CHARS else f"{text[:MAX_VALUE_CHARS]}... ({len(text)} chars)"
    )


def _hex(data: bytes) -> str:
    head = data[:MAX_HEX_BYTES].hex(" ")
    return head + (" ..." if len(data) > MAX_HEX_BYTES else "")


def head_lines(prefix: str, head: Head) -> list[str]:
    """A handshake head, credentials masked (RT-SEC-003: never print a secret)."""
    start = head.start
    if head.status is None:
        method, target, version = start.split(" ", 2)
        start = f"{method} {mask_target(target)} {version}"
    lines = [f"{prefix} {start}"]
    lines += [f"{prefix}   {name}: {mask_header(name, value)}" for name, value in head.headers]
    return lines


def frame_line(prefix: str, frame: Frame) -> str:
    """One frame: opcode, size, mask and fin bits; close code and reason; ping payload."""
    bits = ["masked" if frame.masked else "unmasked", "fin" if frame.fin else "more"]
    if frame.rsv:
        bits.append(f"rsv={frame.rsv:03b}")
    line = f"{prefix} {frame.name} {len(frame.payload)} B {' '.join(bits)}"
    if frame.opcode == CLOSE:
        code = frame.close_code
        line += f" code={code if code is not None else 'none'} reason={frame.close_reason!r}"
    elif frame.opcode >= 8 and frame.payload:
        line += f" payload={frame.payload!r:.60}"
    return line


def message_line(prefix: str, message: MessageEvent, value: Any, frame: Frame | None) -> str:
    """A whole message and its decoded value (or its bytes in hex).

    ``frame`` is the message's only frame, shown on the same line; a fragmented message's
    frames were printed one by one before it.
    """
    how = []
    if message.fragments > 1:
        how.append(f"{message.fragments} fragments")
    if message.compressed:
        how.append(f"deflated, {len(message.data)} B inflated")
    extra = f" ({', '.join(how)})" if how else ""
    shown = shorten(value) if value is not None else f"hex {_hex(message.data)}"
    if frame is not None:
        return f"{frame_line(prefix, frame)}{extra} {shown}"
    return f"{prefix} message {message.kind} {len(message.data)} B{extra} {shown}"


@functools.cache
def _requirements() -> dict[str, Requirement]:
    return load_requirements()


def flag_lines(flags: list[Flag]) -> list[str]:
    """Each broken rule: ID, level and what happened, then the requirement's sentence."""
    lines = []
    for flag in flags:
        req = _requirements().get(flag.req_id)
        level = f" [{req.level}]" if req else ""
        lines.append(f"  !! {flag.req_id}{level} {flag.note}")
        if req:
            lines.append(f"     {req.text}")
    return lines
