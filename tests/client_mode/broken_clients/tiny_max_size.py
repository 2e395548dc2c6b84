"""Broken client: refuses messages over 512 KiB."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient


class TinyMaxSize(MinimalClient):
    max_size = 512 * 1024


if __name__ == "__main__":
    sys.exit(TinyMaxSize().main())
