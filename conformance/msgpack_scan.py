"""The suite's one msgpack byte scanner and profile checker (spec chapter 01-conventions).

The msgpack library decodes values but hides how they were encoded (float32 or float64, str or
bin, ext types). `scan` reads one message byte by byte and names the type, depth and offset of
every object in it; the profile rules of chapter 01 are judged on those tokens, the same way for
what a server sends (`decode_profile`, RT-CONV-001..003) and what a client sends
(`profile_problems`). The scan is iterative, so a deeply nested message cannot exhaust Python's
stack.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import msgpack

MAX_DEPTH = 1024  # containers nested deeper than this are refused (RT-CONV-006 allows 64+)


class NotMsgpack(ValueError):
    """The payload is not exactly one well-formed msgpack object."""


class InvalidUtf8(NotMsgpack):
    """A msgpack str holds bytes that are not UTF-8 (RT-CONV-003)."""


class TooDeep(NotMsgpack):
    """Maps and arrays nest deeper than the scanner's limit."""


class ProfileError(ValueError):
    """Bytes that are not one msgpack object of the spec's profile; `req` names the rule."""

    def __init__(self, message: str, req: str = "RT-CONV-001") -> None:
        super().__init__(message)
        self.req = req


@dataclass(frozen=True)
class Token:
    """One object in a msgpack message: its family, depth, whether it is a map key, offset."""

    family: str  # nil bool int float32 float64 str bin array map ext
    depth: int
    is_key: bool
    offset: int = 0


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


def _read_token(r: _Reader, depth: int, is_key: bool) -> tuple[Token, int]:
    """Read one object header (and any scalar body); return it and how many children follow."""
    offset = r.pos
    b = r.take(1)[0]
    family, children = "", 0
    if b <= 0x7F or b >= 0xE0:
        family = "int"
    elif 0x80 <= b <= 0x8F or b in _MAP_LEN:
        family = "map"
        children = 2 * (b & 0x0F if b <= 0x8F else r.length(_MAP_LEN[b]))
    elif 0x90 <= b <= 0x9F or b in _ARRAY_LEN:
        family = "array"
        children = b & 0x0F if b <= 0x9F else r.length(_ARRAY_LEN[b])
    elif 0xA0 <= b <= 0xBF or b in _STR_LEN:
        size = b & 0x1F if b <= 0xBF else r.length(_STR_LEN[b])
        try:
            r.take(size).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidUtf8(f"str at byte {offset} is not valid UTF-8") from exc
        family = "str"
    elif b in _FIXED:
        family = _FIXED[b]
    elif b in _INT_SIZES:
        r.take(_INT_SIZES[b])
        family = "int"
    elif b == 0xCA:
        struct.unpack(">f", r.take(4))
        family = "float32"
    elif b == 0xCB:
        struct.unpack(">d", r.take(8))
        family = "float64"
    elif b in _BIN_LEN:
        r.take(r.length(_BIN_LEN[b]))
        family = "bin"
    elif b in _EXT_LEN:
        r.take(r.length(_EXT_LEN[b]) + 1)
        family = "ext"
    elif b in _FIXEXT:
        r.take(_FIXEXT[b] + 1)
        family = "ext"
    else:  # 0xC1 is never used
        raise NotMsgpack(f"byte 0x{b:02x} is not a msgpack type")
    return Token(family, depth, is_key, offset), children


def scan(payload: bytes, max_depth: int = MAX_DEPTH) -> list[Token]:
    """Every object in `payload`, which must hold exactly one msgpack object.

    `max_depth` bounds the nesting of maps and arrays (the top-level map is depth 1).
    """
    reader = _Reader(payload)
    tokens: list[Token] = []
    # Each frame of the stack: (depth of its children, children left, container is a map).
    stack: list[list[Any]] = []
    depth, is_key = 0, False
    while True:
        token, children = _read_token(reader, depth, is_key)
        if token.family in ("map", "array") and depth + 1 > max_depth:
            raise TooDeep(f"maps and arrays nest deeper than {max_depth} levels")
        tokens.append(token)
        if children:
            stack.append([depth + 1, children, token.family == "map"])
        while stack and stack[-1][1] == 0:
            stack.pop()
        if not stack:
            break
        frame = stack[-1]
        depth = frame[0]
        # In a map, children alternate key, value: an even count left means a key is next.
        is_key = bool(frame[2]) and frame[1] % 2 == 0
        frame[1] -= 1
    if reader.pos != len(payload):
        raise NotMsgpack(f"{len(payload) - reader.pos} trailing bytes after the object")
    return tokens


