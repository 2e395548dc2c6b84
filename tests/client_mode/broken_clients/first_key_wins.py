"""Broken client: keeps the first value of a key that a received map holds twice.

Its decoder builds maps with `setdefault`, as decoders in some languages do, so for
`{"output": "first", "output": "last"}` it delivers `"first"`. A receiver that accepts a
repeated key must use the last value, as fal's runner and both fal clients do (RT-CONV-014).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient, outside_profile, to_json


def _first_wins(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


class FirstKeyWins(MinimalClient):
    def on_binary(self, data: bytes) -> dict[str, Any] | None:
        try:
            value = msgpack.unpackb(
                data, raw=False, strict_map_key=False, object_pairs_hook=_first_wins
            )
        except Exception as exc:
            return {"event": "error", "code": "DECODE_ERROR", "reason": str(exc)}
        problem = outside_profile(value)
        if problem:
            return {"event": "error", "code": "DECODE_ERROR", "reason": problem}
        return {"event": "output", "data": to_json(value)}


if __name__ == "__main__":
    sys.exit(FirstKeyWins().main())
