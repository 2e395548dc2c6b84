"""Client adapter for the real fal_client 1.0.3 (spec chapter 13, client-adapter contract).

Run with the fal peer venv: ``pytest conformance --client-cmd ".venv-fal/bin/python
interop/fal_client_adapter.py"``. It uses ``fal_client.realtime_async`` unchanged and only points
it at the scripted server, as ../shared/peers/fal_client_probe.py does: the module constant
REALTIME_URL_FORMAT becomes RT_SERVER_URL + "/", and REST_URL becomes RT_REST_URL. With RT_TOKEN
the token is handed to the client directly (no REST call); with RT_KEY alone the client sends it
as ``Authorization: Key`` (``use_jwt=False``); with no credential nothing is sent.

Standard library plus fal_client only: this file runs in .venv-fal, not in the project venv.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

Event = dict[str, Any]


def emit(event: Event) -> None:
    """Print one record as a JSON line (RT-CONF-042)."""
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def from_json(value: Any) -> Any:
    """Restore ``{"$bytes": hex}`` to bytes."""
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return bytes.fromhex(value["$bytes"])
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def to_json(value: Any) -> Any:
    """Replace bytes by ``{"$bytes": hex}``."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": bytes(value).hex()}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def configure(env: dict[str, str]) -> dict[str, Any]:
    """Point fal_client at the scripted server; return the keyword arguments for realtime()."""
    key = env.get("RT_KEY")
    if key:
        os.environ["FAL_KEY"] = key
    import fal_client.client as fc

    fc.REALTIME_URL_FORMAT = env["RT_SERVER_URL"].rstrip("/") + "/"
    token = env.get("RT_TOKEN")
    rest = env.get("RT_REST_URL")
    kwargs: dict[str, Any] = {}
    path = env.get("RT_PATH", "/realtime")
    if path:
        kwargs["path"] = path  # empty: the caller gives no path, fal_client's default applies
    if token is not None or not key:
        # RT_TOKEN: the caller already holds a token. No credential: hand over no token, so
        # fal_client builds the URL without fal_jwt_token and sends no Authorization header.
        given = token or ""

        async def given_token(self: Any, application: str, **_: Any) -> str:
            return given

        fc.AsyncClient._get_realtime_token = given_token
    elif rest:
        fc.REST_URL = rest.rstrip("/")
    else:
        kwargs["use_jwt"] = False
    return kwargs


def closed_record(exc: BaseException | None, ws: Any) -> Event:
    """The final record for a session that ended, from fal_client's view of it."""
    from websockets.exceptions import ConnectionClosed

    if exc is None:  # recv() returned None: fal_client reports a normal end (1000, 1001)
        return {"event": "closed", "code": getattr(ws, "close_code", None), "clean": True}
    cause = exc.__cause__
    if isinstance(cause, ConnectionClosed):
        code = cause.rcvd.code if cause.rcvd is not None else None
        return {"event": "closed", "code": code, "clean": False}
    return {"event": "closed", "code": None, "clean": False}


async def session(env: dict[str, str]) -> None:
    """Connect with fal_client, send RT_INPUTS, print what the caller sees until the end."""
    import fal_client
    from fal_client.client import RealtimeError

    kwargs = configure(env)
    inputs = from_json(json.loads(env.get("RT_INPUTS", "[]")))
    timeout = float(env.get("RT_RECV_TIMEOUT", "5"))
    async with fal_client.realtime_async(env["RT_APP_ID"], **kwargs) as conn:
        for value in inputs:
            await conn.send(value)
        while True:
            try:
                output = await asyncio.wait_for(conn.recv(), timeout)
            except TimeoutError:
                emit({"event": "timeout"})
                return  # leaving the context manager closes through fal_client (1000)
            except RealtimeError as exc:
                if exc.error == "CONNECTION_CLOSED":
                    emit(closed_record(exc, conn._ws))
                    return
                emit({"event": "error", "code": exc.error, "reason": exc.reason})
                continue
            if output is None:
                emit(closed_record(None, conn._ws))
                return
            emit({"event": "output", "data": to_json(output)})


def main() -> int:
    """Run one case; exit 0 after the final record."""
    try:
        asyncio.run(session(dict(os.environ)))
    except Exception as exc:  # a refused handshake, a failed token call, a decode failure
        emit({"event": "exception", "type": type(exc).__name__, "message": str(exc)[:500]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
