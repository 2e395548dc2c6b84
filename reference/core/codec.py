"""The msgpack profile of inputs and outputs (spec chapter 01-conventions, RT-CONV).

Inputs are one msgpack map per binary message: nil, bool, int (64-bit range), float32/64,
str (valid UTF-8), bin, array and map with str keys; no ext types (timestamp included), no
trailing bytes, bounded nesting. `decode_input` enforces that profile and raises
`ProfileError` with a reason a client can act on; `encode_output` packs with `use_bin_type`
so bytes travel as bin and floats as float64.
"""

from __future__ import annotations

from typing import Any

import msgpack

#: Deepest nesting the reference accepts (the top-level map is depth 1): RT-CONV-006 requires
#: 64, RT-CONV-007 lets a server refuse more, RT-CONV-008 requires refusing beyond 1024.
MAX_DEPTH = 64

#: Most msgpack objects (containers and elements, any depth) one decoded input may hold
#: (RT-SEC-012): an empty map is 1 byte on the wire and ~70 bytes decoded, so 16 MiB of them
#: was 1.24 GB and a 6 s stall. Counted while decoding, so a bomb stops at the limit.
MAX_OBJECTS = 1024 * 1024

# Scalars the profile allows. `bool` is a subclass of `int`, but `type(x) in ...` is exact.
_SCALARS = frozenset({str, int, float, bool, type(None), bytes})


class ProfileError(ValueError):
    """An input message is outside the msgpack profile; `reason` names the problem."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _refuse_ext(code: int, data: bytes) -> Any:  # RT-CONV-009
    raise ProfileError(f"msgpack ext type {code} is not allowed; send plain maps and values")


def _refuse_duplicate_keys(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:  # RT-CONV-013
    mapping = dict(pairs)
    if len(mapping) != len(pairs):  # msgpack alone would keep the last value silently
        seen: set[Any] = set()
        for key, _ in pairs:
            if key in seen:
                raise ProfileError(f"a map holds the key {key!r} twice; send each key once")
            seen.add(key)
    return mapping


def _check(value: Any, depth: int) -> None:
    """Walk containers once: str keys only, profile types only, depth bounded."""
    if depth > MAX_DEPTH:
        raise ProfileError(f"nesting deeper than {MAX_DEPTH} levels is not accepted")
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str:  # RT-CONV-002, RT-CONV-009
                raise ProfileError("map keys must be strings (msgpack str), got " + _kind(key))
            if type(item) not in _SCALARS:
                _check(item, depth + 1)
    elif type(value) is list:
        for item in value:
            if type(item) not in _SCALARS:
                _check(item, depth + 1)
    else:
        # msgpack.Timestamp (ext -1 is decoded without the ext hook) and anything else.
        raise ProfileError("msgpack ext types (timestamp included) are not allowed")


def _kind(value: Any) -> str:
    return "bin" if isinstance(value, bytes) else type(value).__name__


class _TooManyObjects(Exception):
    """Raised from the unpacker's hooks to stop decoding at the object limit."""


