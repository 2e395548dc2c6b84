"""The reference client: `realtime`, `realtime_async`, `ws_connect` (spec chapter 04-messages).

    from reference.client import realtime

    with realtime("ws://127.0.0.1:8765/realtime") as conn:      # or realtime("owner/app",
        conn.send({"prompt": "hi"})                             #   base_url="ws://...")
        print(conn.recv(timeout=5))                             # {"output": "hi"}

`recv` returns None on a clean close and after a TIMEOUT frame (the normal end of a
session); it raises `RealtimeError` for any other x-fal-error frame.

Credentials (chapter 03): `token=` goes in the `fal_jwt_token` query parameter; `key=` with
`rest_url=` (and `use_jwt=True`, the default) is exchanged for a token at `{rest_url}/tokens/`
before connecting (`tokens.py`; a failure raises `TokenError`); `key=` without `rest_url`, or
with `use_jwt=False`, is sent as `Authorization: Key <key>`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from websockets.asyncio.client import connect as async_connect
from websockets.sync.client import connect as sync_connect

from reference.client.connection import (
    MAX_SIZE,
    AsyncRealtimeConnection,
    RawConnection,
    RealtimeConnection,
    RealtimeError,
    RecvTimeout,
    connect_error,
)
from reference.client.tokens import TokenError, fetch_token
from reference.client.urls import auth_headers, build_url

__all__ = [
    "AsyncRealtimeConnection",
    "RawConnection",
    "RealtimeConnection",
    "RealtimeError",
    "RecvTimeout",
    "TokenError",
    "build_url",
    "fetch_token",
    "realtime",
    "realtime_async",
    "ws_connect",
]

OPEN_TIMEOUT = 10.0


def _app_id(target: str) -> str:
    if target.startswith(("ws://", "wss://")):
        raise ValueError(
            "a token exchange needs an app id (owner/app) to name in allowed_apps; with a ws:// "
            "URL pass token=..., or use_jwt=False to send the key as a header"
        )
    return target


def _credentials(
    target: str, token: str | None, key: str | None, rest_url: str | None, use_jwt: bool
) -> tuple[str | None, str | None]:
    """(token for the query, key for the header); fetches a token in token mode (blocking)."""
    if token is None and key and rest_url is not None and use_jwt:  # token mode (RT-AUTH-020)
        return fetch_token(rest_url, key, _app_id(target)), None
    return token, key


async def _credentials_async(
    target: str, token: str | None, key: str | None, rest_url: str | None, use_jwt: bool
) -> tuple[str | None, str | None]:
    """As `_credentials`; the blocking token call runs in a worker thread."""
    if token is None and key and rest_url is not None and use_jwt:
        return await asyncio.to_thread(fetch_token, rest_url, key, _app_id(target)), None
    return token, key


def _connect_args(url: str, key: str | None, open_timeout: float) -> dict[str, Any]:
    """websockets' connect options, the same for every opener (compression off, no size limit)."""
    return {
        "uri": url,
        "additional_headers": auth_headers(key),
        "compression": None,
        "max_size": MAX_SIZE,
        "open_timeout": open_timeout,
    }


@contextlib.contextmanager
def realtime(
    target: str,
    *,
    path: str | None = None,
    base_url: str | None = None,
    token: str | None = None,
    key: str | None = None,
    rest_url: str | None = None,
    use_jwt: bool = True,
    max_buffering: int | None = None,
    open_timeout: float = OPEN_TIMEOUT,
    extensions: Sequence[str] | None = None,
) -> Iterator[RealtimeConnection]:
    """Open a realtime session (blocking API); raises TokenError if the token call fails.

    Args:
        target: a ws:// URL (an empty path means `/realtime`) or an app id `owner/app`.
        path: endpoint path (default `/realtime`).
        base_url: base URL for an app id (for example `ws://127.0.0.1:8765`).
        token: sent as `fal_jwt_token` in the query.
        key: exchanged for a token at `rest_url` (token mode), else sent as
            `Authorization: Key <key>`.
        rest_url: REST base of the token service (for example `https://rest.fal.ai`).
        use_jwt: False sends the key as a header even when `rest_url` is given.
        max_buffering: the gateway's latest-wins limit, 1..60.
        open_timeout: seconds to wait for the handshake.
        extensions: 1.1 extension tokens to ask for (`rt_ext`, spec 15); None: a 1.0 client.
    """
    token, key = _credentials(target, token, key, rest_url, use_jwt)
    url = build_url(
        target,
        path=path,
        base_url=base_url,
        token=token,
        max_buffering=max_buffering,
        extensions=extensions,
    )
    try:
        ws = sync_connect(**_connect_args(url, key, open_timeout))
    except Exception as exc:
        raise connect_error(url, exc) from exc
    with ws:  # websockets 17 wants its sync connections used as context managers
        yield RealtimeConnection(ws, extensions)


@contextlib.asynccontextmanager
async def realtime_async(
    target: str,
    *,
    path: str | None = None,
    base_url: str | None = None,
    token: str | None = None,
    key: str | None = None,
    rest_url: str | None = None,
    use_jwt: bool = True,
    max_buffering: int | None = None,
    open_timeout: float = OPEN_TIMEOUT,
    extensions: Sequence[str] | None = None,
) -> AsyncIterator[AsyncRealtimeConnection]:
    """Open a realtime session (asyncio API); arguments as `realtime`."""
    token, key = await _credentials_async(target, token, key, rest_url, use_jwt)
    url = build_url(
        target,
        path=path,
        base_url=base_url,
        token=token,
        max_buffering=max_buffering,
        extensions=extensions,
    )
    try:
        ws = await async_connect(**_connect_args(url, key, open_timeout))
    except Exception as exc:
        raise connect_error(url, exc) from exc
    try:
        yield AsyncRealtimeConnection(ws, extensions)
    finally:
        await ws.close()


@contextlib.contextmanager
def ws_connect(
    target: str,
    *,
    path: str | None = None,
    base_url: str | None = None,
    token: str | None = None,
    key: str | None = None,
    rest_url: str | None = None,
    use_jwt: bool = True,
    open_timeout: float = OPEN_TIMEOUT,
) -> Iterator[RawConnection]:
    """Open a raw WebSocket endpoint (for example `/echo`); no default path is added."""
    token, key = _credentials(target, token, key, rest_url, use_jwt)
    url = build_url(target, default_path="", path=path, base_url=base_url, token=token)
    try:
        ws = sync_connect(**_connect_args(url, key, open_timeout))
    except Exception as exc:
        raise connect_error(url, exc) from exc
    with ws:
        yield RawConnection(ws)
