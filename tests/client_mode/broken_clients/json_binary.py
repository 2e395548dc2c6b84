"""Broken client: sends JSON instead of msgpack, in binary messages."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient


class JsonBinary(MinimalClient):
    def encode(self, value: Any) -> bytes | str:
        return json.dumps(value, default=lambda b: b.hex()).encode()


if __name__ == "__main__":
    sys.exit(JsonBinary().main())
