"""Broken client: tells its caller that the session ended, but never with which close code.

It reports whether the end was clean, and a failed end as CONNECTION_CLOSED with a fixed
message, so a restart (1012) or overload (1013) looks the same as a failure (1011) or a lost
connection (1006) (RT-LIFE-036, a SHOULD).
"""

from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient
from _wsclient import WebSocket


class HidesCloseCode(MinimalClient):
    def closed_event(self, ws: WebSocket) -> dict[str, Any]:
        event = super().closed_event(ws)
        if not event["clean"]:
            self.emit({"event": "error", "code": "CONNECTION_CLOSED", "reason": "connection lost"})
        return {**event, "code": None}


if __name__ == "__main__":
    sys.exit(HidesCloseCode().main())
