"""Blocking, gevent-friendly clients timing one round trip each (spec 04-messages, 09-raw, 10-http).

Locust runs users as gevent greenlets and monkey-patches the standard library, so blocking
sockets cooperate; an asyncio client would not. WebSockets use websocket-client (TCP_NODELAY
on, no permessage-deflate, which RT-TRANS allows a client to omit); HTTP uses http.client
with one keep-alive connection. Every round trip is timed with `time.perf_counter_ns`, from
just before the send to the arrival of the reply, with encoding and decoding outside the
timed region. Failures raise `RoundTripError` whose text is the reason Locust groups them by.
This module imports nothing from Locust and has no side effects.
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import msgpack
import websocket

STATUS_NORMAL = 1000
PADDING_KEY = "rt_load_padding"


class RoundTripError(Exception):
    """A request that did not get its reply; `str()` is the reason shown in Locust's failures."""

    def __init__(self, reason: str, *, connection_lost: bool = True) -> None:
        super().__init__(reason)
        self.connection_lost = connection_lost
        """True when the connection cannot be reused (the user reconnects first)."""


@dataclass(frozen=True)
class Reply:
    """One reply: its payload, whether it was a binary frame, and the timed round trip."""

    payload: bytes
    binary: bool
    elapsed_ns: int

    @property
    def elapsed_ms(self) -> float:
        """The round trip in milliseconds, the unit of Locust's `response_time`."""
        return self.elapsed_ns / 1e6


def http_url(ws_url: str) -> str:
    """Map a ws:// or wss:// base URL to the http:// or https:// one of the same server."""
    parts = urllib.parse.urlsplit(ws_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    return urllib.parse.urlunsplit((scheme, parts.netloc, parts.path, "", ""))


def join_path(base_url: str, path: str) -> str:
    """Append an endpoint path (`/realtime`) to a base URL that may end in a gateway prefix."""
    parts = urllib.parse.urlsplit(base_url)
    full = parts.path.rstrip("/") + path
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, full, parts.query, ""))


