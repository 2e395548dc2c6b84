"""Optional x-fal-message frames (spec chapter 05-control-frames)."""

from __future__ import annotations

import pytest

from conformance.plugin import NA_PREFIX
from conformance.wire import Target


@pytest.mark.req("RT-CTRL-033")
def test_server_timings_messages_carry_seconds(target: Target) -> None:
    """Any `timings` message holds a non-negative number of seconds (validated per frame)."""
    seen = 0
    with target.connect() as conn:
        for i in range(5):
            conn.send_msgpack({"prompt": f"t{i}"})
        outputs = 0
        while outputs < 5:
            frame = conn.recv()
            if frame.is_message_frame:
                seen += 1
            elif frame.kind == "binary":
                outputs += 1
            else:
                raise AssertionError(f"unexpected {frame.summary()}")
    if not seen:
        pytest.skip(NA_PREFIX + "the target sent no x-fal-message frames to validate")
