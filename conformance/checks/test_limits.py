"""WebSocket limits a client can hit (spec chapter 12-security, 12.2 and 12.4).

Each check pushes one bound well past its default in the spec's table and expects the
answer the table gives; a server with a higher bound than the default still meets it as long
as the check's figure is above that bound (the figures are 2x to 50x the defaults).
"""

from __future__ import annotations

import contextlib
import struct

import pytest

from conformance.failures import ConformanceFailure, requirement
from conformance.frames import BINARY, CLOSE, PING, client_frame
from conformance.limits import open_socket, read_answer, upgrade_head
from conformance.plugin import NA_PREFIX
from conformance.wire import Target

CONTINUATION = 0
#: Empty continuation frames in one message: about 2.5x the default bound of RT-SEC-011.
FRAGMENTS = 10_000
#: Empty maps in one input: about 2x the default bound of RT-SEC-012 (1.1 MB on the wire).
EMPTY_MAPS = 2_100_000
_PROMPT_MAP = bytes.fromhex("82 a6 70726f6d7074 a1 78 a3 706164")  # {"prompt": "x", "pad": ...


@pytest.mark.req("RT-SEC-010")
def test_server_counts_message_size_after_inflation(target: Target) -> None:
    """A deflated message that inflates past the size limit is closed with 1009."""
    with target.connect(compression="deflate") as conn:
        if not conn.ws.protocol.extensions:
            pytest.skip(NA_PREFIX + "the target did not negotiate permessage-deflate")
        # Zeros deflate about 1000:1: a few tens of KB on the wire.
        conn.send_bytes(b"\0" * (2 * target.config.max_message_size))
        got = conn.recv(timeout=10)
        with requirement("RT-SEC-010"):
            assert got.kind == "close", (
                f"an inflated oversize message was answered: {got.summary()}"
            )
            assert got.code == 1009, f"an inflated oversize message got {got.summary()}"


@pytest.mark.req("RT-SEC-011")
def test_server_bounds_fragments_per_message(target: Target) -> None:
    """A message of 10,000 empty fragments is closed with 1009, not served."""
    raw = target.handshake("/realtime")
    try:
        assert raw.status == 101, f"the upgrade answered {raw.status}"
        head = client_frame(BINARY, bytes.fromhex("81 a6 70726f6d7074 a1 66"), fin=False)
        stream = head + client_frame(CONTINUATION, b"", fin=False) * FRAGMENTS
        with contextlib.suppress(OSError):  # the server may close before reading it all
            raw.send_raw(stream + client_frame(CONTINUATION, b""), f"{FRAGMENTS} empty fragments")
        with requirement("RT-SEC-011"):
            frame = raw.recv_frame(timeout=10)
            while frame is not None and frame.opcode not in (CLOSE, BINARY):
                frame = raw.recv_frame(timeout=10)
            assert frame is not None, "the server dropped TCP without a close frame"
            assert frame.opcode == CLOSE, f"a message of {FRAGMENTS} fragments was served"
            assert frame.close_code == 1009, f"closed with {frame.close_code}"
    finally:
        raw.close()


@pytest.mark.req("RT-SEC-012", "RT-TRANS-043")
def test_server_rejects_input_of_too_many_objects(target: Target) -> None:
    """An input of 2.1 million empty maps is not served (it is rejected as an input).

    Only serving it breaks RT-SEC-012: how the rejection is framed, and whether the session
    goes on, are the business of the error-frame checks (RT-CTRL-*).
    """
    bomb = _PROMPT_MAP + b"\xdd" + struct.pack("!I", EMPTY_MAPS) + b"\x80" * EMPTY_MAPS
    with target.connect() as conn:
        conn.send_bytes(bomb)
        try:
            got = conn.recv(timeout=20)
        except ConformanceFailure:
            return  # no answer at all: RT-STREAM-003's finding, not this one's
        if got.kind == "close" and got.code == 1009:  # a 2 MB message refused: a size limit
            with requirement("RT-TRANS-043"):
                raise ConformanceFailure(f"a {len(bomb)}-byte input got {got.summary()}")
        with requirement("RT-SEC-012"):
            assert got.kind != "binary", (
                f"an input of {EMPTY_MAPS} empty maps was served: {got.summary()}"
            )


@pytest.mark.req("RT-SEC-042")
@pytest.mark.parametrize("path", ["/realtime", "/echo"])
def test_server_sends_no_frame_before_the_101(target: Target, path: str) -> None:
    """A ping in the same write as the upgrade request is answered after the 101, not before."""
    conn_id = target.recorder.new_conn(f"raw upgrade {path} + ping in one write")
    sock = open_socket(target)
    try:
        data = upgrade_head(target, path) + client_frame(PING, b"early")
        target.recorder.record(conn_id, "C->S", "HTTP", data[:200], note="upgrade + PING")
        sock.sendall(data)
        answer = read_answer(sock, target.scale(5.0))
    finally:
        sock.close()
    target.recorder.record(conn_id, "S->C", "HTTP", answer.head[:200], note=answer.summary())
    with requirement("RT-SEC-042"):
        if answer.status is None:
            raise ConformanceFailure(
                f"the response to an upgrade followed by a ping is not HTTP: {answer.head[:40]!r}"
                if answer.head
                else "no HTTP response head (a frame may have come before the 101)"
            )
        assert answer.status == 101, f"the upgrade answered {answer.summary()}"
