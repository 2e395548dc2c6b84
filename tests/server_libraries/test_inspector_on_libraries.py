"""The inspector catches a library's own rule break live: aiohttp and an unmasked frame.

The same minimal aiohttp app as the table (``interop/library_apps.py``); a raw client sends
one unmasked input through ``python -m conformance.inspect``. aiohttp answers it with an output
instead of closing 1002, and the inspector says so under that output frame (RT-LIFE-022).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import msgpack
from library_support import REPO, LibraryApp

from conformance.frames import BINARY, FrameParser, frame_header

HANDSHAKE = (
    b"GET /realtime HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def _wait_for(log: Path, needle: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while needle not in (text := log.read_text("utf-8", "replace")):
        assert time.monotonic() < deadline, f"{needle!r} not printed:\n{text[-3000:]}"
        time.sleep(0.05)
    return text


def _connect(port: int, timeout: float = 30.0) -> socket.socket:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on {port}"
            time.sleep(0.1)


def test_inspector_flags_aiohttp_answering_an_unmasked_frame(
    library_app: LibraryApp, tmp_path: Path
) -> None:
    """RFC 6455 flag on the client frame, RT-LIFE-022 on aiohttp's answer to it."""
    log = tmp_path / "inspect.log"
    with library_app("aiohttp") as upstream, log.open("wb") as sink:
        _connect(int(upstream.rsplit(":", 1)[1])).close()  # the app is up
        cmd = [sys.executable, "-m", "conformance.inspect", "--listen", "127.0.0.1:0"]
        relay = subprocess.Popen([*cmd, "--upstream", upstream], cwd=REPO, stdout=sink)
        try:
            ready = _wait_for(log, "inspecting ").splitlines()[0]
            port = int(ready.split()[1].rsplit(":", 1)[1])
            with _connect(port) as sock:
                sock.sendall(HANDSHAKE)
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = sock.recv(1)
                    assert chunk, "the upstream (through the relay) closed during the handshake"
                    head += chunk
                assert head.startswith(b"HTTP/1.1 101"), head
                payload = msgpack.packb({"prompt": "hi"})
                sock.sendall(frame_header(BINARY, len(payload)) + payload)  # no mask
                frames = FrameParser().feed(sock.recv(65536))
            text = _wait_for(log, "RT-LIFE-022")
        finally:
            relay.terminate()
            relay.wait(timeout=10)
    assert [f.payload for f in frames] == [msgpack.packb({"output": "hi"})]
    assert "C->S BINARY 11 B unmasked fin {'prompt': 'hi'}" in text
    assert "S->C BINARY 11 B unmasked fin {'output': 'hi'}" in text
    assert "!! RT-LIFE-022 [MUST] answered an unmasked client frame with BINARY" in text
