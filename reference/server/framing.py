"""Splitting the inbound byte stream into WebSocket frames (RFC 6455 section 5; spec chapter 02).

Hot path: `websockets`' frame parser and serialiser cost about 11 us per round trip here,
a quarter of the whole server time per message. So the connection splits the byte stream
into complete frames itself and decodes only the common case inline: a complete,
unfragmented, masked TEXT/BINARY frame with no RSV bits, outside a fragmented message, within
the size limit; outputs go out as unmasked single frames once the handshake is done. Every
other frame (control frames, fragments, anything malformed or oversized) is handed, whole
and in order, to `websockets`, which keeps the close handshake, pings and protocol errors.
"""

from __future__ import annotations

from typing import Any, Protocol

from websockets.frames import Opcode
from websockets.protocol import State as WsState
from websockets.server import ServerProtocol

from reference.core.frames import CloseCode

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - websockets built without its C extension
    from websockets.utils import apply_mask

#: Largest inbound message (RT-TRANS-042/043, as fal's runner); above it: 1009 (RT-TRANS-044).
MAX_MESSAGE = 16 * 1024 * 1024

_BINARY = Opcode.BINARY
_TEXT = Opcode.TEXT
_CONT = Opcode.CONT
_CLOSE = Opcode.CLOSE


class FrameHandler(Protocol):
    """What drives a WebSocket session: a realtime session or a raw endpoint."""

    def on_message(self, data: bytes | str) -> None: ...
    def on_close(self) -> None: ...


class FrameReader:
    """Inbound frames of an upgraded connection; mixed into `Connection`."""

    ws: ServerProtocol | None
    handler: FrameHandler | None
    _fast: bool
    _rbuf: bytearray
    _need: int
    _fragments: list[bytes] | None
    _fragment_text: bool

    def flush(self) -> None:
        raise NotImplementedError

    def _receive_fast(self, ws: ServerProtocol, data: bytes) -> None:
        buf = self._rbuf
        if buf:
            buf += data
            if len(buf) < self._need:
                return
            data = bytes(buf)
            buf.clear()
        pos = self._split_frames(ws, data)
        if pos < len(data) and self._fast:
            buf += data[pos:]

    def _split_frames(self, ws: ServerProtocol, data: bytes) -> int:
        """Handle every complete frame in `data`; return where the incomplete tail starts."""
        pos = 0
        end_of_data = len(data)
        while end_of_data - pos >= 2:
            b0 = data[pos]
            b1 = data[pos + 1]
            length = b1 & 0x7F
            head = 2
            if length == 126:
                head = 4
                length = int.from_bytes(data[pos + 2 : pos + 4], "big")
            elif length == 127:
                head = 10
                length = int.from_bytes(data[pos + 2 : pos + 10], "big")
            if end_of_data - pos < head:
                self._need = head
                return pos
            if length > MAX_MESSAGE or not b1 & 0x80:
                # Oversized (1009) or unmasked (1002): websockets fails the connection.
                self._fast = False
                ws.receive_data(data[pos:])
                self._process_frames(ws)
                return end_of_data
            end = pos + head + 4 + length
            if end > end_of_data:
                self._need = end - pos
                return pos
            opcode = b0 & 0x0F
            if b0 & 0xF0 == 0x80 and (opcode == 2 or opcode == 1) and self._fragments is None:
                mask_at = pos + head
                payload = apply_mask(data[mask_at + 4 : end], data[mask_at : mask_at + 4])
                handler = self.handler
                if opcode == 1:
                    try:
                        text = payload.decode()
                    except UnicodeDecodeError:
                        ws.fail(CloseCode.INVALID_DATA, "invalid UTF-8 in a text message")
                        self._fast = False
                        self.flush()
                        return end_of_data
                    if handler is not None:
                        handler.on_message(text)
                elif handler is not None:
                    handler.on_message(payload)
            else:
                ws.receive_data(data[pos:end])
                self._process_frames(ws)
                if ws.state is not WsState.OPEN:
                    self._fast = False
                    ws.receive_data(data[end:])
                    self._process_frames(ws)
                    return end_of_data
            pos = end
        self._need = 2
        return pos

    def _process_frames(self, ws: ServerProtocol) -> None:
        handler = self.handler
        events: list[Any] = ws.events_received()
        for frame in events:
            opcode = frame.opcode
            if frame.fin and (opcode is _BINARY or opcode is _TEXT):
                if opcode is _BINARY:
                    payload: bytes | str = frame.data
                else:
                    try:
                        payload = frame.data.decode()
                    except UnicodeDecodeError:
                        ws.fail(CloseCode.INVALID_DATA, "invalid UTF-8 in a text message")
                        break
                if handler is not None:
                    handler.on_message(payload)
            elif opcode is _BINARY or opcode is _TEXT:
                self._fragments = [frame.data]
                self._fragment_text = opcode is _TEXT
            elif opcode is _CONT and self._fragments is not None:
                self._fragments.append(frame.data)
                if frame.fin:
                    data = b"".join(self._fragments)
                    self._fragments = None
                    if self._fragment_text:
                        try:
                            text = data.decode()
                        except UnicodeDecodeError:
                            ws.fail(CloseCode.INVALID_DATA, "invalid UTF-8 in a text message")
                            break
                        if handler is not None:
                            handler.on_message(text)
                    elif handler is not None:
                        handler.on_message(data)
            elif opcode is _CLOSE and handler is not None:
                self.handler = None
                handler.on_close()  # pending outputs are discarded (RT-LIFE-025)
        self.flush()
