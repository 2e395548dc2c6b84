"""Broken client: drops every output map with a `type` or `status` member, as 1.0 allowed.

RT-MSG-023 (1.0) let a client take any binary map with a `type` or `status` member for control;
1.1 narrowed that to `type` "x-fal-error"/"x-fal-message" and `status` "error" (RT-MSG-025),
because WebRTC answers (`{"type": "answer"}`) and apps' discriminated unions are outputs. This
client drops them all, so it also misses the robust rule to deliver every output (RT-MSG-024).
"""

from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient


class DropsTypedOutputs(MinimalClient):
    def on_binary(self, data: bytes) -> dict[str, Any] | None:
        event = super().on_binary(data)
        value = event["data"] if event is not None and event["event"] == "output" else None
        if isinstance(value, dict) and {"type", "status"} & set(value):
            return None  # the 1.0 exemption: taken for a control frame
        return event


if __name__ == "__main__":
    sys.exit(DropsTypedOutputs().main())
