"""One misbehaving session does not hurt the others (spec chapter 12-security)."""

from __future__ import annotations

import pytest

from conformance.failures import requirement
from conformance.frames import BINARY, frame_header
from conformance.wire import Target


@pytest.mark.req("RT-SEC-001")
def test_server_keeps_other_sessions_serving(target: Target) -> None:
    """Malformed, refused and oversized input on one session leaves another session working."""
    with target.connect() as healthy:
        healthy.send_msgpack({"prompt": "before"})
        assert healthy.recv_output() == {"output": "before"}
        for bad in ("c1", "80", "91 a1 78"):
            with target.connect() as noisy:
                noisy.send_bytes(bytes.fromhex(bad))
                noisy.recv_data()
        raw = target.handshake("/realtime")
        try:
            raw.send_raw(
                frame_header(BINARY, target.config.max_message_size + 1, mask_key=b"\0" * 4)
            )
            raw.recv_close_frame(timeout=10)
        finally:
            raw.close()
        if "handler-error" in target.features:
            with target.connect() as failing:
                failing.send_msgpack({"prompt": "x", "fail": True})
                failing.recv_data()
        healthy.send_msgpack({"prompt": "after"})
        with requirement("RT-SEC-001"):
            assert healthy.recv_output() == {"output": "after"}
    with target.connect() as fresh, requirement("RT-SEC-001"):
        fresh.send_msgpack({"prompt": "fresh"})
        assert fresh.recv_output() == {"output": "fresh"}
