"""Client URL rules (spec chapters 02-transport and 03-authentication).

Two forms are accepted: a WebSocket URL (`ws://host:port/realtime`; an empty path gets the
default endpoint path), or a fal-style app id (`owner/app[/path...]`) joined to a base URL.
For the app-id form the JavaScript client's rule holds: an explicit `path` wins; otherwise an
id that already ends with the default path gets no suffix (no `/realtime/realtime`, which the
Python fal_client 1.0.3 produces); otherwise the default path is appended. The legacy id
`123-app` means `123/app`. Credentials go in the query (`fal_jwt_token`) or in a header.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from urllib.parse import urlencode, urlsplit, urlunsplit

DEFAULT_BASE = "wss://fal.run"
_LEGACY_ID = re.compile(r"^(\d+)-([A-Za-z0-9_.-]+)$")
MAX_BUFFERING_RANGE = (1, 60)


def normalize_app_id(app_id: str) -> str:
    """`owner/app[/...]` as is; `123-app` -> `123/app`; anything else is refused."""
    app_id = app_id.strip("/")
    if "/" in app_id:
        return app_id
    legacy = _LEGACY_ID.match(app_id)
    if legacy:
        return f"{legacy.group(1)}/{legacy.group(2)}"
    raise ValueError(
        f"invalid app id {app_id!r}: use the form <owner>/<app> (for example 'fal-ai/my-app'),"
        " or pass a ws:// URL"
    )


def _join_path(app_id: str, path: str | None, default: str) -> str:
    if path is not None:
        return "/" + path.lstrip("/") if path.strip("/") else ""
    if default and (app_id + "/").endswith(default.strip("/") + "/"):
        return ""
    return default


def check_max_buffering(value: int | None) -> None:
    """The gateway's `max_buffering` takes 1..60 (fal clients refuse other values too)."""
    low, high = MAX_BUFFERING_RANGE
    if value is not None and not (isinstance(value, int) and low <= value <= high):
        raise ValueError(
            f"max_buffering must be between {low} and {high} (inclusive), got {value!r}"
        )


def build_url(
    target: str,
    *,
    default_path: str = "/realtime",
    path: str | None = None,
    base_url: str | None = None,
    token: str | None = None,
    max_buffering: int | None = None,
    extensions: Sequence[str] | None = None,
) -> str:
    """The WebSocket URL for `target` (a ws:// URL or an app id).

    Args:
        target: `ws://...`/`wss://...` URL, or an app id like `owner/app`.
        default_path: endpoint path used when none is given (`/realtime`; `""` for raw).
        path: explicit endpoint path (overrides the URL's or the id's own path).
        base_url: base for app ids (default: `$FAL_RUN_HOST` as wss://, else wss://fal.run).
        token: sent as the `fal_jwt_token` query parameter.
        max_buffering: sent as `max_buffering` (1..60).
        extensions: opt in to the 1.1 extension channel: sent as `rt_ext`, the tokens
            joined by commas (RT-EXT-001); an empty list asks for the `hello` only.
    """
    check_max_buffering(max_buffering)
    if target.startswith(("ws://", "wss://")):
        parts = urlsplit(target)
        if path is not None:
            url_path = "/" + path.lstrip("/")
        else:
            url_path = parts.path if parts.path not in ("", "/") else (default_path or "/")
        query = parts.query
    elif target.startswith(("http://", "https://")):
        raise ValueError(f"{target!r} is an HTTP URL; use ws:// (or wss://) for realtime endpoints")
    else:
        app_id = normalize_app_id(target)
        if base_url is None:
            host = os.environ.get("FAL_RUN_HOST")
            base_url = f"wss://{host}" if host else DEFAULT_BASE
        base = base_url.rstrip("/")
        if base.startswith("http://"):
            base = "ws://" + base[len("http://") :]
        elif base.startswith("https://"):
            base = "wss://" + base[len("https://") :]
        parts = urlsplit(f"{base}/{app_id}{_join_path(app_id, path, default_path)}")
        url_path, query = parts.path, parts.query
    params = []
    if token is not None:
        params.append(("fal_jwt_token", token))
    if max_buffering is not None:
        params.append(("max_buffering", str(max_buffering)))
    if extensions is not None:
        params.append(("rt_ext", ",".join(dict.fromkeys(extensions))))  # each at most once
    if params:
        query = "&".join(q for q in (query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, url_path, query, ""))


def auth_headers(key: str | None) -> dict[str, str] | None:
    """`Authorization: Key <key>` when a key is given (header mode, no token)."""
    return {"Authorization": f"Key {key}"} if key else None