def profile_problems(payload: bytes) -> list[str]:
    """What in `payload` breaks the input profile (one map, str keys, no ext), if anything."""
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


#: Why a message is not a valid input, as the spec's vectors name it (spec/vectors/README.md).
REJECT_REASONS = (
    "malformed",
    "invalid-utf8",
    "too-deep",
    "not-a-map",
    "non-str-key",
    "ext",
    "duplicate-key",
)


def reject_reason(payload: bytes, max_depth: int = MAX_DEPTH) -> str | None:
    """Why `payload` is not a valid input under the profile (one of `REJECT_REASONS`), or None.

    The spec's msgpack vectors (spec/vectors/msgpack-*.json) are stated in these reasons; the
    project's tests run this checker over them.
    """
    try:
        tokens = scan(payload, max_depth)
    except InvalidUtf8:
        return "invalid-utf8"
    except TooDeep:
        return "too-deep"
    except NotMsgpack:
        return "malformed"
    if tokens[0].family != "map":
        return "not-a-map"
    if any(t.is_key and t.family != "str" for t in tokens):
        return "non-str-key"
    if any(t.family == "ext" for t in tokens):
        return "ext"
    if has_duplicate_key(payload):
        return "duplicate-key"
    return None


def has_duplicate_key(payload: bytes) -> bool:
    """True when some map in `payload` (already scanned: valid, str keys) repeats a key.

    msgpack keeps the last of repeated keys silently; the profile refuses them (RT-CONV-013),
    so the check unpacks with a pairs hook that sees every key.
    """
    repeated = False

    def pairs(items: list[tuple[Any, Any]]) -> dict[Any, Any]:
        nonlocal repeated
        mapping = dict(items)
        repeated = repeated or len(mapping) < len(items)
        return mapping

    msgpack.unpackb(payload, raw=False, use_list=False, object_pairs_hook=pairs)
    return repeated


def decode_profile(data: bytes) -> Any:
    """Decode one msgpack object, enforcing the profile (chapter 01-conventions).

    Rejects, blaming the rule: invalid msgpack and trailing bytes (RT-CONV-001), invalid UTF-8
    in a str (RT-CONV-003), ext types, timestamp included (RT-CONV-001), map keys that are not
    str (RT-CONV-002), then a map holding a key twice (RT-CONV-012). The first breach in byte
    order is reported.
    """
    try:
        tokens = scan(data)
    except InvalidUtf8 as exc:
        raise ProfileError(f"a str holds invalid UTF-8 ({exc})", "RT-CONV-003") from exc
    except NotMsgpack as exc:
        raise ProfileError(f"not valid msgpack: {exc}") from exc
    for token in tokens:
        if token.is_key and token.family != "str":
            raise ProfileError(
                f"a map key at byte {token.offset} is a {token.family}, not a str", "RT-CONV-002"
            )
        if token.family == "ext":
            raise ProfileError(f"ext type at byte {token.offset}: outside the msgpack profile")
    repeated: list[Any] = []

    def pairs(items: list[tuple[Any, Any]]) -> dict[Any, Any]:
        mapping = dict(items)
        if len(mapping) < len(items):
            repeated.append(next(k for i, (k, _) in enumerate(items) if k in dict(items[:i])))
        return mapping

    try:
        value = msgpack.unpackb(
            data, raw=False, strict_map_key=False, use_list=True, object_pairs_hook=pairs
        )
    except (ValueError, msgpack.UnpackException) as exc:  # e.g. nesting beyond msgpack's limit
        raise ProfileError(f"not valid msgpack: {type(exc).__name__}: {exc}") from exc
    if repeated:
        raise ProfileError(f"a map holds the key {repeated[0]!r} twice", "RT-CONV-012")
    return value


def float32_offsets(data: bytes) -> list[int]:
    """Offsets of float32 values (0xca) in one msgpack object, for RT-CONV-004."""
    return [t.offset for t in scan(data) if t.family == "float32"]