class WsSession:
    """One WebSocket connection to a realtime or raw endpoint, timing each request/reply."""

    def __init__(self, url: str, timeout_s: float) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._ws: websocket.WebSocket | None = None

    @property
    def connected(self) -> bool:
        """True while a connection is open."""
        return self._ws is not None

    def connect(self) -> int:
        """Open the connection (TCP + upgrade) and return how long it took in nanoseconds."""
        self.close()
        started = time.perf_counter_ns()
        try:
            ws = websocket.create_connection(
                self.url, timeout=self.timeout_s, skip_utf8_validation=True
            )
        except websocket.WebSocketBadStatusException as exc:
            raise RoundTripError(f"handshake refused: HTTP {exc.status_code}") from exc
        except websocket.WebSocketTimeoutException as exc:
            raise RoundTripError(f"handshake timed out after {self.timeout_s:g} s") from exc
        except (OSError, websocket.WebSocketException) as exc:
            raise RoundTripError(f"connect failed: {type(exc).__name__}: {exc}") from exc
        elapsed = time.perf_counter_ns() - started
        self._ws = ws
        return elapsed

    def round_trip(self, frame: bytes, *, binary: bool = True) -> Reply:
        """Send one frame and wait for the first data reply, skipping x-fal-message frames."""
        ws = self._ws
        if ws is None:
            raise RoundTripError("not connected")
        opcode = websocket.ABNF.OPCODE_BINARY if binary else websocket.ABNF.OPCODE_TEXT
        started = time.perf_counter_ns()
        try:
            ws.send(frame, opcode)
            while True:
                op, data = ws.recv_data()
                if op == websocket.ABNF.OPCODE_BINARY:
                    return Reply(data, True, time.perf_counter_ns() - started)
                if op == websocket.ABNF.OPCODE_TEXT:
                    if _is_control_frame_to_skip(data):
                        continue  # RT-CTRL: clients ignore x-fal-message and unknown types
                    return Reply(data, False, time.perf_counter_ns() - started)
                if op == websocket.ABNF.OPCODE_CLOSE:
                    raise RoundTripError(f"closed by server before the reply: {_close_text(data)}")
        except websocket.WebSocketTimeoutException as exc:
            self.abort()
            raise RoundTripError(f"no reply within {self.timeout_s:g} s") from exc
        except websocket.WebSocketConnectionClosedException as exc:
            self.abort()
            raise RoundTripError("connection closed without a close frame") from exc
        except RoundTripError:
            self.abort()
            raise
        except (OSError, websocket.WebSocketException) as exc:
            self.abort()
            raise RoundTripError(f"connection lost: {type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        """Close cleanly with 1000 (waiting briefly for the server's close frame)."""
        ws, self._ws = self._ws, None
        if ws is None:
            return
        try:
            ws.close(status=STATUS_NORMAL, timeout=min(self.timeout_s, 2.0))
        except (OSError, websocket.WebSocketException):
            ws.shutdown()  # type: ignore[no-untyped-call]

    def abort(self) -> None:
        """Drop the connection without a closing handshake (after a failure)."""
        ws, self._ws = self._ws, None
        if ws is not None:
            ws.shutdown()  # type: ignore[no-untyped-call]


def realtime_request(prompt: str) -> bytes:
    """Encode a conformance-app input (RT-CONF: {"prompt": s} -> {"output": s})."""
    packed: bytes = msgpack.packb({"prompt": prompt})
    return packed


def check_realtime_reply(reply: Reply, prompt: str) -> None:
    """Raise RoundTripError unless the reply is the conformance app's output for `prompt`."""
    if not reply.binary:
        # After an error frame a server may end the session (fal closes 1000; TIMEOUT always
        # ends it, RT-LIFE), so the user reconnects rather than fail its next request too.
        raise RoundTripError(_text_frame_reason(reply.payload))
    try:
        output = msgpack.unpackb(reply.payload)
    except (ValueError, msgpack.UnpackException) as exc:
        raise RoundTripError(f"reply is not msgpack: {exc}", connection_lost=False) from exc
    if not isinstance(output, dict) or output.get("output") != prompt:
        raise RoundTripError("reply is not {'output': prompt}", connection_lost=False)


def sample_request(sample_input: dict[str, Any], size: int = 0) -> bytes:
    """Encode a sample input of the user's own app; grown to `size` bytes by an unused key.

    The padding key relies on RT-MSG-014 (apps pass over keys they do not use).
    """
    if size <= 0:
        return bytes(msgpack.packb(sample_input, use_bin_type=True))
    base = bytes(msgpack.packb({**sample_input, PADDING_KEY: ""}, use_bin_type=True))
    n = max(size - len(base) - 4, 0)  # the empty str (a0) becomes a str32 header + n bytes
    return base[:-1] + b"\xdb" + n.to_bytes(4, "big") + b"x" * n


def check_sample_reply(reply: Reply, expected: dict[str, Any] | None) -> None:
    """Raise RoundTripError unless the reply is one msgpack map (equal to `expected` if given)."""
    if not reply.binary:
        raise RoundTripError(_text_frame_reason(reply.payload))
    try:
        output = msgpack.unpackb(reply.payload)
    except (ValueError, msgpack.UnpackException) as exc:
        raise RoundTripError(f"reply is not msgpack: {exc}", connection_lost=False) from exc
    if not isinstance(output, dict):
        raise RoundTripError("reply is not a msgpack map", connection_lost=False)
    if expected is not None and output != expected:
        raise RoundTripError("reply is not the declared output", connection_lost=False)


def check_echo_reply(reply: Reply, sent: bytes) -> None:
    """Raise RoundTripError unless the raw endpoint echoed the binary frame (RT-RAW)."""
    if not reply.binary or reply.payload != sent:
        raise RoundTripError("raw echo reply differs from the frame sent", connection_lost=False)


def _is_control_frame_to_skip(data: bytes) -> bool:
    frame = _parse_json(data)
    return isinstance(frame, dict) and frame.get("type") != "x-fal-error"


def _text_frame_reason(data: bytes) -> str:
    frame = _parse_json(data)
    if isinstance(frame, dict) and frame.get("type") == "x-fal-error":
        return f"x-fal-error {frame.get('error')}: {frame.get('reason')}"
    return "unexpected text frame instead of a binary output"


def _parse_json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def _close_text(data: bytes) -> str:
    if len(data) >= 2:
        code = int.from_bytes(data[:2], "big")
        reason = data[2:].decode("utf-8", "replace")
        return f"close {code}" + (f" {reason}" if reason else "")
    return "close without a status code"


class HttpSession:
    """One keep-alive HTTP/1.1 connection posting conformance-app inputs to `POST /`."""

    def __init__(self, base_url: str, timeout_s: float) -> None:
        parts = urllib.parse.urlsplit(http_url(base_url))
        self.path = (parts.path.rstrip("/") or "") + "/"
        self.timeout_s = timeout_s
        conn_cls = (
            http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        )
        self._conn = conn_cls(parts.hostname or "127.0.0.1", parts.port, timeout=timeout_s)

    def post(self, body: bytes) -> Reply:
        """POST one JSON body and read the whole response (RT-HTTP)."""
        started = time.perf_counter_ns()
        try:
            self._conn.request(
                "POST", self.path, body=body, headers={"Content-Type": "application/json"}
            )
            response = self._conn.getresponse()
            payload = response.read()
        except TimeoutError as exc:
            self._conn.close()
            raise RoundTripError(f"no response within {self.timeout_s:g} s") from exc
        except (OSError, http.client.HTTPException) as exc:
            self._conn.close()
            raise RoundTripError(f"connection lost: {type(exc).__name__}: {exc}") from exc
        elapsed = time.perf_counter_ns() - started
        if response.status != 200:
            raise RoundTripError(f"HTTP {response.status}", connection_lost=False)
        return Reply(payload, True, elapsed)

    def close(self) -> None:
        """Close the keep-alive connection."""
        self._conn.close()
