"""Broken client: skips percent-encoding, reads a stream decoder's prefix of a message, takes
binary outputs shaped like control frames for errors, and refuses integers of 2^63 and more.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient, to_json


class SloppyWire(MinimalClient):
    def url(self, token: str | None) -> str:
        url = f"{self.base}/{self.app_path()}{self.endpoint_path()}"
        return url + (f"?fal_jwt_token={token}" if token is not None else "")

    def on_binary(self, data: bytes) -> dict[str, Any] | None:
        unpacker = msgpack.Unpacker(raw=False)
        unpacker.feed(data)
        try:
            value = next(unpacker)  # the first value; trailing bytes go unnoticed
        except Exception as exc:
            return {"event": "error", "code": "MALFORMED_OUTPUT", "reason": str(exc)}
        if isinstance(value, dict) and value.get("type") == "x-fal-error":
            return {"event": "error", "code": str(value.get("error")), "reason": ""}
        if _too_big(value):
            raise OverflowError("integer out of int64 range")
        return {"event": "output", "data": to_json(value)}


def _too_big(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_too_big(v) for v in value.values())
    if isinstance(value, list):
        return any(_too_big(v) for v in value)
    return isinstance(value, int) and value >= 2**63


if __name__ == "__main__":
    sys.exit(SloppyWire().main())
