"""HTTP limits and parsing a client can hit (spec chapter 12-security, 12.2 to 12.4)."""

from __future__ import annotations

import socket
import time

import pytest

from conformance.failures import requirement
from conformance.limits import exchange, http_head, open_socket, upgrade_head
from conformance.wire import Target

#: RT-SEC-017's default is 10 s; the check waits twice that (scaled) before failing.
HANDSHAKE_WAIT = 20.0


@pytest.mark.req("RT-SEC-014")
def test_server_refuses_oversized_header_block_with_431(target: Target) -> None:
    """A 1 MiB header block (16x the default bound) is answered 431."""
    head = http_head(target, "GET", "/health", headers={"X-Padding": "a" * 2**20})
    answer = exchange(target, head, "GET /health with a 1 MiB header", timeout=10)
    with requirement("RT-SEC-014"):
        assert answer.status == 431, f"a 1 MiB header block: {answer.summary()}"


@pytest.mark.req("RT-SEC-014")
def test_server_refuses_unfinished_oversized_header_with_431(target: Target) -> None:
    """A 1 MiB header value that never ends is answered 431 all the same.

    RT-SEC-014 says "without reading the rest of the head": a server that waits for the
    field (or the head) to end before counting it never answers this one.
    """
    head = http_head(target, "GET", "/health", headers={"X-Padding": "a" * 2**20})
    unfinished = head[: -len(b"\r\n\r\n")]
    answer = exchange(target, unfinished, "GET /health, a 1 MiB header with no end", timeout=10)
    with requirement("RT-SEC-014"):
        assert answer.status == 431, f"an unfinished 1 MiB header: {answer.summary()}"


@pytest.mark.req("RT-SEC-014")
def test_server_refuses_upgrade_with_too_many_headers_with_431(target: Target) -> None:
    """An upgrade carrying 20,000 header fields (about 180 KB) is answered 431, not 101."""
    extra = {f"X-H{i}": "v" for i in range(20_000)}
    answer = exchange(target, upgrade_head(target, headers=extra), "upgrade + 20,000 headers")
    with requirement("RT-SEC-014"):
        assert answer.status == 431, f"an upgrade with 20,000 headers: {answer.summary()}"


@pytest.mark.req("RT-SEC-015")
def test_server_refuses_long_request_target_with_414(target: Target) -> None:
    """A 64 KiB request target (8x the default bound) is answered 414."""
    head = http_head(target, "GET", "/health?" + "a" * 2**16)
    answer = exchange(target, head, "GET /health?<64 KiB>")
    with requirement("RT-SEC-015"):
        assert answer.status == 414, f"a 64 KiB request target: {answer.summary()}"


@pytest.mark.req("RT-SEC-016")
def test_server_refuses_oversized_body_before_it_arrives(target: Target) -> None:
    """`POST /` announcing a 1 GiB body is answered 413 at once; the body is never sent."""
    head = http_head(
        target,
        "POST",
        "/",
        headers={"Content-Type": "application/json", "Content-Length": str(2**30)},
    )
    answer = exchange(target, head, "POST / head with Content-Length 1 GiB, no body")
    with requirement("RT-SEC-016"):
        assert answer.status == 413, f"a 1 GiB Content-Length: {answer.summary()}"


