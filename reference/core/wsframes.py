"""WebSocket frames as bytes, without I/O (RFC 6455 section 5; spec chapter 02-transport).

`FrameParser` is the one inbound frame parser of the reference server: it splits the byte
stream into frames, checks the rules a server must enforce (masking, reserved bits and
opcodes, control-frame limits, the message size limit) and unmasks payloads. A violation is
raised as `FrameError` with the close code to send (1002, or 1009 for a frame over the
limit, RT-TRANS-044). `frame_bytes` serialises one unmasked server frame.
"""

from __future__ import annotations

from reference.core.frames import CloseCode


def apply_mask(data: bytes, mask: bytes) -> bytes:
    """XOR `data` with the repeated 4-byte `mask` (one big-int operation, no Python loop)."""
    size = len(data)
    if not size:
        return b""
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")


#: Largest inbound message (RT-TRANS-042/043, as fal's runner); above it: 1009 (RT-TRANS-044).
MAX_MESSAGE = 16 * 1024 * 1024

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
DATA_OPCODES = frozenset({CONT, TEXT, BINARY})
CONTROL_OPCODES = frozenset({CLOSE, PING, PONG})


class FrameError(Exception):
    """The peer broke RFC 6455 framing; close the connection with `code`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


#: One complete, unmasked frame: (opcode, fin, payload). A plain tuple: built per message.
Frame = tuple[int, bool, bytes]


class FrameParser:
    """Splits a byte stream into frames; feed it any chunks, in order."""

    __slots__ = ("_buf", "_have", "_need", "_parts", "max_size")

    def __init__(self, max_size: int = MAX_MESSAGE) -> None:
        self.max_size = max_size
        self._buf = b""
        self._need = 2  # bytes the frame at the head of the buffer needs (a fast skip)
        # Chunks of a frame still short of `_need`, joined once it is complete: copying the
        # buffer per read made a 16 MiB frame cost O(n^2) bytes of memcpy.
        self._parts: list[bytes] = []
        self._have = 0

    def feed(self, data: bytes) -> tuple[list[Frame], FrameError | None]:
        """Every frame completed by `data`, then the framing error that stopped it, if any.

        The incomplete tail is kept for the next call. After an error the parser is done.
        One loop, inlined: this runs for every message the server receives.
        """
        if self._buf or self._parts:
            self._have += len(data)
            self._parts.append(data)
            if self._have < self._need:
                return [], None
            data = self._buf + b"".join(self._parts)
            self._parts = []
            self._have = 0
        end_of_data = len(data)
        if end_of_data < self._need:
            self._buf = data
            self._have = end_of_data
            return [], None
        frames: list[Frame] = []
        pos = 0
        max_size = self.max_size
        while end_of_data - pos >= 2:
            b0 = data[pos]
            b1 = data[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length >= 126:
                head = 4 if length == 126 else 10
                if end_of_data - pos < head:
                    self._need = head
                    break
                length = int.from_bytes(data[pos + 2 : pos + head], "big")
            if (b0 != 0x82 and b0 != 0x81) or not b1 & 0x80 or length > max_size:
                try:
                    self._check_header(b0, b1, length)
                except FrameError as exc:
                    self._buf = b""
                    return frames, exc
            mask_at = pos + head
            end = mask_at + 4 + length
            if end > end_of_data:
                self._need = end - pos
                break
            payload = apply_mask(data[mask_at + 4 : end], data[mask_at : mask_at + 4])
            frames.append((b0 & 0x0F, b0 >= 0x80, payload))
            pos = end
        else:
            self._need = 2
        self._buf = data[pos:] if pos < end_of_data else b""
        self._have = len(self._buf)
        return frames, None

    def _check_header(self, b0: int, b1: int, length: int) -> None:
        """The header rules a server enforces (RT-LIFE-022, RT-TRANS-044)."""
        opcode = b0 & 0x0F
        if b0 & 0x70:
            raise FrameError(CloseCode.PROTOCOL_ERROR, "reserved bits must be 0")
        if opcode not in DATA_OPCODES and opcode not in CONTROL_OPCODES:
            raise FrameError(CloseCode.PROTOCOL_ERROR, f"invalid opcode: {opcode}")
        if not b1 & 0x80:
            raise FrameError(CloseCode.PROTOCOL_ERROR, "incorrect masking")
        if opcode in CONTROL_OPCODES:
            if not b0 & 0x80:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "fragmented control frame")
            if length > 125:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "control frame too long")
        if length > self.max_size:
            raise FrameError(
                CloseCode.TOO_BIG, f"frame with {length} bytes exceeds limit of {self.max_size}"
            )


def frame_bytes(opcode: int, payload: bytes) -> bytes:
    """One final, unmasked frame as a server sends it (RFC 6455 section 5.2)."""
    first = 0x80 | opcode
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 65536:
        return bytes((first, 126)) + size.to_bytes(2, "big") + payload
    return bytes((first, 127)) + size.to_bytes(8, "big") + payload
