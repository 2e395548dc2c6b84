"""One misbehaving session does not hurt the others (spec chapter 12-security)."""

from __future__ import annotations

import contextlib

import pytest

from conformance.failures import ConformanceFailure, requirement
from conformance.frames import BINARY, frame_header
from conformance.wire import Target

_DEEP = bytes.fromhex("82 a6 70726f6d7074 a1 78 a5 6578747261") + b"\x91" * 1100 + b"\xc0"
_BAD_INPUTS = (bytes.fromhex("c1"), bytes.fromhex("80"), bytes.fromhex("91 a1 78"), _DEEP)


@pytest.mark.req("RT-SEC-001")
def test_server_keeps_other_sessions_serving(target: Target) -> None:
    """Malformed, refused, deep and oversized input on one session leaves another working."""
    with requirement("RT-SEC-001"), target.connect() as healthy:
        healthy.send_msgpack({"prompt": "before"})
        assert healthy.recv_output() == {"output": "before"}
        for bad in _BAD_INPUTS:
            # How the noisy session itself is answered is other checks' business.
            with target.connect() as noisy, contextlib.suppress(ConformanceFailure):
                noisy.send_bytes(bad)
                noisy.recv_data()
        raw = target.handshake("/realtime")
        try:
            limit = target.config.max_message_size
            raw.send_raw(frame_header(BINARY, limit + 1, mask_key=b"\0" * 4), "oversize header")
            with contextlib.suppress(ConformanceFailure):
                raw.recv_close_frame(timeout=2)
        finally:
            raw.close()
        if "handler-error" in target.features:
            with target.connect() as failing, contextlib.suppress(ConformanceFailure):
                failing.send_msgpack({"prompt": "x", "fail": True})
                failing.recv_data()
        healthy.send_msgpack({"prompt": "after"})
        assert healthy.recv_output() == {"output": "after"}
    with requirement("RT-SEC-001"), target.connect() as fresh:
        fresh.send_msgpack({"prompt": "fresh"})
        assert fresh.recv_output() == {"output": "fresh"}
