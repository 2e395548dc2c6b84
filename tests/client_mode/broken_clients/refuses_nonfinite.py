"""Broken client: refuses outputs holding NaN or an infinity, as a strict JSON-minded decoder does.

It decodes each output and then rejects it as DECODE_ERROR when any float in it is NaN,
+Infinity or -Infinity (JSON has no such numbers, so it takes them for corruption). fal's
runner emits NaN in outputs; the profile allows every float value (RT-CONV-011).
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient


class RefusesNonFinite(MinimalClient):
    def on_binary(self, data: bytes) -> dict[str, Any] | None:
        event = super().on_binary(data)
        if event is not None and event["event"] == "output" and _non_finite(event["data"]):
            return {"event": "error", "code": "DECODE_ERROR", "reason": "non-finite float"}
        return event


def _non_finite(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_non_finite(v) for v in value.values())
    if isinstance(value, list):
        return any(_non_finite(v) for v in value)
    return isinstance(value, float) and not math.isfinite(value)


if __name__ == "__main__":
    sys.exit(RefusesNonFinite().main())
