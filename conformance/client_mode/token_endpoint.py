"""A fake token REST endpoint on 127.0.0.1 for clients that exchange a key for a token (ch. 03).

It answers ``POST /tokens/`` with a token, as a JSON string or as ``{"token": ...}``, and
records every request so the checks can judge it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from conformance.client_mode.recording import Recording, TokenCall

MAX_BODY = 1024 * 1024


class TokenEndpoint:
    """A minimal HTTP/1.1 server that issues one fixed token and records the calls."""

    def __init__(self, recording: Recording, token: str, *, shape: str = "string") -> None:
        self._recording = recording
        self._token = token
        self._shape = shape
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        """The REST base URL given to the client as RT_REST_URL."""
        assert self._server is not None, "endpoint not started"
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def start(self) -> None:
        """Bind 127.0.0.1 on a free port."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def stop(self) -> None:
        """Stop accepting and close the listening socket."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                if not await self._one_request(reader, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, TimeoutError):
            pass
        finally:
            writer.close()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10.0)
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers.append((name.strip(), value.strip()))
        size = 0
        for name, value in headers:
            if name.lower() == "content-length":
                size = min(int(value), MAX_BODY)
        body = await asyncio.wait_for(reader.readexactly(size), 10.0) if size else b""
        call = TokenCall(method, target, headers, body)
        self._recording.token_calls.append(call)
        if self._shape == "fail":
            status, out = "401 Unauthorized", json.dumps({"detail": "key not accepted"}).encode()
        elif method == "POST" and target.rstrip("/").endswith("/tokens"):
            payload = self._token if self._shape == "string" else {"token": self._token}
            status, out = "200 OK", json.dumps(payload).encode()
        else:
            status, out = "404 Not Found", json.dumps({"detail": "not found"}).encode()
        writer.write(
            f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(out)}\r\n\r\n".encode()
            + out
        )
        await writer.drain()
        return all(v.lower() != "close" for k, v in headers if k.lower() == "connection")
