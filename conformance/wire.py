"""The target as a check sees it: URLs, credentials and traced connections (spec chapter 02).

`Target` opens WebSocket connections with the `websockets` library (`conformance.wsconn`), raw
TCP connections for handshake and frame-level cases (`conformance.rawconn`) and HTTP requests
(`conformance.httpconn`); each gets the check's recorder and the run's deadline scaling. Checks
import `Conn`, `Received` and `Target` from here.
"""

from __future__ import annotations

import json
import socket
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from conformance import httpconn, rawconn
from conformance.failures import ConformanceFailure, HarnessError
from conformance.httpconn import HttpResponse
from conformance.rawconn import DEFAULT_WAIT, RawConn
from conformance.target import TargetConfig
from conformance.trace import Recorder
from conformance.wsconn import Conn, Received

__all__ = ["DEFAULT_WAIT", "Conn", "HttpResponse", "Query", "RawConn", "Received", "Target"]

#: A handshake query: a mapping, or pairs when a parameter is repeated (RT-EXT-009).
Query = dict[str, str] | list[tuple[str, str]]


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

    def ws_url(self, path: str, query: Query | None = None, *, gateway: bool = False) -> str:
        """The WebSocket URL of `path`; a list of pairs may repeat a parameter."""
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
        query: Query | None = None,
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
            conn = Conn(ws, self.recorder, self.scale, conn_id, validate, path)
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
        target_path = self.path(path, gateway=gateway)
        if query:
            target_path += "?" + urllib.parse.urlencode(query)
        all_headers = {**self.auth_headers(auth), **(headers or {})}
        return rawconn.upgrade(
            self.config.host_port, target_path, all_headers, self.recorder, self.scale, rcvbuf
        )

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
        payload = (
            raw_body
            if raw_body is not None
            else (json.dumps(body).encode() if body is not None else None)
        )
        headers = {"Content-Type": "application/json", **self.auth_headers(auth)}
        return httpconn.request(
            self.config.host_port,
            self.config.url.startswith("wss"),
            method,
            self.path(path),
            payload,
            headers,
            self.recorder,
            self.scale,
        )
