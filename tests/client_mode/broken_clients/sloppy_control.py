"""Broken client: raises on x-fal-message frames and delivers unknown text frames as outputs
(the latter as fal_client 1.0.3 does).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient


class SloppyControl(MinimalClient):
    def on_text(self, text: str) -> dict[str, Any] | None:
        if '"x-fal-message"' in text:
            raise RuntimeError(f"unexpected control frame: {text}")
        event = super().on_text(text)
        if event is not None or '"x-fal-error"' in text:
            return event
        try:
            return {"event": "output", "data": json.loads(text)}
        except ValueError:
            return {"event": "output", "data": {"type": "text", "payload": text}}


if __name__ == "__main__":
    sys.exit(SloppyControl().main())
