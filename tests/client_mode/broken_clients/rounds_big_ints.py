"""Broken client: decodes integers to IEEE doubles, as JavaScript numbers do.

Every integer outside [-2^53+1, 2^53-1] reaches the caller rounded to the nearest double
(2^53+1 becomes 2^53), the way `@fal-ai/client` delivers them. The value is accepted
(RT-CONV-005 holds) but not exact (RT-CONV-015, a SHOULD).
"""

from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient

SAFE = 2**53 - 1


class RoundsBigInts(MinimalClient):
    def on_binary(self, data: bytes) -> dict[str, Any] | None:
        event = super().on_binary(data)
        if event is not None and event["event"] == "output":
            event["data"] = _as_double(event["data"])
        return event


def _as_double(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _as_double(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_double(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > SAFE:
        return int(float(value))
    return value


if __name__ == "__main__":
    sys.exit(RoundsBigInts().main())
