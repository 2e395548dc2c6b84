"""The server side of one WebSocket connection after the 101, without I/O (RFC 6455; spec 02, 06).

`WebSocketEndpoint` turns received bytes into whole messages (`str` for text, `bytes` for
binary) and produces the bytes to send: messages, pongs (RT-LIFE-010) and the closing
handshake (RT-LIFE-024). Framing errors close with 1002 (RT-LIFE-022), an invalid UTF-8 text
message with 1007, a message over the size limit with 1009 (RT-TRANS-044). An empty chunk in
`data_to_send()` means "end of our side": the I/O layer half-closes TCP, as a server does
after the closing handshake.
"""

from __future__ import annotations

from dataclasses import dataclass

from reference.core.frames import CloseCode
from reference.core.wsframes import (
    BINARY,
    CLOSE,
    CONT,
    MAX_MESSAGE,
    PING,
    PONG,
    TEXT,
    FrameError,
    FrameParser,
    frame_bytes,
)

#: Close codes a peer may send (RFC 6455 section 7.4); others are a protocol error.
_VALID_CLOSE_CODES = frozenset(
    {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}
)
_NO_STATUS = 1005

#: Most frames one fragmented message may take (RT-SEC-011): empty continuation frames do not
#: count toward the size limit, and 12 M of them took 1 GB and 54 s to reassemble.
MAX_FRAGMENTS = 4096


@dataclass(frozen=True, slots=True)
class CloseReceived:
    """The peer closed (its close frame was answered); `code` 1005 when it sent none."""

    code: int


Received = bytes | str | CloseReceived


