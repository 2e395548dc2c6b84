"""The server unmasks with websockets' C speedups; it must agree with the core's pure one.

Large messages were 5x slower than the TCP floor with the pure big-int XOR (6.6 ms per MiB);
the server installs the C function (`use_unmask`), so both must give the same bytes.
"""

from __future__ import annotations

import os

import pytest
from websockets.speedups import apply_mask as c_apply_mask

import reference.server.serve  # noqa: F401 - installs the C unmasking
from reference.core import wsframes


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 7, 8, 125, 126, 65535, 65536, 1 << 20])
def test_c_and_pure_unmask_agree(size: int) -> None:
    data, mask = os.urandom(size), os.urandom(4)
    assert c_apply_mask(data, mask) == wsframes.apply_mask(data, mask)


def test_server_parses_with_the_c_unmask() -> None:
    mask = os.urandom(4)
    payload = os.urandom(70_000)
    frame = bytes((0x82, 0xFF)) + len(payload).to_bytes(8, "big") + mask
    frame += wsframes.apply_mask(payload, mask)
    parser = wsframes.FrameParser()
    pieces = [frame[i : i + 4096] for i in range(0, len(frame), 4096)]
    frames = [f for piece in pieces for f in parser.feed(piece)[0]]
    assert frames == [(0x2, True, payload)]
    assert wsframes._unmask is c_apply_mask
