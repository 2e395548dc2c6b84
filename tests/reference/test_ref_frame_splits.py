"""Every frame split at every byte boundary gives the same session (RFC 6455 section 5).

The server's one inbound path is `Session.receive_data`; the socket test sends the same bytes
in two writes over a real connection, at a sample of split points.
"""

from __future__ import annotations

import socket
import time
from typing import TYPE_CHECKING, Any

import msgpack
import pytest
from wirebytes import binary, handshake, masked, readable, recv_frames

from reference.core.session import Session, SessionConfig

if TYPE_CHECKING:
    from refhelpers import Running

PING, CLOSE = 0x9, 0x8


def stream() -> bytes:
    """Frames of every header size, a fragmented message, control frames and a rejection."""
    big = bytes(msgpack.packb({"prompt": "m" * 300}))
    return b"".join(
        [
            binary({"prompt": "a"}),
            masked(0x2, big),  # 16-bit length
            masked(PING, b"p"),
            masked(0x2, big[:5], fin=False),
            masked(PING, b""),
            masked(0x0, big[5:]),
            masked(0x1, "héllo".encode()),  # a text frame: rejected
            binary({"prompt": "z"}),
        ]
    )


def served(chunks: list[bytes]) -> list[Any]:
    """What the session sends for `chunks`: data and errors in order, then the pongs in order.

    Pongs go out as soon as their ping is read, so where they fall among the outputs depends
    on the chunking; each of the two orders must not.
    """
    session = Session(SessionConfig())
    session.accept(0.0)
    out: list[bytes] = []
    for chunk in chunks:
        session.receive_data(chunk, 0.0)
        while (work := session.next_work()) is not None:
            session.output({"n": len(work[0]["prompt"])})
        out.extend(session.data_to_send())
    items = readable(out)
    pongs = [item for item in items if isinstance(item, tuple) and item[0] == 0xA]
    return [item for item in items if item not in pongs] + pongs


def test_every_split_point_of_every_frame_gives_the_same_session() -> None:
    data = stream()
    whole = served([data])
    assert whole == [
        {"n": 1},
        {"n": 300},
        {"n": 300},
        ("error", "INVALID_INPUT"),
        {"n": 1},
        (0xA, b"p"),
        (0xA, b""),
    ]
    for cut in range(1, len(data)):
        assert served([data[:cut], data[cut:]]) == whole, f"split at byte {cut}"


def test_byte_by_byte_gives_the_same_session() -> None:
    data = stream()
    assert served([data[i : i + 1] for i in range(len(data))]) == served([data])


def test_a_64_bit_length_frame_split_anywhere_near_its_edges_is_one_input() -> None:
    data = masked(0x2, bytes(msgpack.packb({"prompt": "h" * 70_000})))
    whole = served([data])
    assert whole == [{"n": 70_000}]
    cuts = [*range(1, 200), *range(200, len(data) - 200, 997), *range(len(data) - 200, len(data))]
    for cut in cuts:
        assert served([data[:cut], data[cut:]]) == whole, f"split at byte {cut}"


def test_a_framing_error_closes_1002_after_the_inputs_served_before_it() -> None:
    first = binary({"prompt": "a"})
    data = first + bytes.fromhex("8203") + b"abc"  # then an unmasked frame
    for cut in range(1, len(data)):
        # An input completed in the same read as the violating header is not served: once
        # the close frame is out, no data message may follow (spec 6.1, CLOSING).
        served_first = [{"n": 1}] if len(first) <= cut < len(first) + 2 else []
        assert served([data[:cut], data[cut:]]) == [*served_first, ("close", 1002), "eof"]


@pytest.mark.parametrize("step", [1, 2, 3, 7, 13])
def test_server_over_a_socket_answers_frames_split_anywhere(server: Running, step: int) -> None:
    frames = [binary({"prompt": f"p{i}"}) for i in range(3)]
    data = b"".join(frames)
    with socket.create_connection(("127.0.0.1", server.server.port), timeout=5) as sock:
        handshake(sock, "/realtime")
        for i in range(0, len(data), step):
            sock.sendall(data[i : i + step])
            time.sleep(0.001)
        got = recv_frames(sock, 3)
    assert [msgpack.unpackb(payload)["output"] for _, payload in got] == ["p0", "p1", "p2"]
