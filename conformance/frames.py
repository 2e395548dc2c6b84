"""Raw WebSocket frames (RFC 6455 section 5) for checks that go below the `websockets` library.

Spec chapters 02-transport and 06-lifecycle: oversize messages and close codes are checked on
the wire, so the suite builds client frames itself and parses what the server sends back.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

OPCODES = {0: "CONT", 1: "TEXT", 2: "BINARY", 8: "CLOSE", 9: "PING", 10: "PONG"}
TEXT, BINARY, CLOSE, PING, PONG = 1, 2, 8, 9, 10


def mask_payload(payload: bytes, key: bytes) -> bytes:
    """XOR `payload` with the 4-byte masking key (fast path through int arithmetic)."""
    if not payload or key == b"\0\0\0\0":
        return payload
    repeat = (key * (len(payload) // 4 + 1))[: len(payload)]
    masked = int.from_bytes(payload, "big") ^ int.from_bytes(repeat, "big")
    return masked.to_bytes(len(payload), "big")


def frame_header(
    opcode: int, length: int, *, fin: bool = True, rsv: int = 0, mask_key: bytes | None = None
) -> bytes:
    """The header of one frame announcing `length` payload bytes (masked when a key is given)."""
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    mask_bit = 0x80 if mask_key is not None else 0
    if length < 126:
        head = struct.pack("!BB", first, mask_bit | length)
    elif length < 1 << 16:
        head = struct.pack("!BBH", first, mask_bit | 126, length)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, length)
    return head + (mask_key or b"")


def client_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """One masked client frame carrying `payload`."""
    key = os.urandom(4)
    return frame_header(opcode, len(payload), fin=fin, mask_key=key) + mask_payload(payload, key)


def close_payload(code: int, reason: str = "") -> bytes:
    """The payload of a CLOSE frame."""
    return struct.pack("!H", code) + reason.encode()


@dataclass(frozen=True)
class Frame:
    """One frame read off the wire."""

    opcode: int
    fin: bool
    rsv: int
    payload: bytes
    masked: bool = False  # the frame carried a masking key (every client frame must)

    @property
    def name(self) -> str:
        """The opcode's name (TEXT, BINARY, CLOSE...)."""
        return OPCODES.get(self.opcode, f"OP{self.opcode:X}")

    @property
    def close_code(self) -> int | None:
        """The status code of a CLOSE frame (None when it carries none)."""
        if self.opcode != CLOSE or len(self.payload) < 2:
            return None
        return int(struct.unpack("!H", self.payload[:2])[0])

    @property
    def close_reason(self) -> str:
        """The reason of a CLOSE frame."""
        return self.payload[2:].decode("utf-8", "replace")


class FrameParser:
    """Incremental parser of frames (server frames are unmasked; a masked one is unmasked here)."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes; return every frame now complete."""
        self._buf += data
        frames: list[Frame] = []
        while True:
            frame = self._next()
            if frame is None:
                return frames
            frames.append(frame)

    def _next(self) -> Frame | None:
        buf = self._buf
        if len(buf) < 2:
            return None
        b0, b1 = buf[0], buf[1]
        length, pos = b1 & 0x7F, 2
        if length == 126:
            if len(buf) < 4:
                return None
            length, pos = struct.unpack("!H", buf[2:4])[0], 4
        elif length == 127:
            if len(buf) < 10:
                return None
            length, pos = struct.unpack("!Q", buf[2:10])[0], 10
        key = None
        if b1 & 0x80:
            key, pos = bytes(buf[pos : pos + 4]), pos + 4
        if len(buf) < pos + length:
            return None
        payload = bytes(buf[pos : pos + length])
        if key:
            payload = mask_payload(payload, key)
        del buf[: pos + length]
        return Frame(
            opcode=b0 & 0x0F,
            fin=bool(b0 & 0x80),
            rsv=(b0 >> 4) & 7,
            payload=payload,
            masked=key is not None,
        )
