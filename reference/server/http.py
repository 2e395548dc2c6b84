"""HTTP pieces of the server: requests, responses, routing and auth (spec chapters 02, 03, 10).

Why httptools under our own asyncio protocol: `websockets`' server parses only GET requests,
and the reference answers `POST /` and `GET /health` on the WebSocket port. Measured here
(100-byte-class requests, CPython 3.11): httptools parses an upgrade request in 5 us, h11 in
75 us, and `websockets`' own handshake (parse + accept + response) costs 178 us. httptools is
the C parser uvicorn uses; after parsing we hand the request to `websockets`' sans-I/O
`ServerProtocol.accept`, so the handshake rules stay `websockets`'; frames after the 101 are
the core's (`reference/core/websocket.py`).
"""

from __future__ import annotations

import http
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from reference.core.session import SessionConfig
from reference.tokens import TokenCheck, TokenSigner, key_matches


@dataclass(slots=True)
class Request:
    """One parsed HTTP request (the head, and the body once complete)."""

    method: str
    target: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    keep_alive: bool = True  # read from the parser when the request completes

    @property
    def path(self) -> str:
        return unquote(urlsplit(self.target).path) or "/"

    @property
    def query(self) -> dict[str, str]:
        """Query parameters; unknown ones are ignored by the caller (RT-TRANS-020)."""
        return dict(parse_qsl(urlsplit(self.target).query, keep_blank_values=True))

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


def response(
    status: int,
    body: Any = None,
    *,
    keep_alive: bool = True,
    extra: tuple[tuple[str, str], ...] = (),
) -> bytes:
    """Serialise an HTTP/1.1 response with a JSON body (or none).

    Every 401 names the `Key` scheme in `WWW-Authenticate` (RT-AUTH-014, RFC 9110 11.6.1).
    """
    payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
    phrase = http.HTTPStatus(status).phrase
    lines = [f"HTTP/1.1 {status} {phrase}", f"content-length: {len(payload)}"]
    if body is not None:
        lines.append("content-type: application/json")
    lines.append("connection: keep-alive" if keep_alive else "connection: close")
    if status == 401:
        lines.append("www-authenticate: Key")
    lines.extend(f"{k}: {v}" for k, v in extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


def parse_max_buffering(query: dict[str, str]) -> int | None:
    """`max_buffering` (1..60) is accepted; a malformed value is ignored, never refused."""
    raw = query.get("max_buffering")
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if 1 <= value <= 60 else None


# -- auth --------------------------------------------------------------------------------
class Auth:
    """Credential checks before the upgrade (spec chapter 03-authentication).

    Accepted: `Authorization: Key <key>`, `Authorization: Bearer <token>`, or the query
    parameter `fal_jwt_token=<token>`, where a token is one issued by `POST /tokens/` (or the
    key itself). No credential -> 401; a credential that is not accepted -> 403. Keys are
    compared as bytes in constant time, so a non-ASCII credential is just a wrong one
    (RT-SEC-031/032); tokens are signed with a random per-process secret, carry their own
    expiry and `allowed_apps` (RT-SEC-007, RT-SEC-033: `reference/tokens.py`).
    """

    def __init__(self, key: str | None, secret: bytes | None = None) -> None:
        self.key = key
        self._signer = TokenSigner(secret)

    @property
    def required(self) -> bool:
        return self.key is not None

    def issue(self, allowed_apps: list[str] | None = None, expiration: object = None) -> str:
        """A token for `allowed_apps` (None: any app) living `token_expiration` seconds."""
        return self._signer.mint(allowed_apps, expiration, time.time())

    def _token_ok(self, token: str, app: str | None) -> bool:
        if self.key is not None and key_matches(token, self.key):
            return True
        return self._signer.verify(token, app, time.time()) is TokenCheck.VALID

    def check(self, request: Request) -> int | None:
        """None when allowed; otherwise the HTTP status to refuse with (401 or 403)."""
        if self.key is None:
            return None
        app = app_alias(request.path)
        token = request.query.get("fal_jwt_token")
        if token is not None:
            return None if self._token_ok(token, app) else 403
        header = request.header("authorization")
        if header is None:
            return 401
        scheme, _, cred = header.strip().partition(" ")
        cred = cred.strip()
        if scheme.lower() == "key":
            return None if key_matches(cred, self.key) else 403
        if scheme.lower() == "bearer":
            return None if self._token_ok(cred, app) else 403
        return 403

    def check_key(self, request: Request) -> int | None:
        """The token endpoint takes only `Authorization: Key <key>` (when a key is set)."""
        if self.key is None:
            return None
        header = request.header("authorization")
        if header is None:
            return 401
        scheme, _, cred = header.strip().partition(" ")
        # Constant time on bytes (RT-SEC-032), never `==` on str.
        return None if scheme.lower() == "key" and key_matches(cred.strip(), self.key) else 403


def app_alias(path: str) -> str | None:
    """The app a gateway path `/{owner}/{app}/...` names, or None for an unaliased path.

    An unaliased path is this server's own app, so a token's `allowed_apps` is not checked
    there (the reference serves one app; RT-SEC-007 scopes tokens between apps).
    """
    parts = path.split("/")
    if len(parts) >= 4 and parts[1] and parts[2]:
        return parts[2]
    return None


# -- routes ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Route:
    """A path bound to an app method."""

    kind: str  # "http" | "realtime" | "raw"
    path: str
    handler: Any
    is_async: bool
    config: SessionConfig | None = None
    validate: Any = None
    model: Any = None


class Router:
    """Exact paths, then the gateway aliases `/{owner}/{app}/...` (RT-TRANS-002)."""

    def __init__(self, routes: list[Route]) -> None:
        self._routes: dict[tuple[str, bool], Route] = {}
        for route in routes:
            self._routes[(route.path.rstrip("/") or "/", route.kind != "http")] = route

    def resolve(self, path: str, websocket: bool) -> Route | None:
        """The route for `path`, trying the path itself, then without `/{owner}/{app}`."""
        key = path.rstrip("/") or "/"
        route = self._routes.get((key, websocket))
        if route is not None:
            return route
        parts = key.split("/")  # ["", owner, app, rest...]
        if len(parts) >= 3 and parts[1] and parts[2]:
            alias = "/" + "/".join(parts[3:])
            return self._routes.get((alias.rstrip("/") or "/", websocket))
        return None

    def has_other_kind(self, path: str, websocket: bool) -> bool:
        """Whether the path exists for the other kind (WS vs HTTP)."""
        return self.resolve(path, not websocket) is not None
