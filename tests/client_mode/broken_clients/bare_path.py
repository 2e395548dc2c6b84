"""Broken client: connects to the endpoint path without the app id."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient


class BarePath(MinimalClient):
    def url(self, token: str | None) -> str:
        gateway = super().url(token)
        prefix = f"{self.base}/{self.app_path()}"
        return self.base + gateway[len(prefix) :]


if __name__ == "__main__":
    sys.exit(BarePath().main())
