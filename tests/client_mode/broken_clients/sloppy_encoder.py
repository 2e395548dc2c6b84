"""Broken client: encodes floats as float32 and adds a request_id member to every input."""

from __future__ import annotations

import os
import sys
from typing import Any

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient


class SloppyEncoder(MinimalClient):
    def encode(self, value: Any) -> bytes | str:
        value = {**value, "request_id": "r-1"}
        return bytes(msgpack.packb(value, use_bin_type=True, use_single_float=True))


if __name__ == "__main__":
    sys.exit(SloppyEncoder().main())
