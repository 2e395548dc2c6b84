"""Raw WebSocket endpoints: the conformance app's /echo (spec chapters 09-raw-websocket and 13)."""

from __future__ import annotations

import pytest

from conformance.failures import requirement
from conformance.wire import Conn, Received, Target


@pytest.mark.req("RT-CONF-015", "RT-RAW-002", "RT-RAW-003")
def test_server_echoes_text_three_times_then_closes_1000(target: Target) -> None:
    """A text message m on /echo gets text m-0, m-1, m-2, then close 1000."""
    with target.connect("/echo", validate=False) as conn:
        conn.send_text("abc")
        for i in range(3):
            with requirement("RT-CONF-015"):
                frame = conn.recv()
            with requirement("RT-RAW-002"):  # the app sends text: it must arrive as text
                assert frame.kind in ("text", "close"), f"text came back as {frame.summary()}"
            with requirement("RT-CONF-015"):
                assert frame.data == f"abc-{i}".encode(), f"echo {i}: {frame.summary()}"
        # Silence or more data after m-2: the app did not do what /echo must do; from outside
        # nothing shows that the app closed, so RT-RAW-003 is not blamed for it.
        with requirement("RT-CONF-015"):
            end = conn.recv()
            assert end.kind == "close", f"/echo sent {end.summary()} after m-2 instead of closing"
        with requirement("RT-RAW-003", "RT-CONF-015"):
            assert end.code == 1000, f"/echo ended with {end.summary()}"


@pytest.mark.req("RT-CONF-016", "RT-RAW-002")
def test_server_echoes_binary_and_stays_open(target: Target) -> None:
    """A binary message on /echo comes back unchanged as binary, and the connection stays open."""
    payloads = [bytes.fromhex("00 ff 10 c1 7b 22"), b"\x81\xa6prompt\xa1x"]
    with target.connect("/echo", validate=False) as conn:
        for payload in payloads:
            conn.send_bytes(payload)
            with requirement("RT-CONF-016"):
                frame = conn.recv()
            with requirement("RT-RAW-002"):
                assert frame.kind in ("binary", "close"), f"binary came back as {frame.summary()}"
            with requirement("RT-CONF-016"):
                assert frame.kind == "binary", f"expected the binary echo, got {frame.summary()}"
                assert frame.data == payload, f"echo changed the bytes: {frame.data.hex(' ')}"


@pytest.mark.req("RT-RAW-001")
def test_server_routes_raw_endpoint_like_realtime(target: Target) -> None:
    """Raw endpoints follow the same routing and query rules as realtime ones."""
    query = {"rt_unknown_param": "1"}
    realtime = target.handshake("/realtime", query=query)
    realtime.close()
    with requirement("RT-TRANS-020"):
        assert realtime.status == 101, (
            f"/realtime refused an unknown query parameter: {realtime.status}"
        )
    with requirement("RT-RAW-001"), target.connect("/echo", query=query, validate=False) as conn:
        conn.send_text("q")
        assert conn.recv().data == b"q-0"
    raw = target.handshake("/echo/no-such-path")
    raw.close()
    with requirement("RT-TRANS-003"):
        assert raw.status != 101, "an unknown path under /echo was upgraded"


@pytest.mark.req("RT-RAW-001", "RT-TRANS-002", "RT-CONF-020")
@pytest.mark.feature("gateway-paths")
def test_server_routes_raw_endpoint_gateway_form(target: Target) -> None:
    """/{owner}/{alias}/echo reaches the raw endpoint when /{owner}/{alias}/realtime does."""
    realtime = target.handshake("/realtime", gateway=True)
    realtime.close()
    with requirement("RT-CONF-020", "RT-TRANS-002"):
        assert realtime.status == 101, f"the gateway form of /realtime got {realtime.status}"
    with requirement("RT-RAW-001"), target.connect("/echo", gateway=True, validate=False) as conn:
        conn.send_text("g")
        assert conn.recv().data == b"g-0"


@pytest.mark.req("RT-RAW-001", "RT-CONF-020")
@pytest.mark.feature("auth")
def test_server_applies_auth_to_raw_endpoint(target: Target) -> None:
    """A raw endpoint refuses a handshake without the credential, like a realtime one."""
    raw = target.handshake("/echo", auth=False)
    raw.close()
    assert raw.status != 101, "the raw endpoint accepted a handshake without credential"


def _end_of_echo(conn: Conn, *silent: str) -> Received:
    """How /echo ends after the handler stopped; staying open past the deadline blames `silent`."""
    with requirement(*silent):
        frame = conn.recv()
        assert frame.kind == "close", f"the handler stopped, yet the server sent {frame.summary()}"
    return frame


@pytest.mark.req("RT-RAW-004", "RT-RAW-005", "RT-CONF-020")
@pytest.mark.feature("raw-handler-error")
def test_server_ends_raw_connection_when_handler_fails(target: Target) -> None:
    """The text `fail` makes /echo's handler raise: the connection ends, ideally with 1011."""
    with target.connect("/echo", validate=False) as conn:
        conn.send_text("fail")
        end = _end_of_echo(conn, "RT-RAW-004")
        with requirement("RT-RAW-005"):
            assert end.code == 1011, f"a failed raw handler ended the connection: {end.summary()}"


@pytest.mark.req("RT-RAW-007", "RT-CONF-020")
@pytest.mark.feature("raw-handler-error")
def test_server_closes_raw_connection_when_handler_returns(target: Target) -> None:
    """The text `return` makes /echo's handler return without closing: the server closes 1000."""
    with target.connect("/echo", validate=False) as conn:
        conn.send_text("return")
        end = _end_of_echo(conn, "RT-RAW-007")
        with requirement("RT-RAW-007"):
            assert end.code == 1000, f"a returned raw handler ended the connection: {end.summary()}"
