"""Traced connections to the target (spec chapters 02-transport, 04-messages, 05-control-frames).

`Target` opens WebSocket connections with the `websockets` library, raw TCP connections for
handshake and frame-level cases, and HTTP requests; every frame the target sends is validated
(msgpack profile and JSON Schemas) and every frame in either direction lands in the check's
trace. Waits have deadlines scaled by the timeout multiplier; nothing sleeps.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import socket
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import msgpack
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from conformance import schemas
from conformance.failures import ConformanceFailure, HarnessError
from conformance.rawconn import HttpResponse, RawConn
from conformance.target import TargetConfig
from conformance.trace import Recorder
from conformance.validation import BINARY_CONTROL_REQS, OUTPUT_MAP_REQS, validate_control

DEFAULT_WAIT = 5.0
# Who is to blame for an output that never came, by conformance-app path (spec 13.2): only a
# plain unary endpoint owes one output per input (RT-MSG-021).
MISSING_OUTPUT_BLAME: dict[str, tuple[str, ...]] = {
    "/realtime/stream": ("RT-STREAM-001", "RT-CONF-021"),
    "/realtime/bidi": ("RT-STREAM-006", "RT-CONF-020"),
    "/realtime/collect": ("RT-STREAM-005", "RT-CONF-020"),
    "/realtime/fanout": ("RT-STREAM-011", "RT-CONF-020"),
    "/realtime/latest": ("RT-FLOW-003", "RT-CONF-020"),
    "/realtime/batch": ("RT-FLOW-010", "RT-CONF-020"),
    "/realtime/batch-timeout": ("RT-FLOW-010", "RT-CONF-020"),
    "/realtime/webrtc": ("RT-CONF-020",),
}


@dataclass(frozen=True)
class Received:
    """One thing the server sent on a connection: a data frame or the end of the connection."""

    kind: str  # "binary", "text" or "close"
    data: bytes = b""
    code: int | None = None  # close code; None when the TCP connection ended without a close frame
    reason: str = ""
    value: Any = None  # decoded msgpack (binary) or JSON (text); None when it is neither

    @property
    def is_error_frame(self) -> bool:
        """A TEXT x-fal-error control frame."""
        return (
            self.kind == "text"
            and isinstance(self.value, dict)
            and self.value.get("type") == "x-fal-error"
        )

    @property
    def is_message_frame(self) -> bool:
        """A TEXT x-fal-message control frame."""
        return (
            self.kind == "text"
            and isinstance(self.value, dict)
            and self.value.get("type") == "x-fal-message"
        )

    def summary(self) -> str:
        """A short description for assertion messages."""
        if self.kind == "close":
            return (
                "connection closed without a close frame"
                if self.code is None
                else f"close {self.code} {self.reason!r}"
            )
        shown = self.value if self.value is not None else self.data[:40]
        return f"{self.kind.upper()} {shown!r}"


class Conn:
    """One WebSocket connection made with `websockets`, traced and validated."""

    def __init__(
        self, ws: ClientConnection, target: Target, conn_id: int, validate: bool, path: str = ""
    ) -> None:
        self.ws = ws
        self.path = path
        self._target = target
        self._id = conn_id
        self._validate = validate
        self.closed: Received | None = None

    # -- sending ---------------------------------------------------------------------------
    def send_msgpack(self, value: Any) -> None:
        """Send one BINARY message holding `value` packed as msgpack."""
        self.send_bytes(msgpack.packb(value, use_bin_type=True))

    def send_bytes(self, data: bytes) -> None:
        """Send one BINARY message with exactly these bytes."""
        self._target.recorder.record(self._id, "C->S", "BINARY", data)
        self._send(data)

    def send_text(self, text: str) -> None:
        """Send one TEXT message."""
        self._target.recorder.record(self._id, "C->S", "TEXT", text.encode())
        self._send(text)

    def _send(self, message: str | bytes) -> None:
        # A server may close right after an error frame (allowed: RT-CTRL-010); the close
        # then shows up in the next recv() instead of failing the send.
        try:
            self.ws.send(message)
        except ConnectionClosed:
            self._target.recorder.note(self._id, "not sent: the connection is closed")

    def abort(self) -> None:
        """Drop the TCP connection at once (unblocks a send stuck on a full socket)."""
        self._target.recorder.note(self._id, "client drops the TCP connection")
        with contextlib.suppress(OSError):
            self.ws.socket.shutdown(socket.SHUT_RDWR)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection from the client side."""
        if self.closed is None:
            self._target.recorder.record(
                self._id, "C->S", "CLOSE", code.to_bytes(2, "big") + reason.encode()
            )
        self.ws.close(code, reason)

    # -- receiving -------------------------------------------------------------------------
    def recv(self, timeout: float = DEFAULT_WAIT) -> Received:
        """The next frame (or the close), waiting at most `timeout` × multiplier seconds."""
        if self.closed is not None:
            return self.closed
        wait = self._target.scale(timeout)
        try:
            message = self.ws.recv(timeout=wait)
        except TimeoutError:
            self._target.recorder.note(self._id, f"nothing received within {wait:.2f}s")
            raise ConformanceFailure(f"the server sent nothing within {wait:.2f}s") from None
        except ConnectionClosed as exc:
            return self._on_close(exc)
        if isinstance(message, str):
            return self._on_data("text", message.encode())
        return self._on_data("binary", bytes(message))

    def _on_close(self, exc: ConnectionClosed) -> Received:
        rcvd = exc.rcvd
        if rcvd is None:
            self._target.recorder.record(
                self._id, "S->C", "TCP", note="connection ended without a close frame"
            )
            self.closed = Received("close")
        else:
            payload = (
                rcvd.code.to_bytes(2, "big") + rcvd.reason.encode() if rcvd.code != 1005 else b""
            )
            self._target.recorder.record(self._id, "S->C", "CLOSE", payload)
            self.closed = Received("close", payload, code=rcvd.code, reason=rcvd.reason)
        return self.closed

    def _on_data(self, kind: str, data: bytes) -> Received:
        self._target.recorder.record(self._id, "S->C", kind.upper(), data)
        value: Any = None
        if kind == "binary":
            try:
                value = schemas.decode_profile(data)
            except schemas.ProfileError as exc:
                if self._validate:
                    raise ConformanceFailure(
                        f"the server sent a BINARY message outside the msgpack profile: {exc}",
                        (exc.req,),
                    ) from None
            if self._validate and not isinstance(value, dict):
                raise ConformanceFailure(
                    f"server output is not a msgpack map: {value!r}", OUTPUT_MAP_REQS
                )
            if self._validate and value.get("type") in ("x-fal-error", "x-fal-message"):
                raise ConformanceFailure(
                    f"a control frame was sent as a BINARY msgpack message: {value!r}",
                    BINARY_CONTROL_REQS,
                )
        else:
            try:
                value = json.loads(data.decode("utf-8"))
            except ValueError:
                value = None
            if self._validate:
                validate_control(value, data)
        return Received(kind, data, value=value)

    def recv_data(self, timeout: float = DEFAULT_WAIT) -> Received:
        """The next frame that is not an x-fal-message (clients ignore those: spec 05)."""
        while True:
            frame = self.recv(timeout)
            if not frame.is_message_frame:
                return frame

    def recv_output(
        self,
        timeout: float = DEFAULT_WAIT,
        schema: str | None = "conformance-output",
        missing: tuple[str, ...] | None = None,
    ) -> dict[str, Any]:
        """The next output: a BINARY msgpack map valid against the conformance app's schema.

        When none arrives in time, the failure blames `missing` (by default the endpoint's own
        rule: RT-MSG-021 on a unary endpoint, MISSING_OUTPUT_BLAME elsewhere).
        """
        if missing is None:
            missing = MISSING_OUTPUT_BLAME.get(self.path, ("RT-MSG-021",))
        try:
            frame = self.recv_data(timeout)
        except ConformanceFailure as exc:
            if not exc.reqs:
                exc.reqs = missing
            raise
        if frame.kind != "binary":
            raise ConformanceFailure(f"expected an output (BINARY msgpack), got {frame.summary()}")
        problem = schemas.check(schema, frame.value) if schema else None
        if problem and self._validate:
            # The app's answer shape is RT-CONF-010 (/realtime) and RT-CONF-020 (the feature
            # rows), whatever check was running when it broke.
            raise ConformanceFailure(
                f"output does not match the conformance app's output schema: {problem}",
                ("RT-CONF-010", "RT-CONF-020"),
            )
        assert isinstance(frame.value, dict)
        return frame.value

    def recv_error(self, timeout: float = DEFAULT_WAIT) -> dict[str, Any]:
        """The next frame, which must be an x-fal-error control frame."""
        frame = self.recv_data(timeout)
        if not frame.is_error_frame:
            raise ConformanceFailure(f"expected an x-fal-error TEXT frame, got {frame.summary()}")
        assert isinstance(frame.value, dict)
        return frame.value

    def recv_close(self, timeout: float = DEFAULT_WAIT) -> Received:
        """Wait for the end of the connection; any data frame before it is a failure."""
        frame = self.recv_data(timeout)
        if frame.kind != "close":
            raise ConformanceFailure(f"expected the server to close, got {frame.summary()}")
        return frame

    def collect(self, until_close: bool = True, timeout: float = DEFAULT_WAIT) -> list[Received]:
        """Every frame until the close (x-fal-message frames skipped); the close is last."""
        frames = []
        while True:
            frame = self.recv_data(timeout)
            frames.append(frame)
            if frame.kind == "close" or not until_close:
                return frames