def _ends_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server ends the connection within `seconds` (any bytes, a 408, are read)."""
    deadline = time.monotonic() + seconds
    while (remaining := deadline - time.monotonic()) > 0:
        sock.settimeout(remaining)
        try:
            if not sock.recv(65536):
                return True
        except TimeoutError:
            return False
        except OSError:
            return True
    return False


@pytest.mark.req("RT-SEC-017")
def test_server_closes_unfinished_request_head(target: Target) -> None:
    """A request head that never completes is closed within the bound (slowloris)."""
    conn_id = target.recorder.new_conn("raw: half an upgrade request, then silence")
    sock = open_socket(target)
    try:
        partial = upgrade_head(target)[:30]
        target.recorder.record(conn_id, "C->S", "HTTP", partial, note="30 bytes of a request")
        sock.sendall(partial)
        started = time.monotonic()
        ended = _ends_within(sock, target.scale(HANDSHAKE_WAIT))
    finally:
        sock.close()
    took = time.monotonic() - started
    target.recorder.note(conn_id, f"ended by the server: {ended} after {took:.1f}s")
    with requirement("RT-SEC-017"):
        assert ended, f"an unfinished request head was still open after {took:.0f}s"


@pytest.mark.req("RT-SEC-030")
@pytest.mark.feature("auth")
def test_server_refuses_without_credential_before_the_body(target: Target) -> None:
    """`POST /` without a credential is refused from its head; the body is never sent."""
    head = http_head(
        target,
        "POST",
        "/",
        headers={"Content-Type": "application/json", "Content-Length": "10000000"},
        auth=False,
    )
    answer = exchange(target, head, "POST / without credential, head only")
    with requirement("RT-SEC-030"):
        assert answer.status in (401, 403), (
            f"POST / without a credential, its body not sent: {answer.summary()} "
            f"after {answer.elapsed:.1f}s"
        )


_ODD_CREDENTIALS = [
    ("fal_jwt_token=%C3%A9", {}),
    ("fal_jwt_token=%FF%FE", {}),
    ("", {"Authorization": "Key \xe9"}),
    ("", {"Authorization": "Bearer \xe9t\xe9"}),
]


@pytest.mark.req("RT-SEC-031")
@pytest.mark.feature("auth")
@pytest.mark.parametrize(
    ("query", "headers"), _ODD_CREDENTIALS, ids=["utf8-token", "bad-utf8", "key", "bearer"]
)
def test_server_refuses_non_ascii_credential_cleanly(
    target: Target, query: str, headers: dict[str, str]
) -> None:
    """A non-ASCII credential is refused with an HTTP status; the server serves on."""
    head = upgrade_head(target, query=query, headers=headers, auth=False)
    answer = exchange(target, head, f"upgrade with credential {query or headers}")
    with requirement("RT-SEC-031"):
        assert answer.status is not None, f"a non-ASCII credential: {answer.summary()}"
        assert 400 <= answer.status < 500, f"a non-ASCII credential: {answer.summary()}"
    with requirement("RT-SEC-031"), target.connect() as conn:
        conn.send_msgpack({"prompt": "after"})
        assert conn.recv_output() == {"output": "after"}


@pytest.mark.req("RT-SEC-031")
@pytest.mark.feature("auth")
def test_server_refuses_non_ascii_key_on_http_cleanly(target: Target) -> None:
    """`POST /` with `Authorization: Key \\xe9` gets a 4xx answer."""
    body = b'{"prompt":"x"}'
    head = http_head(
        target,
        "POST",
        "/",
        headers={
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            "Authorization": "Key \xe9",
        },
        auth=False,
    )
    answer = exchange(target, head + body, "POST / with Key \\xe9")
    with requirement("RT-SEC-031"):
        assert answer.status is not None, f"POST / with a non-ASCII key: {answer.summary()}"
        assert 400 <= answer.status < 500, f"POST / with a non-ASCII key: {answer.summary()}"


@pytest.mark.req("RT-SEC-040")
def test_server_answers_pipelined_requests_in_order(target: Target) -> None:
    """`GET /health` then an upgrade in one write: the answer to the GET comes first."""
    data = http_head(target, "GET", "/health") + upgrade_head(target)
    answer = exchange(target, data, "GET /health + upgrade, pipelined")
    with requirement("RT-SEC-040"):
        assert answer.status is not None, f"GET /health + upgrade: {answer.summary()}"
        assert answer.status != 101, (
            f"the first response to GET /health + upgrade: {answer.summary()}"
        )


@pytest.mark.req("RT-SEC-041")
@pytest.mark.parametrize(
    ("method", "version"), [("POST", "HTTP/1.1"), ("GET", "HTTP/1.0")], ids=["post", "http10"]
)
def test_server_upgrades_only_get_of_http11(target: Target, method: str, version: str) -> None:
    """An upgrade request with POST or HTTP/1.0 gets an error status, never a 101."""
    head = upgrade_head(target, method=method, version=version)
    answer = exchange(target, head, f"{method} upgrade over {version}")
    with requirement("RT-SEC-041"):
        assert answer.status is not None, f"{method} {version} upgrade: {answer.summary()}"
        assert 400 <= answer.status < 600, f"{method} {version} upgrade: {answer.summary()}"
