"""The frame trace a failing check prints (spec chapter 13-conformance: failure reports).

Every frame a check sends or receives is recorded with a monotonic timestamp, its direction,
opcode, hex bytes and decoded meaning, so a failure shows what happened on the wire.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field

HEX_BYTES = 32
TEXT_CHARS = 120
MAX_EVENTS = 60


@dataclass(frozen=True)
class Event:
    """One thing seen on a connection."""

    t: float
    conn: int
    direction: str  # "C->S", "S->C" or "--" (a local note)
    kind: str  # TEXT, BINARY, CLOSE, HTTP, TCP, NOTE...
    data: bytes = b""
    note: str = ""


def describe(kind: str, data: bytes) -> str:
    """A short human reading of a payload."""
    if kind == "BINARY":
        try:
            import msgpack

            return "msgpack " + _clip(repr(msgpack.unpackb(data, raw=False, strict_map_key=False)))
        except Exception as exc:  # any decoding problem is worth showing as such
            return f"not msgpack ({type(exc).__name__})"
    if kind == "TEXT":
        text = data.decode("utf-8", "replace")
        try:
            return "json " + _clip(json.dumps(json.loads(text), ensure_ascii=False))
        except ValueError:
            return "text " + _clip(repr(text))
    if kind == "CLOSE":
        if len(data) < 2:
            return "close (no code)"
        reason = data[2:].decode("utf-8", "replace")
        return f"close code={int.from_bytes(data[:2], 'big')} reason={reason!r}"
    return _clip(data.decode("utf-8", "replace"))


def _clip(text: str) -> str:
    return text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1] + "…"


def _hex(data: bytes) -> str:
    shown = data[:HEX_BYTES].hex(" ")
    return shown + (f" … ({len(data)} B)" if len(data) > HEX_BYTES else "")


@dataclass
class Recorder:
    """All events of one check, across its connections."""

    t0: float = field(default_factory=time.monotonic)
    events: list[Event] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_conn(self, what: str) -> int:
        """Number a new connection and note what it is."""
        conn = next(self._ids)
        self.note(conn, what)
        return conn

    def record(
        self, conn: int, direction: str, kind: str, data: bytes = b"", note: str = ""
    ) -> None:
        """Record one frame or handshake step."""
        self.events.append(Event(time.monotonic() - self.t0, conn, direction, kind, data, note))

    def note(self, conn: int, text: str) -> None:
        """Record a local note (connect, timeout, ...)."""
        self.record(conn, "--", "NOTE", note=text)

    def format(self) -> str:
        """The trace as an aligned text table (first and last events when it is long)."""
        events = self.events
        skipped = 0
        if len(events) > MAX_EVENTS:
            head, tail = events[: MAX_EVENTS // 2], events[-MAX_EVENTS // 2 :]
            skipped = len(events) - len(head) - len(tail)
            events = [*head, *tail]
        lines = []
        for i, ev in enumerate(events):
            if skipped and i == MAX_EVENTS // 2:
                lines.append(f"{'':>9}  … {skipped} events not shown …")
            meaning = ev.note or describe(ev.kind, ev.data)
            hexpart = (
                f"  [{_hex(ev.data)}]"
                if ev.data and ev.kind in ("TEXT", "BINARY", "CLOSE", "RAW")
                else ""
            )
            lines.append(
                f"{ev.t * 1000:8.1f}ms #{ev.conn} {ev.direction:<4} {ev.kind:<6} {meaning}{hexpart}"
            )
        return "\n".join(lines) if lines else "(no frames)"
