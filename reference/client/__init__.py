"""The reference client: `realtime`, `realtime_async`, `ws_connect`, `ws_connect_async` (ch. 04).

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

`ws_connect`/`ws_connect_async` open a raw (`is_websocket=True`) endpoint. `realtime` and
`realtime_async` take two opt-in options for @fal-ai/client's send rules, `throttle_interval=`
and `lazy=` (`reference/client/live.py`); without them the semantics are fal_client's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as async_connect
from websockets.sync.client import ClientConnection as SyncClientConnection
from websockets.sync.client import connect as sync_connect

from reference.client.connection import (
    MAX_SIZE,
    AsyncRawConnection,
    AsyncRealtimeConnection,
    RawConnection,
    RealtimeConnection,
    RealtimeError,
    RecvTimeout,
    connect_error,
)
from reference.client.live import AsyncLiveConnection, LiveConnection
from reference.client.tokens import TokenError, fetch_token
from reference.client.urls import auth_headers, build_url
from reference.core.sendrules import JS_THROTTLE_INTERVAL

__all__ = [
    "JS_THROTTLE_INTERVAL",
    "AsyncLiveConnection",
    "AsyncRawConnection",
    "AsyncRealtimeConnection",
    "LiveConnection",
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
    "ws_connect_async",
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


def _open_sync(
    target: str, creds: tuple[str | None, str | None, str | None, bool], **url_args: Any
) -> SyncClientConnection:
    """Credentials (a new token in token mode), URL, handshake: one blocking connection."""
    token, key, rest_url, use_jwt = creds
    open_timeout = url_args.pop("open_timeout")
    token, key = _credentials(target, token, key, rest_url, use_jwt)
    url = build_url(target, token=token, **url_args)
    try:
        ws: SyncClientConnection = sync_connect(**_connect_args(url, key, open_timeout))
    except Exception as exc:
        raise connect_error(url, exc) from exc
    return ws


async def _open_async(
    target: str, creds: tuple[str | None, str | None, str | None, bool], **url_args: Any
) -> ClientConnection:
    """As `_open_sync` with asyncio (the token call runs in a worker thread)."""
    token, key, rest_url, use_jwt = creds
    open_timeout = url_args.pop("open_timeout")
    token, key = await _credentials_async(target, token, key, rest_url, use_jwt)
    url = build_url(target, token=token, **url_args)
    try:
        return await async_connect(**_connect_args(url, key, open_timeout))
    except Exception as exc:
        raise connect_error(url, exc) from exc


def _check_options(extensions: Sequence[str] | None, throttle_interval: float, lazy: bool) -> None:
    """The 1.1 extensions and the @fal-ai/client send rules are separate opt-ins, not combined."""
    if extensions and (throttle_interval or lazy):
        raise ValueError(
            "extensions= cannot be combined with throttle_interval= or lazy=: the JS send "
            "rules drop and replay inputs, which the correlation indexes would not match"
        )


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
    throttle_interval: float = 0.0,
    lazy: bool = False,
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
        throttle_interval: opt-in @fal-ai/client throttle in seconds (its default is
            `JS_THROTTLE_INTERVAL`, 0.128; 0 is off): the first send goes out at once, later
            ones wait for a timer and the latest wins, at most one frame per interval.
        lazy: opt-in @fal-ai/client reconnect: after any close the next send opens a new
            connection (new token in token mode) and writes the latest input when it opens.
            See `reference.client.live`.
        extensions: 1.1 extension tokens to ask for (`rt_ext`, spec 15); None: a 1.0 client.
            Not combined with `throttle_interval`/`lazy` (a ValueError says so).
    """
    _check_options(extensions, throttle_interval, lazy)
    creds = (token, key, rest_url, use_jwt)
    url_args: dict[str, Any] = {
        "path": path,
        "base_url": base_url,
        "max_buffering": max_buffering,
        "extensions": extensions,
        "open_timeout": open_timeout,
    }
    ws = _open_sync(target, creds, **url_args)
    if not throttle_interval and not lazy:
        with ws:  # websockets 17 wants its sync connections used as context managers
            yield RealtimeConnection(ws, extensions)
        return
    reopen = (lambda: _open_sync(target, creds, **url_args)) if lazy else None
    conn = LiveConnection(ws, throttle_interval=throttle_interval, reopen=reopen)
    try:
        yield conn
    finally:
        conn.close()


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
    throttle_interval: float = 0.0,
    lazy: bool = False,
    extensions: Sequence[str] | None = None,
) -> AsyncIterator[AsyncRealtimeConnection]:
    """Open a realtime session (asyncio API); arguments as `realtime`."""
    _check_options(extensions, throttle_interval, lazy)
    creds = (token, key, rest_url, use_jwt)
    url_args: dict[str, Any] = {
        "path": path,
        "base_url": base_url,
        "max_buffering": max_buffering,
        "extensions": extensions,
        "open_timeout": open_timeout,
    }
    ws = await _open_async(target, creds, **url_args)
    if not throttle_interval and not lazy:
        conn = AsyncRealtimeConnection(ws, extensions)
    else:
        reopen = (lambda: _open_async(target, creds, **url_args)) if lazy else None
        conn = AsyncLiveConnection(ws, throttle_interval=throttle_interval, reopen=reopen)
    try:
        yield conn
    finally:
        await conn.close()


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
    max_buffering: int | None = None,
    open_timeout: float = OPEN_TIMEOUT,
) -> Iterator[RawConnection]:
    """Open a raw WebSocket endpoint (for example `/echo`); no default path is added.

    Arguments as `realtime` (fal_client's `ws_connect` takes `max_buffering` too).
    """
    creds = (token, key, rest_url, use_jwt)
    ws = _open_sync(
        target,
        creds,
        default_path="",
        path=path,
        base_url=base_url,
        max_buffering=max_buffering,
        open_timeout=open_timeout,
    )
    with ws:
        yield RawConnection(ws)


@contextlib.asynccontextmanager
async def ws_connect_async(
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
) -> AsyncIterator[AsyncRawConnection]:
    """Open a raw WebSocket endpoint (asyncio API); arguments as `ws_connect`.

    fal_client 1.0.3's `ws_connect_async` is the same call on its `AsyncClient`; the token
    exchange runs in a worker thread, as in `realtime_async`.
    """
    creds = (token, key, rest_url, use_jwt)
    ws = await _open_async(
        target,
        creds,
        default_path="",
        path=path,
        base_url=base_url,
        max_buffering=max_buffering,
        open_timeout=open_timeout,
    )
    try:
        yield AsyncRawConnection(ws)
    finally:
        await ws.close()
