"""HTTP parsing and its limits (spec 12.2 and 12.4; attack findings 1 and 8)."""

from __future__ import annotations

import time

from relhelpers import (
    Canary,
    ServerProc,
    connect,
    frame,
    handshake,
    http_request,
    read_head,
    upgrade_request,
)

#: One-byte chunks in the chunked body of finding 1 (120 KB on the wire).
CHUNKS = 20_000


def _chunked_post(chunks: int) -> bytes:
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += b"Transfer-Encoding: chunked\r\n\r\n"
    return head + b"1\r\n \r\n" * chunks + b'c\r\n{"prompt":1}\r\n0\r\n\r\n'


def test_chunked_body_of_tiny_chunks_does_not_stall_other_sessions(server: ServerProc) -> None:
    """Finding 1 (RT-SEC-016, RT-SEC-020): a body of many 1-byte chunks is linear work.

    Before: the body was re-summed on every chunk, O(N^2) on the event loop: 20,000 chunks
    froze every session for seconds.
    """
    canary = Canary(server.port)
    sock = connect(server.port)
    try:
        started = time.monotonic()
        sock.sendall(_chunked_post(CHUNKS))
        status, _, _ = read_head(sock, 60)
        took = time.monotonic() - started
    finally:
        sock.close()
    worst = canary.stop()
    assert status == 422, f"the chunked POST answered {status}"
    assert worst < 1.0, (
        f"another session waited {worst:.2f}s for a round trip while the server read "
        f"{CHUNKS} one-byte chunks (the request took {took:.2f}s)"
    )


def test_oversized_header_block_gets_431(server: ServerProc) -> None:
    """Finding 8 (RT-SEC-014): a 1 MB header block is refused with 431, not served."""
    raw = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 1_000_000 + b"\r\n\r\n"
    status, _ = http_request(server.port, raw)
    assert status == 431, f"a 1 MB header block answered {status}"


def test_unfinished_oversized_header_gets_431_before_it_ends(server: ServerProc) -> None:
    """RT-SEC-014: a header value past the bound is refused while it is still arriving.

    Before: the head was counted only per complete header field, so one 200 KB value with no
    end got no answer at all, and the parser copied the growing value on every 4 KiB piece
    (quadratic loop time, the 1 MB header phase of bench/hostile_load.py at 2.4-3x).
    """
    sock = connect(server.port)
    try:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000)
        status, _, _ = read_head(sock, 5)
    finally:
        sock.close()
    assert status == 431, f"an unfinished 200 KB header value answered {status}"


def test_many_headers_on_upgrade_get_431(server: ServerProc) -> None:
    """Finding 8 (RT-SEC-014): 20,000 headers on an upgrade are refused, not upgraded."""
    extra = {f"X-H{i}": "v" for i in range(20_000)}
    ws = handshake(server.port, "/realtime", extra)
    ws.close()
    assert ws.status == 431, f"an upgrade with 20,000 headers answered {ws.status}"


def test_long_request_target_gets_414(server: ServerProc) -> None:
    """Finding 8 (RT-SEC-015): a 100 KB request target is refused with 414."""
    raw = b"GET /health?" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    status, _ = http_request(server.port, raw)
    assert status == 414, f"a 100 KB request target answered {status}"


def test_oversized_body_gets_413_before_it_is_sent(server: ServerProc) -> None:
    """RT-SEC-016: a Content-Length above the limit is refused at once, the body never sent."""
    raw = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    raw += b"Content-Length: 100000000\r\n\r\n"
    status, _ = http_request(server.port, raw, timeout=5)
    assert status == 413, f"a 100 MB Content-Length answered {status}"


def test_pipelined_health_then_upgrade_answers_in_order(server: ServerProc) -> None:
    """Finding 8 (RT-SEC-040): the 200 of a pipelined GET comes before the upgrade's 101."""
    sock = connect(server.port)
    try:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n" + upgrade_request())
        status, head, _ = read_head(sock)
    finally:
        sock.close()
    assert status == 200, f"the first response to pipelined GET /health + upgrade: {head!r}"


def test_post_upgrade_is_not_upgraded(server: ServerProc) -> None:
    """Finding 8 (RT-SEC-041): an upgrade request with POST never gets a 101."""
    raw = upgrade_request().replace(b"GET ", b"POST ", 1)
    status, _ = http_request(server.port, raw)
    assert status not in (0, 101), f"a POST upgrade answered {status}"


def test_http10_upgrade_is_not_upgraded(server: ServerProc) -> None:
    """Finding 8 (RT-SEC-041): an HTTP/1.0 upgrade request never gets a 101."""
    raw = upgrade_request().replace(b"HTTP/1.1", b"HTTP/1.0", 1)
    status, _ = http_request(server.port, raw)
    assert status not in (0, 101), f"an HTTP/1.0 upgrade answered {status}"


def test_frames_sent_with_the_upgrade_are_answered_after_the_101(server: ServerProc) -> None:
    """Finding 8 (RT-SEC-042): a ping in the upgrade's TCP write is answered after the 101."""
    for path in ("/echo", "/realtime"):
        sock = connect(server.port)
        try:
            sock.sendall(upgrade_request(path) + frame(9, b"early"))
            time.sleep(0.3)
            sock.settimeout(5)
            first = sock.recv(12)
        finally:
            sock.close()
        assert first.startswith(b"HTTP/1.1 101"), f"{path}: first bytes {first!r}"


def test_connection_close_request_is_answered_and_closed(server: ServerProc) -> None:
    """RFC 9112 9.6: after answering a request with `Connection: close` the server closes.

    Before (found by bench/soak.py): the answer said `connection: keep-alive` and the
    connection stayed open, so a client reading to EOF waited forever.
    """
    body = b'{"prompt": "w"}'
    sock = connect(server.port)
    try:
        sock.sendall(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
        )
        status, head, _ = read_head(sock)
        ended = False
        sock.settimeout(5)
        try:
            while sock.recv(4096):
                pass
            ended = True
        except TimeoutError:
            pass
    finally:
        sock.close()
    assert status == 200, head
    assert ended, f"the connection stayed open after `Connection: close`: {head!r}"
