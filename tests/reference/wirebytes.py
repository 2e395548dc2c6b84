"""Client WebSocket frames as explicit bytes, and a reader for server frames (RFC 6455)."""

from __future__ import annotations

import json
import socket
from typing import Any

import msgpack

MASK = bytes.fromhex("37fa213d")


def masked(opcode: int, payload: bytes, *, fin: bool = True, mask: bytes = MASK) -> bytes:
    """One masked client frame."""
    first = (0x80 if fin else 0) | opcode
    size = len(payload)
    if size < 126:
        head = bytes((first, 0x80 | size))
    elif size < 65536:
        head = bytes((first, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((first, 0x80 | 127)) + size.to_bytes(8, "big")
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + body


def binary(value: dict[str, Any]) -> bytes:
    """A masked binary frame carrying `value` as msgpack."""
    return masked(0x2, bytes(msgpack.packb(value)))


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """(opcode, payload) of each unmasked server frame in `data`; asserts nothing is left."""
    frames = []
    pos = 0
    while pos < len(data):
        length = data[pos + 1] & 0x7F
        head = 2
        if length == 126:
            length, head = int.from_bytes(data[pos + 2 : pos + 4], "big"), 4
        elif length == 127:
            length, head = int.from_bytes(data[pos + 2 : pos + 10], "big"), 10
        assert not data[pos + 1] & 0x80, "server frames are never masked"
        frames.append((data[pos] & 0x0F, data[pos + head : pos + head + length]))
        pos += head + length
    assert pos == len(data)
    return frames


def readable(chunks: list[bytes]) -> list[Any]:
    """Server output as readable items: output maps, ("error", code), ("close", code), "eof"."""
    items: list[Any] = []
    data = b""
    for chunk in chunks:
        if chunk:
            data += chunk
            continue
        items.extend(_items(data))
        data = b""
        items.append("eof")
    items.extend(_items(data))
    return items


def _items(data: bytes) -> list[Any]:
    items: list[Any] = []
    for opcode, payload in server_frames(data):
        if opcode == 0x2:
            items.append(msgpack.unpackb(payload))
        elif opcode == 0x1:
            items.append(("error", json.loads(payload)["error"]))
        elif opcode == 0x8:
            items.append(("close", int.from_bytes(payload[:2], "big") if payload else 1005))
        else:
            items.append((opcode, payload))
    return items


def handshake(sock: socket.socket, path: str) -> None:
    """Send an upgrade request for `path` and read the 101 head."""
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, "connection closed during the handshake"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    assert head.endswith(b"\r\n\r\n"), "no frame may follow the 101 before an input"


def recv_frames(sock: socket.socket, count: int) -> list[tuple[int, bytes]]:
    """Read exactly `count` server frames."""
    data = b""
    while True:
        try:
            frames = server_frames(data)
        except (AssertionError, IndexError):
            frames = []
        if len(frames) >= count:
            return frames
        chunk = sock.recv(65536)
        assert chunk, f"connection closed after {len(frames)} frames"
        data += chunk
