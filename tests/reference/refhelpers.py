"""Small helpers for the server tests (raw websockets sync client, no reference client)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import msgpack
from websockets.sync.client import ClientConnection, connect

from reference.server.serve import Server

DEADLINE = 10.0


def open_ws(url: str, **kwargs: Any) -> ClientConnection:
    kwargs.setdefault("compression", None)
    kwargs.setdefault("max_size", None)
    kwargs.setdefault("open_timeout", DEADLINE)
    ws: ClientConnection = connect(url, **kwargs)
    return ws


def pack(value: dict[str, Any]) -> bytes:
    return bytes(msgpack.packb(value))


def frames_until_close(ws: ClientConnection) -> list[Any]:
    """Every message until the server closes: decoded outputs, error dicts."""
    out: list[Any] = []
    for message in ws:  # ends on close
        if isinstance(message, bytes):
            out.append(msgpack.unpackb(message))
        else:
            out.append(json.loads(message))
    return out


def recv(ws: ClientConnection) -> Any:
    message = ws.recv(DEADLINE)
    return msgpack.unpackb(message) if isinstance(message, bytes) else json.loads(message)


def error(code: str) -> dict[str, str]:
    return {"type": "x-fal-error", "error": code}


def is_error(frame: Any, code: str) -> bool:
    return isinstance(frame, dict) and frame.get("type") == "x-fal-error" and frame["error"] == code


@dataclass
class Running:
    """A server running in a background thread."""

    server: Server
    loop: asyncio.AbstractEventLoop
    url: str

    @property
    def http(self) -> str:
        return self.url.replace("ws://", "http://")

    def connection_count(self) -> int:
        return len(self.server.state.connections)
