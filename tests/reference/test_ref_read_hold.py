"""A read hold for a full input queue ends when the queue empties (RT-FLOW-021, RT-LIFE-024).

Bug fixed by the redesign: a server stream whose queue filled up (256 pending inputs, each to
be rejected) held reading until the end of the session, so the server never read the
client's close frame and dropped TCP after its 5 s close timeout instead of completing the
closing handshake.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from wirebytes import binary, handshake, masked, server_frames

if TYPE_CHECKING:
    from refhelpers import Running


def read_until_close(sock: socket.socket) -> list[tuple[int, bytes]]:
    data = b""
    while True:
        chunk = sock.recv(65536)
        assert chunk, "EOF before the server's close frame"
        data += chunk
        try:
            frames = server_frames(data)
        except (AssertionError, IndexError):
            continue
        if frames and frames[-1][0] == 0x8:
            return frames


def test_server_completes_the_close_handshake_after_a_full_queue(server: Running) -> None:
    with socket.create_connection(("127.0.0.1", server.server.port), timeout=10) as sock:
        handshake(sock, "/realtime/slowstream")
        sock.sendall(binary({"prompt": "s"}))
        sock.sendall(b"".join(binary({"prompt": f"x{i}"}) for i in range(300)))
        frames = read_until_close(sock)
        assert frames[-1] == (0x8, (1000).to_bytes(2, "big"))
        sock.sendall(masked(0x8, (1000).to_bytes(2, "big")))
        sock.settimeout(3.0)  # under the server's 5 s close timeout
        assert sock.recv(65536) == b"", "the server ends TCP cleanly once it reads our close"
