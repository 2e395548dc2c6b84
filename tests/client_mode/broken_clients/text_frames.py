"""Broken client: sends each input as a JSON text message (the legacy Swift client did)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient


class TextFrames(MinimalClient):
    def encode(self, value: Any) -> bytes | str:
        return json.dumps(value, default=lambda b: b.hex())


if __name__ == "__main__":
    sys.exit(TextFrames().main())