class WebSocketEndpoint:
    """Messages in and bytes out for one upgraded server connection."""

    __slots__ = (
        "_fragment_size",
        "_fragment_text",
        "_fragments",
        "_out",
        "_parser",
        "close_sent",
        "eof_sent",
        "max_fragments",
        "pongs",
    )

    def __init__(self, max_size: int = MAX_MESSAGE, max_fragments: int = MAX_FRAGMENTS) -> None:
        self._parser = FrameParser(max_size)
        self.max_fragments = max_fragments
        self._out: list[bytes] = []
        self._fragments: list[bytes] | None = None
        self._fragment_size = 0  # running total: the size check is O(1) per fragment
        self._fragment_text = False
        self.close_sent = False  # no data frame may follow
        self.eof_sent = False  # our side is done; later input is discarded
        # Payloads of received pongs, kept only when a list is set (the heartbeat, RT-EXT-041).
        self.pongs: list[bytes] | None = None

    # -- inbound -----------------------------------------------------------------------
    def receive_data(self, data: bytes) -> list[Received]:
        """Parse `data`; return the messages (and a peer close) it completes, in order."""
        if self.eof_sent:
            return []  # after our end, the peer's bytes are read and discarded
        frames, error = self._parser.feed(data)
        received: list[Received] = []
        try:
            for opcode, fin, payload in frames:
                if opcode == BINARY and fin and self._fragments is None:
                    if not self.close_sent:  # after our close, data is discarded (RFC 5.5.1)
                        received.append(payload)  # the common case, first
                    continue
                item = self._frame(opcode, fin, payload)
                if item is not None and (type(item) is CloseReceived or not self.close_sent):
                    received.append(item)
                if self._ended():
                    return received
        except FrameError as exc:
            error = exc
        if error is not None:
            self.fail(error.code, error.reason)
        return received

    def _ended(self) -> bool:
        return self.eof_sent

    def _frame(self, opcode: int, fin: bool, payload: bytes) -> Received | None:
        if opcode in (BINARY, TEXT):
            if self._fragments is not None:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "expected a continuation frame")
            if fin:
                return _decoded(payload, opcode == TEXT)
            self._fragments = [payload]
            self._fragment_size = len(payload)
            self._fragment_text = opcode == TEXT
            return None
        if opcode == CONT:
            return self._continuation(fin, payload)
        if opcode == PING:
            if not self.close_sent:
                self._out.append(frame_bytes(PONG, payload))  # RT-LIFE-010: same payload
            return None
        if opcode == CLOSE:
            return self._close_received(payload)
        if opcode == PONG and self.pongs is not None:
            self.pongs.append(payload)
        return None  # PONG: nothing else to do

    def _continuation(self, fin: bool, payload: bytes) -> Received | None:
        fragments = self._fragments
        if fragments is None:
            raise FrameError(CloseCode.PROTOCOL_ERROR, "unexpected continuation frame")
        fragments.append(payload)
        if len(fragments) > self.max_fragments:  # RT-SEC-011
            raise FrameError(
                CloseCode.TOO_BIG, f"message of more than {self.max_fragments} fragments"
            )
        self._fragment_size += len(payload)
        size = self._fragment_size
        if size > self._parser.max_size:
            raise FrameError(
                CloseCode.TOO_BIG,
                f"message with {size} bytes exceeds limit of {self._parser.max_size}",
            )
        if not fin:
            return None
        self._fragments = None
        return _decoded(b"".join(fragments), self._fragment_text)

    def _close_received(self, payload: bytes) -> CloseReceived:
        """Answer a close frame with its own payload, then end our side (RT-LIFE-024)."""
        code = _NO_STATUS
        if payload:
            if len(payload) < 2:
                raise FrameError(CloseCode.PROTOCOL_ERROR, "close frame too short")
            code = int.from_bytes(payload[:2], "big")
            if code not in _VALID_CLOSE_CODES and not 3000 <= code < 5000:
                raise FrameError(CloseCode.PROTOCOL_ERROR, f"invalid close code {code}")
            _decoded(payload[2:], True)  # a close reason must be UTF-8 too
        if not self.close_sent:
            self.close_sent = True
            self._out.append(frame_bytes(CLOSE, payload))
        self._send_eof()
        return CloseReceived(code)

    # -- outbound ----------------------------------------------------------------------
    def send_binary(self, data: bytes) -> None:
        """Queue one binary message as a single frame; dropped once closing."""
        if not self.close_sent:
            self._out.append(frame_bytes(BINARY, data))

    def send_text(self, text: str) -> None:
        """Queue one text message as a single frame; dropped once closing."""
        if not self.close_sent:
            self._out.append(frame_bytes(TEXT, text.encode()))

    def send_ping(self, payload: bytes) -> None:
        """Queue a ping (keepalive RT-LIFE-012, heartbeat RT-EXT-041); dropped once closing."""
        if not self.close_sent:
            self._out.append(frame_bytes(PING, payload))

    def send_close(self, code: int, reason: str = "") -> None:
        """Start the closing handshake; the peer's close frame completes it."""
        if not self.close_sent:
            self.close_sent = True
            self._out.append(frame_bytes(CLOSE, code.to_bytes(2, "big") + reason.encode()))

    def fail(self, code: int, reason: str) -> None:
        """Close with `code` at once and end our side (a protocol violation)."""
        self.send_close(code, reason[:120])
        self._send_eof()

    def receive_eof(self) -> None:
        """The peer half-closed TCP: nothing more will arrive; end our side too."""
        self._send_eof()

    def _send_eof(self) -> None:
        if not self.eof_sent:
            self.eof_sent = True
            self.close_sent = True
            self._out.append(b"")

    def data_to_send(self) -> list[bytes]:
        """Bytes to write, in order; an empty chunk means half-close TCP."""
        out = self._out
        if not out:
            return out
        self._out = []
        return out


def _decoded(payload: bytes, text: bool) -> bytes | str:
    """The one place a text payload is checked for UTF-8 (close 1007, RFC 6455 section 8.1)."""
    if not text:
        return payload
    try:
        return payload.decode()
    except UnicodeDecodeError:
        raise FrameError(CloseCode.INVALID_DATA, "invalid UTF-8 in a text message") from None
