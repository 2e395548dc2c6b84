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

from jsonschema import Draft202012Validator

from conformance.msgpack_scan import ProfileError, decode_profile, float32_offsets
from conformance.requirements import data_path

__all__ = ["ProfileError", "check", "decode_profile", "float32_paths", "schema", "sources"]

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


def float32_paths(data: bytes) -> list[int]:
    """Offsets of float32 values (0xca) in a msgpack object, for RT-CONV-004."""
    return float32_offsets(data)
