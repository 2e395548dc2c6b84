"""Paths, query parameters, compression, fragments and message sizes (spec chapter 02)."""

from __future__ import annotations

import pytest

from conformance.failures import requirement
from conformance.frames import BINARY, CLOSE, frame_header, mask_payload
from conformance.frames import client_frame as frame
from conformance.wire import Target

CONT = 0


def _prompt_message(total: int) -> bytes:
    """An input {"prompt": "aaa…"} whose msgpack encoding is exactly `total` bytes long."""
    n = total - 13  # fixmap(1) + fixstr "prompt" (7) + str32 header (5)
    return bytes.fromhex("81 a6 70726f6d7074 db") + n.to_bytes(4, "big") + b"a" * n


@pytest.mark.req("RT-CONF-001", "RT-CONF-014")
def test_server_hosts_the_core_endpoints(target: Target) -> None:
    """The conformance app's /realtime, POST /, GET /health and /echo all answer."""
    with requirement("RT-CONF-014"):
        health = target.http("GET", "/health")
        assert health.status == 200, f"GET /health answered {health.status}"
    with requirement("RT-CONF-001"):
        assert target.http("POST", "/", {"prompt": "core"}).status == 200
        for path in ("/realtime", "/echo"):
            raw = target.handshake(path)
            raw.close()
            assert raw.status == 101, f"the handshake to {path} got HTTP {raw.status}"


@pytest.mark.req("RT-TRANS-003")
@pytest.mark.parametrize("path", ["/no-such-endpoint", "/realtime/no/such/path"])
def test_server_refuses_unknown_path_before_upgrade(target: Target, path: str) -> None:
    """A handshake to a path that is no WebSocket endpoint is refused with a non-101 status."""
    raw = target.handshake(path)
    raw.close()
    assert raw.status != 101, f"the server upgraded a connection to the unknown path {path}"


@pytest.mark.req("RT-TRANS-004")
def test_server_refuses_unknown_path_with_404(target: Target) -> None:
    """An unknown WebSocket path gets 404."""
    raw = target.handshake("/no-such-endpoint")
    raw.close()
    assert raw.status == 404, f"the unknown path got HTTP {raw.status}"


@pytest.mark.req("RT-TRANS-002", "RT-CONF-020")
@pytest.mark.feature("gateway-paths")
def test_server_routes_gateway_form(target: Target) -> None:
    """/{owner}/{alias}/realtime reaches the same endpoint as /realtime."""
    with (
        requirement("RT-CONF-020", "RT-TRANS-002"),
        target.connect("/realtime", gateway=True) as conn,
    ):
        conn.send_msgpack({"prompt": "via gateway"})
        assert conn.recv_output() == {"output": "via gateway"}


@pytest.mark.req("RT-TRANS-020", "RT-TRANS-021")
@pytest.mark.parametrize(
    "query",
    [{"rt_unknown_param": "1", "other": "x y"}, {"max_buffering": "1"}, {"max_buffering": "60"}],
    ids=["unknown", "max_buffering=1", "max_buffering=60"],
)
def test_server_accepts_query_parameters(target: Target, query: dict[str, str]) -> None:
    """Unknown query parameters are ignored; max_buffering 1..60 is accepted."""
    req = "RT-TRANS-021" if "max_buffering" in query else "RT-TRANS-020"
    with requirement(req), target.connect(query=query) as conn:
        conn.send_msgpack({"prompt": "q"})
        assert conn.recv_output() == {"output": "q"}


@pytest.mark.req("RT-TRANS-030")
def test_server_serves_with_and_without_compression(target: Target) -> None:
    """A client that offers no permessage-deflate is served exactly like one that does."""
    outputs = []
    for compression in (None, "deflate"):
        with target.connect(compression=compression) as conn:
            conn.send_msgpack({"prompt": "z" * 200})
            outputs.append(conn.recv_output())
    assert outputs[0] == outputs[1] == {"output": "z" * 200}


@pytest.mark.req("RT-TRANS-040")
def test_server_reassembles_fragmented_input(target: Target) -> None:
    """One input sent as three fragments is treated as one message."""
    raw = target.handshake("/realtime")
    try:
        assert raw.status == 101, f"handshake got HTTP {raw.status}"
        message = bytes.fromhex("81 a6 70726f6d7074 a4 66726167")  # {"prompt": "frag"}
        raw.send_raw(frame(BINARY, message[:3], fin=False), "BINARY fragment 1 (fin=0)")
        raw.send_raw(frame(CONT, message[3:9], fin=False), "CONT fragment 2 (fin=0)")
        raw.send_raw(frame(CONT, message[9:], fin=True), "CONT fragment 3 (fin=1)")
        got = raw.recv_frame()
        with requirement("RT-TRANS-040"):
            assert got is not None, "the server ended the connection instead of answering"
        with requirement("RT-MSG-020", "RT-CTRL-004"):  # an output as TEXT breaks these, not 040
            assert got.opcode == BINARY, f"expected a BINARY output, got {got.name}"
        with requirement("RT-TRANS-040"):
            assert got.payload == bytes.fromhex("81 a6 6f7574707574 a4 66726167"), got.payload.hex()
        raw.send_raw(frame(CLOSE, (1000).to_bytes(2, "big")), "CLOSE 1000")
    finally:
        raw.close()


@pytest.mark.req("RT-TRANS-042")
def test_server_accepts_1_mib_input(target: Target) -> None:
    """A 1 MiB input message is accepted and answered."""
    with target.connect() as conn:
        conn.send_bytes(_prompt_message(1024 * 1024))
        out = conn.recv_output(timeout=10)
        assert len(out["output"]) == 1024 * 1024 - 13


@pytest.mark.req("RT-TRANS-043")
def test_server_accepts_16_mib_input(target: Target) -> None:
    """A 16 MiB input message is accepted and answered."""
    with target.connect() as conn:
        conn.send_bytes(_prompt_message(16 * 1024 * 1024))
        frame_ = conn.recv_data(timeout=20)
        with requirement("RT-TRANS-043"):
            assert frame_.kind == "binary", f"a 16 MiB input got {frame_.summary()}"
            assert len(frame_.value["output"]) == 16 * 1024 * 1024 - 13


@pytest.mark.req("RT-TRANS-044")
def test_server_closes_1009_on_oversize_message(target: Target) -> None:
    """A frame header announcing more than the inbound limit gets close 1009."""
    limit = target.config.max_message_size
    raw = target.handshake("/realtime")
    try:
        assert raw.status == 101, f"handshake got HTTP {raw.status}"
        key = b"\x11\x22\x33\x44"
        length = limit + 1
        head = frame_header(BINARY, length, mask_key=key)
        chunk = mask_payload(b"\x00" * 65536, key)  # the mask repeats every 4 bytes
        raw.send_raw(head + chunk, f"BINARY header announcing {length} bytes + first 64 KiB")
        closing = raw.recv_close_frame(timeout=10)
        assert closing is not None, "the server dropped the connection without a close frame"
        assert closing.close_code == 1009, f"the server closed with {closing.close_code}"
    finally:
        raw.close()
