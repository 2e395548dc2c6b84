"""A small blocking RFC 6455 client over a plain socket, for the catalogue's test clients.

It starts in a few milliseconds (the catalogue runs hundreds of client processes), offers no
extension, answers pings, reassembles fragments and performs the closing handshake.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
import time
from urllib.parse import urlsplit

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class HandshakeRefused(Exception):
    """The server answered the upgrade with another status than 101."""

    def __init__(self, status: int) -> None:
        super().__init__(f"server rejected WebSocket connection: HTTP {status}")
        self.status = status


class Closed(Exception):
    """The connection ended; ``code`` is the close code received (None: no close frame)."""

    def __init__(self, code: int | None) -> None:
        super().__init__(f"connection closed ({code})")
        self.code = code


class WebSocket:
    """One client connection."""

    def __init__(self, url: str, headers: dict[str, str], max_size: int | None) -> None:
        parts = urlsplit(url)
        self.max_size = max_size
        self.close_code: int | None = None
        self.closed = False
        self._buf = bytearray()
        self.sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=10)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {target} HTTP/1.1",
            f"Host: {parts.netloc}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = self._read_until(b"\r\n\r\n", deadline=time.monotonic() + 10)
        status = int(head.split(b" ", 2)[1])
        if status != 101:
            self.sock.close()
            raise HandshakeRefused(status)
        accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if accept.encode() not in head:
            raise ConnectionError("bad Sec-WebSocket-Accept")

    # -- reading --------------------------------------------------------------------------

    def _fill(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(1 << 20)
        except TimeoutError:
            raise
        except OSError:
            chunk = b""
        if not chunk:
            self.closed = True
            self.sock.close()
            raise Closed(self.close_code)
        self._buf += chunk

    def _read_until(self, marker: bytes, deadline: float) -> bytes:
        while marker not in self._buf:
            self._fill(deadline)
        end = self._buf.index(marker) + len(marker)
        out = bytes(self._buf[:end])
        del self._buf[:end]
        return out

    def _read(self, size: int, deadline: float) -> bytes:
        while len(self._buf) < size:
            self._fill(deadline)
        out = bytes(self._buf[:size])
        del self._buf[:size]
        return out

    def recv(self, timeout: float) -> bytes | str:
        """The next data message; TimeoutError after ``timeout``; Closed when it ended."""
        if self.closed:
            raise Closed(self.close_code)
        deadline = time.monotonic() + timeout
        parts: list[bytes] = []
        kind = 0
        while True:
            b0, b1 = self._read(2, deadline)
            fin, opcode, size = b0 & 0x80, b0 & 0x0F, b1 & 0x7F
            if size == 126:
                size = struct.unpack(">H", self._read(2, deadline))[0]
            elif size == 127:
                size = struct.unpack(">Q", self._read(8, deadline))[0]
            if self.max_size is not None and size + sum(map(len, parts)) > self.max_size:
                self.close(1009)
                raise Closed(None)
            payload = self._read(size, deadline)
            if opcode == 0x9:
                self._send_frame(0xA, payload)
            elif opcode == 0x8:
                self.close_code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
                self._send_frame(0x8, payload[:2])
                self.closed = True
                self.sock.close()
                raise Closed(self.close_code)
            elif opcode in (0x1, 0x2, 0x0):
                kind = kind or opcode
                parts.append(payload)
                if fin:
                    data = b"".join(parts)
                    return data.decode("utf-8") if kind == 0x1 else data

    # -- writing --------------------------------------------------------------------------

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        size = len(payload)
        if size < 126:
            head = struct.pack(">BB", 0x80 | opcode, 0x80 | size)
        elif size < 1 << 16:
            head = struct.pack(">BBH", 0x80 | opcode, 0x80 | 126, size)
        else:
            head = struct.pack(">BBQ", 0x80 | opcode, 0x80 | 127, size)
        mask = os.urandom(4)
        repeated = (mask * (size // 4 + 1))[:size]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(
            size, "big"
        )
        self.sock.sendall(head + mask + masked)

    def send(self, message: bytes | str) -> None:
        """Send one text (str) or binary (bytes) message."""
        if isinstance(message, str):
            self._send_frame(0x1, message.encode("utf-8"))
        else:
            self._send_frame(0x2, message)

    def close(self, code: int = 1000) -> None:
        """Send a close frame and wait (bounded) for the server's."""
        if self.closed:
            return
        try:
            self._send_frame(0x8, struct.pack(">H", code))
            deadline = time.monotonic() + 5
            while True:
                b0, b1 = self._read(2, deadline)
                size = b1 & 0x7F
                if size == 126:
                    size = struct.unpack(">H", self._read(2, deadline))[0]
                elif size == 127:
                    size = struct.unpack(">Q", self._read(8, deadline))[0]
                self._read(size, deadline)
                if b0 & 0x0F == 0x8:
                    break
        except (Closed, TimeoutError, OSError):
            pass
        self.closed = True
        self.sock.close()
