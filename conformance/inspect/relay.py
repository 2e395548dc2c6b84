"""The inspector's asyncio relay: accept a client, connect upstream, forward and print.

Every byte is forwarded as it arrives, before it is parsed, so the inspector adds no buffering
and changes nothing on the wire but the request target's prefix and ``Host``. A WebSocket
upgrade answered 101 is then followed frame by frame both ways (:mod:`.stream`, :mod:`.judge`);
any other HTTP exchange is relayed unchanged after its heads are printed.
"""

from __future__ import annotations

import asyncio
import fnmatch
import itertools
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from conformance.frames import BINARY, TEXT, Frame
from conformance.inspect import render
from conformance.inspect.handshake import (
    Head,
    Upstream,
    negotiated_deflate,
    parse_head,
    upstream_head,
)
from conformance.inspect.judge import CLIENT, SERVER, Flag, Judge
from conformance.inspect.stream import FrameEvent, MessageEvent, WsStream

__all__ = ["Relay", "RelayConfig"]

CHUNK = 64 * 1024
BAD_GATEWAY = b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@dataclass(frozen=True)
class RelayConfig:
    """What the relay connects to and how it judges.

    Attributes:
        upstream: the server behind the relay.
        raw_paths: glob patterns of raw WebSocket paths (chapter 09: no message rules).
    """

    upstream: Upstream
    raw_paths: tuple[str, ...] = ("*/echo",)


@dataclass
class Relay:
    """Accepts connections and relays each to the upstream, printing what passes."""

    config: RelayConfig
    out: TextIO = field(default_factory=lambda: sys.stdout)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def emit(self, lines: list[str]) -> None:
        """Print lines at once (the relay is single-threaded, so lines never interleave)."""
        if lines:
            self.out.write("\n".join(lines) + "\n")
            self.out.flush()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one client connection until both sides closed."""
        conn = next(self._ids)
        clock = render.Clock(time.time())

        def prefix(direction: str) -> str:
            return f"{clock.stamp(time.time())} #{conn} {direction}"

        try:
            await self._session(conn, prefix, reader, writer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError, ValueError) as exc:
            # A peer that hangs up, or sends a head that is not HTTP: report it, keep serving.
            self.emit([f"{prefix('--')} connection ended: {type(exc).__name__}: {exc}"])
        finally:
            writer.close()

    async def _session(
        self,
        conn: int,
        prefix: Callable[[str], str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        request = parse_head(await reader.readuntil(b"\r\n\r\n"))
        up = self.config.upstream
        self.emit([f"{prefix('--')} client {writer.get_extra_info('peername')} -> {up.netloc}"])
        self.emit(render.head_lines(prefix(CLIENT), request))
        context = ssl.create_default_context() if up.tls else None
        try:
            up_reader, up_writer = await asyncio.open_connection(
                up.host, up.port, ssl=context, server_hostname=up.host if up.tls else None
            )
        except OSError as exc:
            self.emit([f"{prefix('--')} upstream {up.netloc} unreachable: {exc}; answered 502"])
            writer.write(BAD_GATEWAY)
            await writer.drain()
            return
        try:
            up_writer.write(upstream_head(request, up).encode())
            await up_writer.drain()
            if not request.is_upgrade:
                await self._http(prefix, reader, writer, up_reader, up_writer)
                return
            response = parse_head(await up_reader.readuntil(b"\r\n\r\n"))
            self.emit(render.head_lines(prefix(SERVER), response))
            writer.write(response.encode())
            await writer.drain()
            if response.status != 101:
                await self._pipe_both(reader, writer, up_reader, up_writer)
                return
            path = request.start.split(" ", 2)[1].partition("?")[0]
            realtime = not any(fnmatch.fnmatch(path, p) for p in self.config.raw_paths)
            await self._websocket(
                prefix, response, realtime, (reader, writer), (up_reader, up_writer)
            )
        finally:
            up_writer.close()
        self.emit([f"{prefix('--')} connection #{conn} closed"])

    async def _http(
        self,
        prefix: Callable[[str], str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> None:
        """A plain HTTP exchange: the request body flows while the response head is awaited."""
        upload = asyncio.create_task(_pipe(reader, up_writer))
        response = parse_head(await up_reader.readuntil(b"\r\n\r\n"))
        self.emit(render.head_lines(prefix(SERVER), response))
        self.emit([f"{prefix('--')} not a WebSocket upgrade: the rest is relayed unchanged"])
        writer.write(response.encode())
        await asyncio.gather(upload, _pipe(up_reader, writer))

    async def _pipe_both(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        up_writer: asyncio.StreamWriter,
    ) -> None:
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    async def _websocket(
        self,
        prefix: Callable[[str], str],
        response: Head,
        realtime: bool,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        server: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        """Follow both directions frame by frame until each side has closed its half."""
        deflate = negotiated_deflate(response)
        judge = Judge(realtime=realtime)
        streams = {
            CLIENT: WsStream(bool(deflate), bool(deflate and deflate.client_no_context_takeover)),
            SERVER: WsStream(bool(deflate), bool(deflate and deflate.server_no_context_takeover)),
        }
        kind = "realtime" if realtime else "raw (no message rules)"
        note = f", permessage-deflate {deflate}" if deflate else ", no compression"
        self.emit([f"{prefix('--')} WebSocket open: {kind}{note}"])

        async def follow(
            direction: str, src: asyncio.StreamReader, dst: asyncio.StreamWriter
        ) -> None:
            describe = _Describer(judge, direction)
            while data := await src.read(CHUNK):
                dst.write(data)  # forward first: the inspector never delays the peer
                for event in streams[direction].feed(data):
                    self.emit(describe(prefix(direction), event))
                await dst.drain()
            self.emit([f"{prefix(direction)} TCP closed (EOF)"])
            if dst.can_write_eof():
                dst.write_eof()

        await asyncio.gather(
            follow(CLIENT, client[0], server[1]), follow(SERVER, server[0], client[1])
        )
        self.emit(render.flag_lines(judge.on_end()))


class _Describer:
    """The lines for each event of one direction; a one-frame message prints as one line."""

    def __init__(self, judge: Judge, direction: str) -> None:
        self._judge = judge
        self._direction = direction
        self._held: tuple[Frame, list[Flag]] | None = None

    def __call__(self, prefix: str, event: FrameEvent | MessageEvent) -> list[str]:
        if isinstance(event, FrameEvent):
            frame = event.frame
            flags = self._judge.on_frame(self._direction, frame)
            if frame.opcode in (TEXT, BINARY) and frame.fin:
                self._held = (frame, flags)  # its message follows at once
                return []
            return [render.frame_line(prefix, frame), *render.flag_lines(flags)]
        held, self._held = self._held, None
        single = held[0] if held else None
        frame_flags = held[1] if held else []
        value, flags = self._judge.on_message(self._direction, event)
        line = render.message_line(prefix, event, value, single)
        return [line, *render.flag_lines(frame_flags + flags)]


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    """Copy bytes until EOF, then half-close ``dst``."""
    while data := await src.read(CHUNK):
        dst.write(data)
        await dst.drain()
    if dst.can_write_eof():
        dst.write_eof()
