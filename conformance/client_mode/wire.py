"""Read the msgpack a client sent, byte by byte, to judge its encoding (spec chapter 01).

The msgpack library decodes values but hides how they were encoded (float32 or float64, str or
bin, ext types); this scanner reports the type of every object in one message.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass


class NotMsgpack(ValueError):
    """The payload is not exactly one well-formed msgpack object."""


@dataclass(frozen=True)
class Token:
    """One object in a msgpack message: its family, its depth and, for maps, nothing more."""

    family: str  # nil bool int float32 float64 str bin array map ext
    depth: int
    is_key: bool


_FIXED = {0xC0: "nil", 0xC2: "bool", 0xC3: "bool"}
_INT_SIZES = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8, 0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8}
_STR_LEN = {0xD9: 1, 0xDA: 2, 0xDB: 4}
_BIN_LEN = {0xC4: 1, 0xC5: 2, 0xC6: 4}
_EXT_LEN = {0xC7: 1, 0xC8: 2, 0xC9: 4}
_FIXEXT = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}
_ARRAY_LEN = {0xDC: 2, 0xDD: 4}
_MAP_LEN = {0xDE: 2, 0xDF: 4}


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise NotMsgpack(f"truncated at byte {self.pos}")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def length(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")


def scan(payload: bytes, max_depth: int = 1000) -> list[Token]:
    """Every object in ``payload``, which must hold exactly one msgpack object."""
    reader = _Reader(payload)
    tokens = list(_scan_one(reader, 0, False, max_depth))
    if reader.pos != len(payload):
        raise NotMsgpack(f"{len(payload) - reader.pos} trailing bytes after the object")
    return tokens


def _scan_one(r: _Reader, depth: int, is_key: bool, max_depth: int) -> Iterator[Token]:
    if depth > max_depth:
        raise NotMsgpack("nesting too deep")
    b = r.take(1)[0]
    if b <= 0x7F or b >= 0xE0:
        yield Token("int", depth, is_key)
    elif 0x80 <= b <= 0x8F or b in _MAP_LEN:
        count = b & 0x0F if b <= 0x8F else r.length(_MAP_LEN[b])
        yield Token("map", depth, is_key)
        for _ in range(count):
            yield from _scan_one(r, depth + 1, True, max_depth)
            yield from _scan_one(r, depth + 1, False, max_depth)
    elif 0x90 <= b <= 0x9F or b in _ARRAY_LEN:
        count = b & 0x0F if b <= 0x9F else r.length(_ARRAY_LEN[b])
        yield Token("array", depth, is_key)
        for _ in range(count):
            yield from _scan_one(r, depth + 1, False, max_depth)
    elif 0xA0 <= b <= 0xBF or b in _STR_LEN:
        size = b & 0x1F if b <= 0xBF else r.length(_STR_LEN[b])
        try:
            r.take(size).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotMsgpack("str is not valid UTF-8") from exc
        yield Token("str", depth, is_key)
    elif b in _FIXED:
        yield Token(_FIXED[b], depth, is_key)
    elif b in _INT_SIZES:
        r.take(_INT_SIZES[b])
        yield Token("int", depth, is_key)
    elif b == 0xCA:
        struct.unpack(">f", r.take(4))
        yield Token("float32", depth, is_key)
    elif b == 0xCB:
        struct.unpack(">d", r.take(8))
        yield Token("float64", depth, is_key)
    elif b in _BIN_LEN:
        r.take(r.length(_BIN_LEN[b]))
        yield Token("bin", depth, is_key)
    elif b in _EXT_LEN:
        r.take(r.length(_EXT_LEN[b]) + 1)
        yield Token("ext", depth, is_key)
    elif b in _FIXEXT:
        r.take(_FIXEXT[b] + 1)
        yield Token("ext", depth, is_key)
    else:  # 0xC1 is never used
        raise NotMsgpack(f"byte 0x{b:02x} is not a msgpack type")


def profile_problems(payload: bytes) -> list[str]:
    """What in ``payload`` breaks the input profile (one map, str keys, no ext), if anything."""
    try:
        tokens = scan(payload)
    except NotMsgpack as exc:
        return [f"not one msgpack object: {exc}"]
    problems = []
    if tokens[0].family != "map":
        problems.append(f"top level is {tokens[0].family}, not a map")
    if any(t.is_key and t.family != "str" for t in tokens):
        problems.append("a map key is not a str")
    if any(t.family == "ext" for t in tokens):
        problems.append("holds an ext type")
    return problems
