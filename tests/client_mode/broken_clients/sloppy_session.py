"""Broken client: treats close 1001 as an error, ignores the legacy error shape, and reports a
refused handshake as a clean end.
"""

from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient
from _wsclient import WebSocket


class SloppySession(MinimalClient):
    def closed_event(self, ws: WebSocket) -> dict[str, Any]:
        event = super().closed_event(ws)
        return {**event, "clean": event["code"] == 1000}

    def on_text(self, text: str) -> dict[str, Any] | None:
        if '"status"' in text:
            return None
        return super().on_text(text)

    def emit(self, event: dict[str, Any]) -> None:
        if event.get("event") == "exception" and event.get("type") == "HandshakeRefused":
            event = {"event": "closed", "code": None, "clean": True}
        super().emit(event)


if __name__ == "__main__":
    sys.exit(SloppySession().main())
