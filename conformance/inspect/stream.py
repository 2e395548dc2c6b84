"""One direction of an inspected WebSocket: bytes in, frames and whole messages out (RFC 6455).

Sans-I/O: :meth:`WsStream.feed` takes the bytes as they pass and returns every frame now
complete, each data message once its last fragment arrived (RT-TRANS-040/041: fragments form one
message), inflated when permessage-deflate was negotiated (RFC 7692, RSV1 on the first frame).
Frames are parsed by the suite's own :class:`conformance.frames.FrameParser`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from conformance.frames import BINARY, TEXT, Frame, FrameParser

__all__ = ["FrameEvent", "MessageEvent", "WsStream"]

_DEFLATE_TAIL = b"\x00\x00\xff\xff"
_CONT = 0


@dataclass(frozen=True)
class FrameEvent:
    """A frame as it passed."""

    frame: Frame


@dataclass(frozen=True)
class MessageEvent:
    """A whole data message (its fragments joined, inflated when compressed).

    Attributes:
        kind: ``"text"`` or ``"binary"``.
        data: the message payload as the application sees it.
        fragments: how many frames carried it.
        compressed: True when it was sent with permessage-deflate.
        error: why the payload could not be recovered (bad compression), else "".
    """

    kind: str
    data: bytes
    fragments: int
    compressed: bool
    error: str = ""


class WsStream:
    """The frames and messages of one direction of one connection."""

    def __init__(self, deflate: bool = False, no_context_takeover: bool = False) -> None:
        self._parser = FrameParser()
        self._deflate = deflate
        self._reset_each_message = no_context_takeover
        self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        self._opcode: int | None = None
        self._compressed = False
        self._parts: list[bytes] = []

    def feed(self, data: bytes) -> list[FrameEvent | MessageEvent]:
        """Add bytes as they passed; return the events now complete, in wire order."""
        events: list[FrameEvent | MessageEvent] = []
        for frame in self._parser.feed(data):
            events.append(FrameEvent(frame))
            if frame.opcode in (TEXT, BINARY, _CONT):
                message = self._on_data_frame(frame)
                if message is not None:
                    events.append(message)
        return events

    def _on_data_frame(self, frame: Frame) -> MessageEvent | None:
        if frame.opcode != _CONT:
            self._opcode = frame.opcode
            self._compressed = self._deflate and bool(frame.rsv & 0b100)
            self._parts = []
        elif self._opcode is None:
            return None  # a continuation with nothing to continue; the judge flags the frame
        self._parts.append(frame.payload)
        if not frame.fin:
            return None
        kind = "text" if self._opcode == TEXT else "binary"
        payload, error = b"".join(self._parts), ""
        if self._compressed:
            payload, error = self._inflate(payload)
        event = MessageEvent(kind, payload, len(self._parts), self._compressed, error)
        self._opcode, self._parts = None, []
        return event

    def _inflate(self, payload: bytes) -> tuple[bytes, str]:
        try:
            data = self._inflater.decompress(payload + _DEFLATE_TAIL)
        except zlib.error as exc:
            return payload, f"cannot inflate the message: {exc}"
        finally:
            if self._reset_each_message:
                self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        return data, ""
