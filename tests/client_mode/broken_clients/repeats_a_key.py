"""Broken client: its hand-written map encoder writes the first member of every map twice.

An off-by-one in its pair loop: the map header counts one member more than the map holds and
the first key/value pair is written again at the end. Decoders that keep the last value (fal's
runner, Python `msgpack`) read back the same map, so only the sender's rule notices: a map the
client sends holds the same key twice (RT-CONV-012).
"""

from __future__ import annotations

import os
import struct
import sys
from typing import Any

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient


class RepeatsAKey(MinimalClient):
    def encode(self, value: Any) -> bytes | str:
        return _pack(value)


def _pack(value: Any) -> bytes:
    if isinstance(value, dict) and value:
        items = list(value.items())
        items.append(items[0])  # the off-by-one: the first member again
        head = (
            bytes([0x80 | len(items)])
            if len(items) < 16
            else b"\xde" + struct.pack(">H", len(items))
        )
        return head + b"".join(_pack(k) + _pack(v) for k, v in items)
    if isinstance(value, list):
        head = (
            bytes([0x90 | len(value)])
            if len(value) < 16
            else b"\xdc" + struct.pack(">H", len(value))
        )
        return head + b"".join(_pack(v) for v in value)
    return bytes(msgpack.packb(value, use_bin_type=True))


if __name__ == "__main__":
    sys.exit(RepeatsAKey().main())
