"""Validation of every frame a target sends (spec chapters 01, 04 and 05).

Frames are checked against the spec's JSON Schemas, read from `data_path("schemas")` (spec/ in
a checkout, the packaged copy in a wheel). When a schema file is missing the built-in copy
below (the same shapes as CONTRACTS.md) is used and the report says so.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import msgpack
from jsonschema import Draft202012Validator

from conformance.requirements import data_path

# Built-in shapes, used only when the spec's schema files are not there.
_BUILTIN: dict[str, dict[str, Any]] = {
    "x-fal-error": {
        "type": "object",
        "required": ["type", "error", "reason"],
        "properties": {
            "type": {"const": "x-fal-error"},
            "error": {"type": "string", "minLength": 1},
            "reason": {"type": "string"},
        },
    },
    "x-fal-message": {
        "type": "object",
        "required": ["type", "action"],
        "properties": {"type": {"const": "x-fal-message"}, "action": {"type": "string"}},
    },
    "conformance-output": {
        "type": "object",
        "required": ["output"],
        "properties": {"output": {"type": "string"}},
    },
    "webrtc-signaling": {
        "type": "object",
        "required": ["type"],
        "properties": {
            "type": {"enum": ["ready", "iceservers", "answer", "icecandidate", "error"]}
        },
    },
}
# File name stems the spec may use for each shape, most specific first.
_CANDIDATES = {
    "x-fal-error": ("x-fal-error", "error-frame", "error"),
    "x-fal-message": ("x-fal-message", "message-frame", "message"),
    "conformance-output": ("conformance-app/output", "conformance-app-output", "output"),
    "webrtc-signaling": ("webrtc-signaling",),
}
# Schemas whose file covers both directions: the suite validates what the server sends.
_SERVER_VIEW = {"webrtc-signaling": "#/$defs/server-to-client"}


def _schema_dir() -> Path:
    return data_path("schemas")


@functools.cache
def schema(name: str) -> tuple[dict[str, Any], str]:
    """The schema for `name` and where it came from (a file name or "builtin")."""
    base = _schema_dir()
    for stem in _CANDIDATES[name]:
        for suffix in (".schema.json", ".json"):
            candidate = base / f"{stem}{suffix}"
            if candidate.is_file():
                doc = json.loads(candidate.read_text("utf-8"))
                if name in _SERVER_VIEW and isinstance(doc, dict):
                    doc = {k: v for k, v in doc.items() if k not in ("anyOf", "oneOf")}
                    doc["$ref"] = _SERVER_VIEW[name]
                return doc, candidate.name
    return _BUILTIN[name], "builtin"


def sources() -> dict[str, str]:
    """Which schema file each frame shape was validated against."""
    return {name: schema(name)[1] for name in _CANDIDATES}


def check(name: str, value: Any) -> str | None:
    """Validate `value` against the `name` schema; return the first problem or None."""
    doc, _ = schema(name)
    errors = sorted(Draft202012Validator(doc).iter_errors(value), key=lambda e: list(e.path))
    if not errors:
        return None
    err = errors[0]
    where = "/".join(str(p) for p in err.path) or "(top level)"
    return f"{where}: {err.message}"


class ProfileError(ValueError):
    """Bytes that are not one msgpack object of the spec's profile; `req` names the rule."""

    def __init__(self, message: str, req: str = "RT-CONV-001") -> None:
        super().__init__(message)
        self.req = req


def decode_profile(data: bytes) -> Any:
    """Decode one msgpack object, enforcing the profile (RFC-style, chapter 01-conventions).

    Rejects: invalid msgpack, trailing bytes, invalid UTF-8 in str, ext types (timestamp
    included), map keys that are not str.
    """
    try:
        value = msgpack.unpackb(data, raw=False, strict_map_key=False, timestamp=0, use_list=True)
    except msgpack.ExtraData as exc:
        raise ProfileError(f"trailing bytes after one msgpack object ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise ProfileError(f"a str holds invalid UTF-8 ({exc})", "RT-CONV-003") from exc
    except (ValueError, msgpack.UnpackException) as exc:
        raise ProfileError(f"not valid msgpack: {type(exc).__name__}: {exc}") from exc
    _walk(value, "")
    return value


def float32_paths(data: bytes) -> list[int]:
    """Offsets of float32 values (0xca) in a msgpack object, for RT-CONV-004."""
    found: list[int] = []
    _skip(data, 0, found)
    return found


def _skip(data: bytes, pos: int, found: list[int]) -> int:
    """Walk one msgpack object starting at `pos`; return the offset after it."""
    b = data[pos]
    if b <= 0x7F or b >= 0xE0 or b in (0xC0, 0xC2, 0xC3):
        return pos + 1
    if 0x80 <= b <= 0x8F:
        return _skip_items(data, pos + 1, 2 * (b & 0x0F), found)
    if 0x90 <= b <= 0x9F:
        return _skip_items(data, pos + 1, b & 0x0F, found)
    if 0xA0 <= b <= 0xBF:
        return pos + 1 + (b & 0x1F)
    if b == 0xCA:
        found.append(pos)
        return pos + 5
    fixed = {0xCB: 8, 0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8, 0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8}
    if b in fixed:
        return pos + 1 + fixed[b]
    sized = {0xC4: 1, 0xC5: 2, 0xC6: 4, 0xD9: 1, 0xDA: 2, 0xDB: 4}
    if b in sized:
        n = sized[b]
        return pos + 1 + n + int.from_bytes(data[pos + 1 : pos + 1 + n], "big")
    containers = {0xDC: (2, 1), 0xDD: (4, 1), 0xDE: (2, 2), 0xDF: (4, 2)}
    if b in containers:
        n, per = containers[b]
        count = int.from_bytes(data[pos + 1 : pos + 1 + n], "big")
        return _skip_items(data, pos + 1 + n, per * count, found)
    raise ProfileError(f"byte 0x{b:02x} at offset {pos} is outside the msgpack profile")


def _skip_items(data: bytes, pos: int, count: int, found: list[int]) -> int:
    for _ in range(count):
        pos = _skip(data, pos, found)
    return pos


def _walk(value: Any, path: str) -> None:
    if isinstance(value, msgpack.ExtType | msgpack.Timestamp):
        raise ProfileError(f"ext type at {path or '(top level)'}: outside the msgpack profile")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ProfileError(
                    f"map key {key!r} at {path or '(top level)'} is not a str", "RT-CONV-002"
                )
            _walk(item, f"{path}/{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, f"{path}/{i}")
