"""Broken client: reports the TIMEOUT end of a session as an error, and every close as clean."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient
from _wsclient import WebSocket


class SloppyEnding(MinimalClient):
    def on_text(self, text: str) -> dict[str, Any] | None:
        if '"x-fal-error"' in text and '"TIMEOUT"' in text:
            frame = json.loads(text)
            return {"event": "error", "code": "TIMEOUT", "reason": frame.get("reason", "")}
        return super().on_text(text)

    def closed_event(self, ws: WebSocket) -> dict[str, Any]:
        return {**super().closed_event(ws), "clean": True}


if __name__ == "__main__":
    sys.exit(SloppyEnding().main())
