"""Helpers of the inspector tests: processes on 127.0.0.1 whose output is read from a log."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from conformance.frames import CLOSE, FrameParser, frame_header

REPO = Path(__file__).resolve().parents[2]
READY_S = 30.0
WAIT_S = 15.0


@dataclass
class Logged:
    """A process writing stdout and stderr to ``log``."""

    process: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        """Everything printed so far."""
        return self.log.read_text("utf-8", "replace")

    def wait_for(self, needle: str, timeout: float = WAIT_S) -> str:
        """Wait until ``needle`` was printed; return the whole output."""
        deadline = time.monotonic() + timeout
        while needle not in (text := self.text()):
            assert self.process.poll() is None or needle in self.text(), text[-3000:]
            assert time.monotonic() < deadline, f"{needle!r} not printed:\n{text[-3000:]}"
            time.sleep(0.02)
        return text


@contextmanager
def logged(cmd: Sequence[str], log: Path, ready: str) -> Iterator[Logged]:
    """Run ``cmd`` until the block ends, once it printed ``ready``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONUNBUFFERED"] = "1"
    with log.open("wb") as sink:
        process = subprocess.Popen(list(cmd), cwd=REPO, env=env, stdout=sink, stderr=sink)
    proc = Logged(process, log)
    try:
        proc.wait_for(ready, READY_S)
        yield proc
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (nothing listens on it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def url_in(text: str, prefix: str) -> str:
    """The first ``ws://`` URL on the line starting with ``prefix``."""
    line = next(line for line in text.splitlines() if line.startswith(prefix))
    return next(word for word in line.split() if word.startswith("ws://"))


@contextmanager
def reference(tmp_path: Path) -> Iterator[str]:
    """The reference server on a free loopback port; yield its URL."""
    cmd = [sys.executable, "-m", "reference", "serve", "--host", "127.0.0.1", "--port", "0"]
    with logged(cmd, tmp_path / "reference.log", "ws://") as proc:
        yield url_in(proc.text(), "ws://")


@contextmanager
def inspector(tmp_path: Path, upstream: str, *extra: str) -> Iterator[tuple[str, Logged]]:
    """``python -m conformance.inspect`` in front of ``upstream``; yield its URL and output."""
    cmd = [sys.executable, "-m", "conformance.inspect", "--listen", "127.0.0.1:0"]
    with logged(
        [*cmd, "--upstream", upstream, *extra], tmp_path / "inspect.log", "inspecting "
    ) as proc:
        yield url_in(proc.text(), "inspecting "), proc


def flags(text: str) -> list[str]:
    """The requirement IDs flagged in an inspector output, in order."""
    return [line.split()[1] for line in text.splitlines() if line.startswith("  !! ")]


HANDSHAKE = (
    "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def raw_session(url: str, frames: list[bytes], path: str = "/realtime") -> list[bytes]:
    """Send a handshake and ``frames`` over a raw socket; return the payloads of the replies.

    Reads until as many frames came back as were sent, a CLOSE arrived, or the server closed.
    """
    host, port = url.removeprefix("ws://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(HANDSHAKE.format(path=path).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head
        for frame in frames:
            sock.sendall(frame)
        parser, closed = FrameParser(), False
        got: list[bytes] = []
        while not closed and len(got) < len(frames) and (data := sock.recv(65536)):
            for reply in parser.feed(data):
                got.append(reply.payload)
                closed |= reply.opcode == CLOSE
        return got


_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def server_frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked server frame."""
    return frame_header(opcode, len(payload)) + payload


@contextmanager
def scripted_server(replies: Sequence[bytes]) -> Iterator[str]:
    """A WebSocket server on 127.0.0.1 that answers the i-th data frame with ``replies[i]``.

    It accepts any handshake and never checks the mask bit, like a library that ignores it
    (the kind of server RT-LIFE-022 is about). Yields its ws:// URL.
    """
    ready: list[str] = []
    started = threading.Event()
    control: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        key = next(
            line.split(":", 1)[1].strip()
            for line in head.split("\r\n")
            if line.lower().startswith("sec-websocket-key")
        )
        accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
        writer.write(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
        )
        parser, left = FrameParser(), list(replies)
        while left and (data := await reader.read(65536)):
            for frame in parser.feed(data):
                if frame.opcode in (1, 2) and left:
                    writer.write(left.pop(0))
            await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(session, "127.0.0.1", 0)
        ready.append(f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        done = asyncio.Event()
        control.append((asyncio.get_running_loop(), done))
        started.set()
        async with server:
            await done.wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert started.wait(10), "scripted server did not start"
    try:
        yield ready[0]
    finally:
        loop, done = control[0]
        loop.call_soon_threadsafe(done.set)
        thread.join(10)
