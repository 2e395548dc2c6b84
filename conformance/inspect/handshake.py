"""The HTTP side of an inspected connection: heads, masked credentials, the upstream request.

Spec chapters 02-transport (paths, query parameters, permessage-deflate) and 03-authentication
(``Authorization: Key ...``, ``fal_jwt_token``): the inspector prints every handshake header but
never a credential, and forwards the request unchanged apart from its target and ``Host``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = [
    "Deflate",
    "Head",
    "Upstream",
    "mask_header",
    "mask_target",
    "negotiated_deflate",
    "parse_head",
    "upstream_head",
]

MAX_HEAD = 64 * 1024
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_SECRET_NAME = re.compile(r"key|token|secret|password|jwt|auth", re.IGNORECASE)
_SAFE_HEADERS = frozenset({"sec-websocket-key", "sec-websocket-accept"})  # nonces, not secrets


@dataclass(frozen=True)
class Head:
    """An HTTP request or response head.

    Attributes:
        start: the request line or status line.
        headers: the header fields in order, names as sent.
    """

    start: str
    headers: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), or None."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def status(self) -> int | None:
        """The status code of a response head (None for a request)."""
        parts = self.start.split(" ", 2)
        return int(parts[1]) if parts[0].startswith("HTTP/") and parts[1].isdigit() else None

    @property
    def is_upgrade(self) -> bool:
        """True for a WebSocket upgrade request."""
        return (self.get("upgrade") or "").lower() == "websocket"

    def encode(self) -> bytes:
        """The head as bytes, ending with the blank line."""
        lines = [self.start, *(f"{k}: {v}" for k, v in self.headers), "", ""]
        return "\r\n".join(lines).encode("latin-1")


def parse_head(data: bytes) -> Head:
    """Parse a head (everything up to and including the blank line)."""
    text = data.decode("latin-1").rstrip("\r\n")
    start, *rest = text.split("\r\n")
    headers = []
    for line in rest:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return Head(start, tuple(headers))


def _mask(value: str) -> str:
    return f"<masked, {len(value)} chars>"


def mask_header(name: str, value: str) -> str:
    """The value of a header as printed: credentials keep their scheme only."""
    lower = name.lower()
    if lower in _SAFE_HEADERS or (lower not in _SECRET_HEADERS and not _SECRET_NAME.search(name)):
        return value
    scheme, sep, secret = value.partition(" ")
    if lower in ("authorization", "proxy-authorization") and sep:
        return f"{scheme} {_mask(secret)}"
    return _mask(value)


def mask_target(target: str) -> str:
    """A request target with every credential-like query value masked (``fal_jwt_token``...)."""
    path, sep, query = target.partition("?")
    if not sep:
        return target
    pairs = []
    for pair in query.split("&"):
        name, eq, value = pair.partition("=")
        pairs.append(f"{name}={_mask(value)}" if eq and _SECRET_NAME.search(name) else pair)
    return f"{path}?{'&'.join(pairs)}"


@dataclass(frozen=True)
class Upstream:
    """Where the relay connects: ``ws://`` or ``wss://``, host, port, a path prefix."""

    tls: bool
    host: str
    port: int
    prefix: str

    @classmethod
    def parse(cls, url: str) -> Upstream:
        """Parse ``ws://HOST:PORT[/prefix]`` or ``wss://...``.

        Raises:
            ValueError: for another scheme or a URL without a host.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"upstream must be ws://HOST:PORT or wss://HOST:PORT, not {url!r}")
        tls = parts.scheme == "wss"
        port = parts.port or (443 if tls else 80)
        return cls(tls, parts.hostname, port, parts.path.rstrip("/"))

    @property
    def netloc(self) -> str:
        """The ``Host`` header value for this upstream."""
        default = 443 if self.tls else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


def upstream_head(request: Head, upstream: Upstream) -> Head:
    """The request as the upstream gets it: prefix + target, ``Host`` rewritten, all else kept."""
    method, target, version = request.start.split(" ", 2)
    start = f"{method} {upstream.prefix}{target} {version}"
    headers = tuple((k, upstream.netloc if k.lower() == "host" else v) for k, v in request.headers)
    return Head(start, headers)


@dataclass(frozen=True)
class Deflate:
    """The permessage-deflate parameters a server accepted (RFC 7692), per direction."""

    client_no_context_takeover: bool
    server_no_context_takeover: bool


def negotiated_deflate(response: Head) -> Deflate | None:
    """The permessage-deflate the 101 response agreed to, or None (RT-TRANS-030)."""
    for _, value in (h for h in response.headers if h[0].lower() == "sec-websocket-extensions"):
        for offer in value.split(","):
            params = [p.strip().lower() for p in offer.split(";")]
            if params[0] == "permessage-deflate":
                return Deflate(
                    "client_no_context_takeover" in params, "server_no_context_takeover" in params
                )
    return None
