"""The reference client: `realtime`, `realtime_async`, `ws_connect` (spec chapter 04-messages).

    from reference.client import realtime

    with realtime("ws://127.0.0.1:8765/realtime") as conn:      # or realtime("owner/app",
        conn.send({"prompt": "hi"})                             #   base_url="ws://...")
        print(conn.recv(timeout=5))                             # {"output": "hi"}

`recv` returns None on a clean close and after a TIMEOUT frame (the normal end of a
session); it raises `RealtimeError` for any other x-fal-error frame.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

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
from reference.client.urls import auth_headers, build_url

__all__ = [
    "AsyncRealtimeConnection",
    "RawConnection",
    "RealtimeConnection",
    "RealtimeError",
    "RecvTimeout",
    "build_url",
    "realtime",
    "realtime_async",
    "ws_connect",
]

OPEN_TIMEOUT = 10.0


@contextlib.contextmanager
def realtime(
    target: str,
    *,
    path: str | None = None,
    base_url: str | None = None,
    token: str | None = None,
    key: str | None = None,
    max_buffering: int | None = None,
    open_timeout: float = OPEN_TIMEOUT,
) -> Iterator[RealtimeConnection]:
    """Open a realtime session (blocking API).

    Args:
        target: a ws:// URL (an empty path means `/realtime`) or an app id `owner/app`.
        path: endpoint path (default `/realtime`).
        base_url: base URL for an app id (for example `ws://127.0.0.1:8765`).
        token: sent as `fal_jwt_token` in the query.
        key: sent as `Authorization: Key <key>`.
        max_buffering: the gateway's latest-wins limit, 1..60.
        open_timeout: seconds to wait for the handshake.
    """
    url = build_url(target, path=path, base_url=base_url, token=token, max_buffering=max_buffering)
    try:
        ws = sync_connect(
            url,
            additional_headers=auth_headers(key),
            compression=None,
            max_size=MAX_SIZE,
            open_timeout=open_timeout,
        )
    except Exception as exc:
        raise connect_error(url, exc) from exc
    with ws:  # websockets 17 wants its sync connections used as context managers
        yield RealtimeConnection(ws)


@contextlib.asynccontextmanager
async def realtime_async(
    target: str,
    *,
    path: str | None = None,
    base_url: str | None = None,
    token: str | None = None,
    key: str | None = None,
    max_buffering: int | None = None,
    open_timeout: float = OPEN_TIMEOUT,
) -> AsyncIterator[AsyncRealtimeConnection]:
    """Open a realtime session (asyncio API); arguments as `realtime`."""
    url = build_url(target, path=path, base_url=base_url, token=token, max_buffering=max_buffering)
    try:
        ws = await async_connect(
            url,
            additional_headers=auth_headers(key),
            compression=None,
            max_size=MAX_SIZE,
            open_timeout=open_timeout,
        )
    except Exception as exc:
        raise connect_error(url, exc) from exc
    try:
        yield AsyncRealtimeConnection(ws)
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
    open_timeout: float = OPEN_TIMEOUT,
) -> Iterator[RawConnection]:
    """Open a raw WebSocket endpoint (for example `/echo`); no default path is added."""
    url = build_url(target, default_path="", path=path, base_url=base_url, token=token)
    try:
        ws = sync_connect(
            url,
            additional_headers=auth_headers(key),
            compression=None,
            max_size=MAX_SIZE,
            open_timeout=open_timeout,
        )
    except Exception as exc:
        raise connect_error(url, exc) from exc
    with ws:
        yield RawConnection(ws)