def _object_counter(limit: int) -> tuple[Any, Any]:
    """`object_pairs_hook`/`list_hook` that count containers plus their elements (RT-SEC-012).

    The C unpacker calls a hook once per container as it completes, so the count runs
    inside the decode and raising stops it: the work and memory are bounded by `limit`.
    The map hook also refuses a key given twice (RT-CONV-013), which a plain dict would hide.
    """
    left = [limit]

    def count_list(container: list[Any]) -> list[Any]:
        left[0] -= 1 + len(container)
        if left[0] < 0:
            raise _TooManyObjects
        return container

    def count_map(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
        left[0] -= 1 + len(pairs)
        if left[0] < 0:
            raise _TooManyObjects
        return _refuse_duplicate_keys(pairs)

    return count_map, count_list


def decode_input(data: bytes, max_objects: int = MAX_OBJECTS) -> dict[str, Any]:
    """Decode one input message and check it against the profile.

    Args:
        data: the payload of one binary WebSocket message.
        max_objects: most containers plus elements the decoded value may hold (RT-SEC-012).

    Returns:
        The decoded top-level map.

    Raises:
        ProfileError: the payload is not exactly one msgpack map within the profile.
    """
    if 2 * len(data) <= max_objects:
        # Nothing to count: each object takes a byte and is counted at most twice (as an
        # element and as a container), so n bytes hold at most 2n (the common, small input).
        pairs_hook, list_hook = _refuse_duplicate_keys, None
    else:
        pairs_hook, list_hook = _object_counter(max_objects)
    try:
        value = msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=False,
            ext_hook=_refuse_ext,
            object_pairs_hook=pairs_hook,
            list_hook=list_hook,
        )
    except ProfileError:
        raise
    except _TooManyObjects:
        raise ProfileError(
            f"the input decodes to more than {max_objects} msgpack objects; "
            "send large numeric data as bin"
        ) from None
    except msgpack.ExtraData:  # RT-CONV-010, RT-MSG-010
        raise ProfileError(
            "trailing bytes after the msgpack object; send one map per message"
        ) from None
    except UnicodeDecodeError:
        raise ProfileError(
            "a msgpack str is not valid UTF-8; send text as UTF-8 or bytes as bin"
        ) from None
    except (ValueError, TypeError, msgpack.UnpackException):
        # FormatError, StackError (deeper than the C unpacker's stack), truncated data.
        raise ProfileError("not a valid msgpack message") from None
    if type(value) is not dict:  # RT-MSG-010: the top level is a map
        raise ProfileError("an input must be a msgpack map, got " + _kind(value))
    _check(value, 1)
    return value


class Encoder:
    """Packs outputs; one reusable Packer per connection avoids a per-message allocation."""

    __slots__ = ("_pack",)

    def __init__(self) -> None:
        self._pack = msgpack.Packer(use_bin_type=True, autoreset=True).pack

    def encode(self, value: Any) -> bytes:
        """Pack one output map.

        Raises:
            TypeError, ValueError, OverflowError: the value cannot be packed (a handler bug,
                reported to the client as INTERNAL_ERROR).
        """
        data: bytes = self._pack(value)
        return data


def encode(value: Any) -> bytes:
    """Pack one message with the profile's options (clients and tests)."""
    data: bytes = msgpack.packb(value, use_bin_type=True)
    return data


def decode_output(data: bytes) -> dict[str, Any]:
    """Decode an output message on the client side.

    Lenient where the profile lets a client be (no depth or size limit of its own, a repeated
    key keeps its last value: RT-CONV-014), strict where delivering would hand the caller
    something no conforming server sends.

    Raises:
        ProfileError: the payload is not exactly one msgpack value (RT-CONV-010), or it decodes
            to a value outside the profile: an ext value (timestamp included), a map key that
            is not a str, or a top level that is not a map (RT-CONV-016). The client reports
            it as `DECODE_ERROR` of that output and reads on (RT-CTRL-026).
    """
    try:
        value = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except msgpack.ExtraData:
        raise ProfileError("trailing bytes after the msgpack value of an output") from None
    except UnicodeDecodeError:
        raise ProfileError("a msgpack str in an output is not valid UTF-8") from None
    except (ValueError, TypeError, msgpack.UnpackException):
        raise ProfileError("an output is not a complete msgpack value") from None
    if type(value) is not dict:
        raise ProfileError("an output must be a msgpack map, got " + _kind(value))
    _check_output(value)
    return value


def _check_output(value: dict[str, Any]) -> None:
    """Walk an output without recursion: str keys, profile types only (RT-CONV-016)."""
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            for key in item:
                if type(key) is not str:
                    raise ProfileError("an output map key is not a str, got " + _kind(key))
            stack.extend(v for v in item.values() if type(v) not in _SCALARS)
        elif type(item) is list:
            stack.extend(v for v in item if type(v) not in _SCALARS)
        else:  # msgpack.ExtType, msgpack.Timestamp
            raise ProfileError("an output holds a msgpack ext value (timestamp included)")
