"""Clients of `speed.py`: one round trip at a time per connection, and idle sessions.

`PicowsClient` (WebSocket, picows on uvloop) and `TcpClient` (the floor's length-prefixed
framing) send a given msgpack request and wait for the whole reply. `open_idle` opens many
WebSocket sessions that then stay silent, from several 127.0.0.x source addresses so the
count is not capped by one address's ephemeral ports.
"""

from __future__ import annotations

import asyncio
import base64
import os
from typing import Any

from picows import WSListener, WSMsgType, ws_connect

#: Source addresses for idle sessions; each gives ~28k ephemeral ports (32768-60999).
PER_SOURCE = 25_000


class TcpClient:
    def __init__(self, request: bytes) -> None:
        self.frame = len(request).to_bytes(4, "big") + request

    async def open(self, url: str) -> None:
        host, port = url.removeprefix("tcp://").split(":")
        self.reader, self.writer = await asyncio.open_connection(host, int(port))

    async def rt(self) -> bytes:
        self.writer.write(self.frame)
        size = int.from_bytes(await self.reader.readexactly(4), "big")
        return await self.reader.readexactly(size)

    async def close(self) -> None:
        self.writer.close()


class PicowsClient:
    def __init__(self, request: bytes) -> None:
        self.request = request
        self.future: asyncio.Future[bytes] | None = None

    async def open(self, url: str) -> None:
        outer = self
        self.loop = asyncio.get_running_loop()

        class Listener(WSListener):
            def on_ws_frame(self, transport: Any, frame: Any) -> None:
                if frame.msg_type == WSMsgType.BINARY and outer.future is not None:
                    future, outer.future = outer.future, None
                    future.set_result(frame.get_payload_as_bytes())

        self.transport, _ = await ws_connect(Listener, url + "/realtime", max_frame_size=1 << 25)

    async def rt(self) -> bytes:
        future = self.future = self.loop.create_future()
        self.transport.send(WSMsgType.BINARY, self.request)
        data: bytes = await future
        return data

    async def close(self) -> None:
        self.transport.send_close()
        self.transport.disconnect()


Client = TcpClient | PicowsClient


def client_for(url: str, request: bytes) -> Client:
    return TcpClient(request) if url.startswith("tcp://") else PicowsClient(request)


class _Idle(asyncio.Protocol):
    """A WebSocket session that upgrades and then says nothing."""

    def __init__(self, upgrade: bytes) -> None:
        self.upgrade = upgrade
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.seen = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.upgrade)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if self.done.done():
            return
        self.seen += data
        if b"\r\n\r\n" in self.seen:
            ok = self.seen.startswith(b"HTTP/1.1 101")
            self.done.set_result(None) if ok else self.done.set_exception(OSError("no 101"))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(exc or OSError("closed before the 101"))


async def open_idle(url: str, target: int, batch: int = 500) -> tuple[list[Any], str]:
    """Open up to `target` idle sessions; stop at the first batch with a failure."""
    host, port = url.removeprefix("ws://").split(":")
    key = base64.b64encode(os.urandom(16)).decode()
    upgrade = (
        f"GET /realtime HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    held: list[Any] = []

    async def one(n: int) -> Any:
        source = f"127.0.0.{2 + n // PER_SOURCE}"
        transport, proto = await loop.create_connection(
            lambda: _Idle(upgrade), host, int(port), local_addr=(source, 0)
        )
        try:
            await asyncio.wait_for(proto.done, 30)
        except BaseException:
            transport.close()
            raise
        return transport

    while len(held) < target:
        n = min(batch, target - len(held))
        got = await asyncio.gather(*(one(len(held) + i) for i in range(n)), return_exceptions=True)
        errors = [g for g in got if isinstance(g, BaseException)]
        held.extend(g for g in got if not isinstance(g, BaseException))
        if errors:
            return held, f"stopped: {errors[0]!r}"
    return held, ""
