"""The smallest realtime echo app on common server libraries, for the library table (chapter 13).

Run with the fal venv's interpreter (it has aiohttp, starlette + uvicorn and websockets):

    .venv-fal/bin/python interop/library_apps.py aiohttp|starlette|websockets PORT

Each serves only ``/realtime``: a binary msgpack map ``{"prompt": p}`` gets
``{"output": str(p)}``, anything else gets an ``INVALID_INPUT`` error frame. The app code does
nothing about framing, ping/pong, closing or unknown paths: what the suite sees for those rules
(RT-LIFE-010/022/024, RT-TRANS-004/040) is the library's doing, which is what
``conformance/README.md``'s library table reports. Listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import msgpack

HOST = "127.0.0.1"
ERROR = json.dumps({"type": "x-fal-error", "error": "INVALID_INPUT", "reason": "not an input"})


def answer(data: bytes) -> bytes | None:
    """The output for one binary message, or None when it is not a valid input."""
    try:
        value: Any = msgpack.unpackb(data)
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("prompt"), str):
        return None
    return bytes(msgpack.packb({"output": value["prompt"]}))


def serve_aiohttp(port: int) -> None:
    """aiohttp's own server and router."""
    from aiohttp import WSMsgType, web  # type: ignore[import-not-found]  # only in the fal venv

    async def realtime(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=64 * 1024 * 1024)
        await ws.prepare(request)
        async for msg in ws:
            out = answer(msg.data) if msg.type == WSMsgType.BINARY else None
            await (ws.send_bytes(out) if out is not None else ws.send_str(ERROR))
        return ws

    app = web.Application()
    app.router.add_get("/realtime", realtime)
    web.run_app(app, host=HOST, port=port, print=None)


def serve_starlette(port: int) -> None:
    """Starlette's router on uvicorn (the fal runner's stack)."""
    import uvicorn  # type: ignore[import-not-found]  # only in the fal venv
    from starlette.applications import Starlette  # type: ignore[import-not-found]  # only in the fal venv
    from starlette.routing import WebSocketRoute  # type: ignore[import-not-found]  # only in the fal venv
    from starlette.websockets import WebSocket, WebSocketDisconnect  # type: ignore[import-not-found]  # only in the fal venv

    async def realtime(ws: WebSocket) -> None:
        await ws.accept()
        try:
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    return
                out = answer(msg["bytes"]) if msg.get("bytes") is not None else None
                await (ws.send_bytes(out) if out is not None else ws.send_text(ERROR))
        except WebSocketDisconnect:
            return

    app = Starlette(routes=[WebSocketRoute("/realtime", realtime)])
    uvicorn.run(app, host=HOST, port=port, log_level="warning", ws_max_size=64 * 1024 * 1024)


def serve_websockets(port: int) -> None:
    """websockets' own server (sync API); any path is accepted, as the library does by default."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.server import ServerConnection, serve

    def realtime(ws: ServerConnection) -> None:
        try:
            for message in ws:
                out = answer(message) if isinstance(message, bytes) else None
                ws.send(out if out is not None else ERROR)
        except ConnectionClosed:
            return

    with serve(realtime, HOST, port, max_size=64 * 1024 * 1024) as server:
        server.serve_forever()


SERVERS = {"aiohttp": serve_aiohttp, "starlette": serve_starlette, "websockets": serve_websockets}


def main() -> int:
    """Command line: library name and port."""
    if len(sys.argv) != 3 or sys.argv[1] not in SERVERS or not sys.argv[2].isdigit():
        print(f"usage: library_apps.py {'|'.join(SERVERS)} PORT", file=sys.stderr)
        return 2
    SERVERS[sys.argv[1]](int(sys.argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
