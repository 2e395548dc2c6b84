"""Broken client: drops x-fal-error frames silently."""

from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient


class IgnoresErrors(MinimalClient):
    def on_text(self, text: str) -> dict[str, Any] | None:
        if "x-fal-error" in text:
            return None
        return super().on_text(text)


if __name__ == "__main__":
    sys.exit(IgnoresErrors().main())
