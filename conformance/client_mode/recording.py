"""What one client-mode run saw on the wire and on the adapter's stdout (spec chapter 13)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Frame:
    """One data message the client sent: ``kind`` is ``"text"`` or ``"binary"``."""

    kind: str
    payload: bytes

    def hex(self) -> str:
        """Return the payload as hex, cut to 64 bytes, for failure messages."""
        head = self.payload[:64].hex()
        return head + ("..." if len(self.payload) > 64 else "")


@dataclass
class Handshake:
    """The client's opening HTTP request, as the scripted server received it."""

    path: str
    headers: list[tuple[str, str]]

    @property
    def route(self) -> str:
        """The request path without its query string."""
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        """The query parameters, each with every value given."""
        return parse_qs(urlsplit(self.path).query, keep_blank_values=True)

    def header(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive)."""
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def offers_deflate(self) -> bool:
        """Whether the client offered permessage-deflate."""
        offers = ",".join(self.header("Sec-WebSocket-Extensions")).lower()
        return "permessage-deflate" in offers


@dataclass
class Connection:
    """One WebSocket connection (or refused handshake) from the client under test."""

    handshake: Handshake
    accepted: bool = False
    refused_status: int | None = None
    frames: list[Frame] = field(default_factory=list)
    deflate_negotiated: bool = False
    client_close_code: int | None = None
    client_sent_close: bool = False
    pong_received: bool | None = None


@dataclass(frozen=True)
class TokenCall:
    """One request the fake token REST endpoint received."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive)."""
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json_body(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class Recording:
    """Everything the suite observed during one case run."""

    case: str
    connections: list[Connection] = field(default_factory=list)
    token_calls: list[TokenCall] = field(default_factory=list)
    issued_token: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    bad_lines: list[str] = field(default_factory=list)
    returncode: int | None = None
    killed: bool = False
    stderr: str = ""
    command: str = ""

    @property
    def frames(self) -> list[Frame]:
        """Every data frame the client sent, over all its connections, in order."""
        return [f for c in self.connections for f in c.frames]

    def of(self, kind: str) -> list[dict[str, Any]]:
        """The adapter's events of one kind, in order."""
        return [e for e in self.events if e.get("event") == kind]

    @property
    def outputs(self) -> list[Any]:
        """The ``data`` of every output event, in order, bytes restored."""
        return [decode_bytes(e.get("data")) for e in self.of("output")]

    def summary(self) -> str:
        """A short, readable account of the run for failure messages."""
        lines = [f"case {self.case!r}: command {self.command!r}"]
        if self.command:
            killed = " (killed at the deadline)" if self.killed else ""
            lines.append(f"  exit code {self.returncode}{killed}")
        for i, conn in enumerate(self.connections):
            hs = conn.handshake
            state = "accepted" if conn.accepted else f"refused {conn.refused_status}"
            lines.append(f"  connection {i}: GET {hs.path} ({state})")
            for frame in conn.frames[:8]:
                lines.append(f"    client -> {frame.kind} {frame.hex()}")
            if len(conn.frames) > 8:
                lines.append(f"    ... {len(conn.frames) - 8} more frames")
            lines.append(f"    client close code: {conn.client_close_code}")
        for call in self.token_calls:
            lines.append(f"  token endpoint: {call.method} {call.path} body={call.body[:200]!r}")
        for event in self.events[:20]:
            lines.append(f"  adapter: {_short(event)}")
        for bad in self.bad_lines[:5]:
            lines.append(f"  adapter printed a non-JSON line: {bad[:200]!r}")
        if self.stderr.strip():
            tail = self.stderr.strip().splitlines()[-6:]
            lines.extend(f"  stderr: {line[:200]}" for line in tail)
        return "\n".join(lines)


def _short(event: dict[str, Any]) -> str:
    text = json.dumps(event)
    return text if len(text) <= 200 else text[:200] + "..."


def encode_bytes(value: Any) -> Any:
    """Replace bytes by ``{"$bytes": hex}`` all through ``value`` (the adapter contract)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": bytes(value).hex()}
    if isinstance(value, dict):
        return {k: encode_bytes(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode_bytes(v) for v in value]
    return value


def decode_bytes(value: Any) -> Any:
    """Restore ``{"$bytes": hex}`` to bytes all through ``value`` (the adapter contract)."""
    if isinstance(value, dict):
        if set(value) == {"$bytes"} and isinstance(value["$bytes"], str):
            return bytes.fromhex(value["$bytes"])
        return {k: decode_bytes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_bytes(v) for v in value]
    return value
