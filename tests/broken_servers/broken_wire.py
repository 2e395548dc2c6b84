"""One server-side WebSocket connection (RFC 6455, spec 02-transport) over asyncio streams.

The framing is websockets' sans-I/O `ServerProtocol`; this module only moves bytes between it
and the socket, reassembles fragmented messages and offers the few ways to end a connection
the fault switches need (close with any code, drop the TCP connection without a close frame).
It is independent of `reference/` on purpose: a bug there cannot hide itself here.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

#: How long a closing handshake may take before the TCP connection is dropped.
CLOSE_DEADLINE_S = 5.0

#: A send that makes no progress for this long drops the connection (a slow-consumer policy:
#: a client that stopped reading must not pin the session forever; RT-FLOW-021 pauses reads).
WRITE_STALL_S = 5.0

#: Complete messages read ahead of the app; when full, the socket is not read (RT-FLOW-021).
READ_AHEAD = 4

#: Frames of one fragmented message before the connection is closed 1009 (RT-SEC-011).
MAX_FRAGMENTS = 4096

#: Every open connection of this process (fault `deep-nesting-kills-sessions` drops them all).
OPEN_CONNECTIONS: set[WsConnection] = set()


class FaultyProtocol(ServerProtocol):
    """A `ServerProtocol` with switches for the faults below the app (spec 06-lifecycle)."""

    def __init__(self, faults: frozenset[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.faults = faults

    def recv_frame(self, frame: Frame) -> None:
        if frame.opcode is Opcode.PING and "no-pong" in self.faults:
            self.events.append(frame)
            return
        super().recv_frame(frame)

    def fail(self, code: CloseCode | int, reason: str = "") -> None:
        if code == CloseCode.PROTOCOL_ERROR and "protocol-error-1011" in self.faults:
            code = CloseCode.INTERNAL_ERROR
        super().fail(code, reason)


class WsConnection:
    """Messages in, messages out, over one accepted WebSocket connection."""

    def __init__(
        self,
        protocol: ServerProtocol,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        drop_tcp_above: int | None = None,
        drop_tcp_on_close: bool = False,
        max_fragments: int | None = MAX_FRAGMENTS,
    ) -> None:
        """Wrap a protocol whose handshake has been answered with 101.

        Args:
            protocol: the sans-I/O protocol, already in state OPEN.
            reader: the socket's reader (the request head already consumed).
            writer: the socket's writer.
            drop_tcp_above: drop the TCP connection (no close frame) when a message grows
                beyond this many bytes; a fault switch, None when the protocol enforces limits.
            drop_tcp_on_close: answer a client's close frame by dropping the TCP connection
                (fault `no-close-reply`).
            max_fragments: frames one message may have (None: no bound, fault
                `many-fragments-served`).
        """
        self._protocol = protocol
        self._reader = reader
        self._writer = writer
        self._drop_tcp_above = drop_tcp_above
        self._drop_tcp_on_close = drop_tcp_on_close
        self._messages: asyncio.Queue[str | bytes | None] = asyncio.Queue(READ_AHEAD)
        self._complete: list[str | bytes] = []
        self._eof = False
        self._discarding = False  # set once the server closes: later inputs are not read
        self._fragments: list[bytes] = []
        self._fragment_size = 0
        self._max_fragments = max_fragments
        self._fragment_opcode: Opcode | None = None
        self.closed = asyncio.Event()
        OPEN_CONNECTIONS.add(self)
        self._read_task = asyncio.create_task(self._read_loop())

    # Receiving -----------------------------------------------------------------------------

    async def recv(self) -> str | bytes | None:
        """The next complete message, or None once the connection is closing or closed."""
        if self._eof and self._messages.empty():
            return None
        message = await self._messages.get()
        if message is None:
            self._messages.put_nowait(None)  # every later recv() sees the end too
        return message

    async def _read_loop(self) -> None:
        try:
            while not self.closed.is_set():
                try:
                    data = await self._reader.read(65536)
                except (ConnectionError, OSError):
                    data = b""
                if not data:
                    self._protocol.receive_eof()
                    self._flush()
                    break
                self._protocol.receive_data(data)
                for event in self._protocol.events_received():
                    if isinstance(event, Frame):
                        self._on_frame(event)
                        if event.opcode is Opcode.CLOSE and self._drop_tcp_on_close:
                            self.abort()
                self._flush()
                for message in self._complete:
                    if not self._discarding:
                        await self._messages.put(message)  # blocks while the app is behind
                self._complete.clear()
                if self._writer.is_closing():  # close received, protocol failure, abort
                    break
        finally:
            self._eof = True
            if not self._messages.full():
                self._messages.put_nowait(None)
            await self._wait_transport_closed()
            OPEN_CONNECTIONS.discard(self)
            self.closed.set()

    def _on_frame(self, frame: Frame) -> None:
        if frame.opcode in (Opcode.TEXT, Opcode.BINARY):
            self._fragment_opcode = frame.opcode
            self._fragments = [bytes(frame.data)]
            self._fragment_size = len(frame.data)
        elif frame.opcode is Opcode.CONT:
            self._fragments.append(bytes(frame.data))
            self._fragment_size += len(frame.data)  # a running total: no re-summing (RT-SEC-020)
        else:
            return  # control frames: the protocol answers pings and closes itself
        if self._max_fragments is not None and len(self._fragments) > self._max_fragments:
            self._fragments = []
            self._protocol.fail(1009, "too many fragments")  # RT-SEC-011
            return
        size = self._fragment_size
        if self._drop_tcp_above is not None and size > self._drop_tcp_above:
            self.abort()
            return
        if not frame.fin:
            return
        payload = b"".join(self._fragments)
        self._fragments = []
        if self._fragment_opcode is Opcode.TEXT:
            try:
                self._complete.append(payload.decode("utf-8"))
            except UnicodeDecodeError:
                self._protocol.fail(1007, "invalid UTF-8 in a text message")
        else:
            self._complete.append(payload)

    # Sending -------------------------------------------------------------------------------

    @property
    def open(self) -> bool:
        """Whether messages can still be sent."""
        return self._protocol.state is State.OPEN and not self._writer.is_closing()

    async def send_text(self, text: str) -> None:
        """Send one text message (dropped silently when the connection is no longer open)."""
        if self.open:
            self._protocol.send_text(text.encode("utf-8"))
            await self._flush_and_drain()

    async def send_binary(self, data: bytes) -> None:
        """Send one binary message (dropped silently when the connection is no longer open)."""
        if self.open:
            self._protocol.send_binary(data)
            await self._flush_and_drain()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake and wait (bounded) for the TCP connection to end."""
        if self.open:
            self._protocol.send_close(code, reason)
            await self._flush_and_drain()
        self._discarding = True  # unblock the read loop so the close reply gets through
        while not self._messages.empty():
            self._messages.get_nowait()
        try:
            await asyncio.wait_for(self.closed.wait(), CLOSE_DEADLINE_S)
        except TimeoutError:
            self.abort()

    def abort(self) -> None:
        """Drop the TCP connection without a close frame."""
        self._writer.transport.abort()

    # Plumbing ------------------------------------------------------------------------------

    def _flush(self) -> None:
        for data in self._protocol.data_to_send():
            if self._writer.is_closing():
                return
            if data:
                self._writer.write(data)
            else:  # the protocol asks for the TCP connection to end
                self._writer.close()

    async def _flush_and_drain(self) -> None:
        self._flush()
        try:
            await asyncio.wait_for(self._writer.drain(), WRITE_STALL_S)
        except TimeoutError:
            self.abort()
        except (ConnectionError, OSError):
            pass

    async def _wait_transport_closed(self) -> None:
        if not self._writer.is_closing():
            self._writer.close()
        with contextlib.suppress(ConnectionError, OSError, TimeoutError):
            await asyncio.wait_for(self._writer.wait_closed(), CLOSE_DEADLINE_S)