class Target:
    """The server under test, as one check sees it (its trace included)."""

    def __init__(self, config: TargetConfig, recorder: Recorder) -> None:
        self.config = config
        self.recorder = recorder

    @property
    def features(self) -> frozenset[str]:
        """The optional features the target declared."""
        return self.config.features

    def scale(self, seconds: float) -> float:
        """A deadline scaled by --timeout-multiplier."""
        return seconds * self.config.timeout_multiplier

    # -- URLs ------------------------------------------------------------------------------
    def path(self, path: str, *, gateway: bool = False) -> str:
        """A conformance-app path on the target (under /{owner}/{app} when `gateway`)."""
        if gateway:
            path = f"/{self.config.owner}/{self.config.app}{path}"
        return self.config.prefix + path

    def ws_url(
        self, path: str, query: dict[str, str] | None = None, *, gateway: bool = False
    ) -> str:
        """The WebSocket URL of `path`."""
        parts = urllib.parse.urlsplit(self.config.url)
        q = urllib.parse.urlencode(query or {})
        return urllib.parse.urlunsplit(
            (parts.scheme, parts.netloc, self.path(path, gateway=gateway), q, "")
        )

    def auth_headers(self, auth: bool = True) -> dict[str, str]:
        """The credential headers for a target that declares a key (RT auth: `Key <k>`)."""
        if auth and self.config.key:
            return {"Authorization": f"Key {self.config.key}"}
        return {}

    # -- WebSocket -------------------------------------------------------------------------
    @contextmanager
    def connect(
        self,
        path: str = "/realtime",
        *,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
        gateway: bool = False,
        compression: str | None = None,
        validate: bool = True,
        max_size: int | None = None,
        rcvbuf: int | None = None,
    ) -> Iterator[Conn]:
        """Open a WebSocket connection to `path`; close it when the block ends."""
        url = self.ws_url(path, query, gateway=gateway)
        conn_id = self.recorder.new_conn(
            f"connect {url}" + (" (permessage-deflate offered)" if compression else "")
        )
        all_headers = {**self.auth_headers(auth), **(headers or {})}
        sock = None
        if rcvbuf is not None:  # a small receive buffer makes the server's sends block sooner
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.settimeout(self.scale(DEFAULT_WAIT))
            sock.connect(self.config.host_port)
            sock.settimeout(None)
        try:
            ws = connect(
                url,
                sock=sock,
                additional_headers=all_headers,
                compression=compression,
                max_size=max_size,
                open_timeout=self.scale(DEFAULT_WAIT),
                close_timeout=self.scale(2.0),
                ping_interval=None,
                user_agent_header="rt-conformance",
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            self.recorder.record(conn_id, "S->C", "HTTP", note=f"handshake refused: HTTP {status}")
            raise ConformanceFailure(
                f"the server refused the WebSocket handshake to {path}: HTTP {status}",
                self._refusal_blame(url, all_headers, compression)
                if auth and not (gateway or headers or query) and path in ("/realtime", "/echo")
                else (),
            ) from None
        except (OSError, TimeoutError) as exc:
            self.recorder.note(conn_id, f"connect failed: {exc!r}")
            raise HarnessError(f"cannot connect to {url}: {exc!r}") from exc
        self.recorder.record(conn_id, "S->C", "HTTP", note="101 Switching Protocols")
        with ws:
            conn = Conn(ws, self, conn_id, validate, path)
            try:
                yield conn
            except BaseException:
                # The check failed: drop TCP first, so a send blocked in another thread cannot
                # hold the close handshake (and the run) forever.
                conn.abort()
                raise
            self.recorder.note(conn_id, "client closes")

    def _refusal_blame(
        self, url: str, headers: dict[str, str], compression: str | None
    ) -> tuple[str, ...]:
        """Which rule a refused handshake to an existing endpoint breaks.

        Without permessage-deflate offered, a retry that offers it tells RT-TRANS-030 (serve
        clients that do not offer it) from a plain refusal (RT-TRANS-001).
        """
        if compression is None:
            try:
                with connect(url, additional_headers=headers, open_timeout=self.scale(2.0)):
                    return ("RT-TRANS-030",)
            except (InvalidStatus, OSError, TimeoutError):
                pass
        return ("RT-TRANS-001",)

    def handshake(
        self,
        path: str,
        *,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        auth: bool = True,
        gateway: bool = False,
        rcvbuf: int | None = None,
    ) -> RawConn:
        """Send an upgrade request on a raw socket; return it with the status the server gave."""
        host, port = self.config.host_port
        target_path = self.path(path, gateway=gateway)
        if query:
            target_path += "?" + urllib.parse.urlencode(query)
        conn_id = self.recorder.new_conn(f"raw connect {host}:{port} GET {target_path}")
        key = base64.b64encode(os.urandom(16)).decode()
        all_headers = {
            "Host": f"{host}:{port}",
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": key,
            "Sec-WebSocket-Version": "13",
            **self.auth_headers(auth),
            **(headers or {}),
        }
        request = (
            f"GET {target_path} HTTP/1.1\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in all_headers.items())
            + "\r\n"
        )
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if rcvbuf is not None:  # a small receive buffer makes the server's sends block
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.settimeout(self.scale(DEFAULT_WAIT))
            sock.connect((host, port))
        except OSError as exc:
            raise HarnessError(f"cannot connect to {host}:{port}: {exc!r}") from exc
        sock.sendall(request.encode())
        self.recorder.record(conn_id, "C->S", "HTTP", note=f"GET {target_path} (upgrade)")
        buf = b""
        deadline = time.monotonic() + self.scale(DEFAULT_WAIT)
        while b"\r\n\r\n" not in buf:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                sock.close()
                raise ConformanceFailure(
                    f"no HTTP response to the upgrade request for {target_path}"
                )
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                break
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        try:
            status = int(status_line.split()[1])
        except (IndexError, ValueError):
            sock.close()
            raise ConformanceFailure(
                f"no valid HTTP status line in the handshake response: {status_line!r}"
            ) from None
        self.recorder.record(conn_id, "S->C", "HTTP", note=status_line)
        return RawConn(sock, self, conn_id, status, head.decode("latin-1"), rest)

    # -- HTTP ------------------------------------------------------------------------------
    def http(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw_body: bytes | None = None,
        auth: bool = True,
    ) -> HttpResponse:
        """One HTTP request to the target (JSON body)."""
        host, port = self.config.host_port
        conn_id = self.recorder.new_conn(f"http {method} {self.path(path)}")
        payload = (
            raw_body
            if raw_body is not None
            else (json.dumps(body).encode() if body is not None else None)
        )
        headers = {"Content-Type": "application/json", **self.auth_headers(auth)}
        cls = (
            http.client.HTTPSConnection
            if self.config.url.startswith("wss")
            else http.client.HTTPConnection
        )
        client = cls(host, port, timeout=self.scale(DEFAULT_WAIT * 2))
        try:
            self.recorder.record(
                conn_id,
                "C->S",
                "HTTP",
                payload or b"",
                note=f"{method} {self.path(path)} {(payload or b'')[:80]!r}",
            )
            client.request(method, self.path(path), body=payload, headers=headers)
            resp = client.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise ConformanceFailure(f"HTTP {method} {path} failed: {exc!r}") from None
        finally:
            client.close()
        self.recorder.record(conn_id, "S->C", "HTTP", data, note=f"{resp.status} {data[:80]!r}")
        return HttpResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
