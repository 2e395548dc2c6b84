"""A plain production-style realtime app on 127.0.0.1, correct or broken on purpose (spec 13.4).

Not the conformance app: its input is `{"text": str}` and its output `{"reply": TEXT,
"length": n}`, it serves one WebSocket path (no `/echo`, no `/health`), and it speaks the
protocol by hand on `websockets`, so the suite's production-app mode is tested against an
implementation that shares no code with the reference. Each fault breaks one protocol rule.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.parse
from typing import Any

import msgpack
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

LIMIT = 16 * 1024 * 1024  # the inbound message limit (RT-TRANS-043, RT-TRANS-044)
FAULTS = (
    "drop-20th-input",  # no output for the 20th input of a session (RT-MSG-021)
    "text-outputs",  # outputs as TEXT JSON (RT-MSG-020)
    "silent-on-malformed",  # malformed msgpack gets no error frame (RT-CTRL-010)
    "close-after-rejection",  # close 1000 after each error frame (RT-CTRL-012, a SHOULD)
    "close-1011-after-rejection",  # close 1011 after each error frame (RT-LIFE-020)
    "reorder",  # outputs of waiting inputs in reverse order (RT-MSG-030, a SHOULD)
    "error-as-binary",  # error frames as msgpack BINARY (RT-CTRL-002)
    "upgrade-any-path",  # every path upgrades (RT-TRANS-003)
)


class Rejected(Exception):
    """An input the app refuses; the message is the error frame's reason."""


def _check_profile(value: Any) -> None:
    """Refuse values outside the msgpack profile and nesting deeper than 1024 (RT-CONV-008/009)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > 1024:
            raise Rejected("nesting deeper than 1024")
        if isinstance(item, dict):
            for key, inner in item.items():
                if not isinstance(key, str):
                    raise Rejected("a map key is not a str")
                stack.append((inner, depth + 1))
        elif isinstance(item, list):
            stack.extend((inner, depth + 1) for inner in item)
        elif not isinstance(item, (type(None), bool, int, float, str, bytes)):
            raise Rejected(f"a {type(item).__name__} value is outside the msgpack profile")


def decode_input(message: str | bytes) -> dict[str, Any]:
    """One accepted input, or Rejected (RT-MSG-010, RT-MSG-011, app validation)."""
    if isinstance(message, str):
        raise Rejected("text messages are not inputs; send a binary msgpack map")
    try:
        value = msgpack.unpackb(message, raw=False, strict_map_key=False)
    except Exception as exc:
        raise Rejected(f"not one msgpack value ({type(exc).__name__})") from None
    _check_profile(value)
    if not isinstance(value, dict):
        raise Rejected("an input is a msgpack map")
    if not isinstance(value.get("text"), str):
        raise Rejected("`text` is required and must be a str")
    return value


class PlainApp:
    """The app, served from a background thread; `fault` picks one protocol bug (or none)."""

    def __init__(self, fault: str = "", path: str = "/realtime", key: str | None = None) -> None:
        assert fault in ("", *FAULTS), fault
        self.fault = fault
        self.path = path
        self.key = key
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    # -- handshake ---------------------------------------------------------------------------
    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        parts = urllib.parse.urlsplit(request.path)
        if parts.path != self.path and self.fault != "upgrade-any-path":
            return conn.respond(404, "no such endpoint\n")
        if self.key is None:
            return None
        token = urllib.parse.parse_qs(parts.query).get("fal_jwt_token", [None])[0]
        header = request.headers.get("Authorization", "")
        given = token or header.removeprefix("Key ").removeprefix("Bearer ") or None
        if given is None:
            return conn.respond(401, "credential required\n")
        if given != self.key:
            return conn.respond(403, "credential refused\n")
        return None

    # -- session -----------------------------------------------------------------------------
    async def _handler(self, ws: ServerConnection) -> None:
        queue: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        worker = asyncio.create_task(self._work(ws, queue))
        try:
            async for message in ws:
                await queue.put(message)
        except ConnectionClosed:
            pass
        await queue.put(None)
        await worker

    async def _work(self, ws: ServerConnection, queue: asyncio.Queue[str | bytes | None]) -> None:
        count = 0
        try:
            while True:
                batch = [await queue.get()]
                if self.fault == "reorder":
                    await asyncio.sleep(0.01)  # let the client's burst arrive
                    while not queue.empty():
                        batch.append(queue.get_nowait())
                    batch.reverse()
                for message in batch:
                    if message is None:
                        return
                    count += 1
                    if not await self._answer(ws, message, count):
                        return
        except ConnectionClosed:
            return

    async def _answer(self, ws: ServerConnection, message: str | bytes, count: int) -> bool:
        """Answer one message; False when the session is over."""
        try:
            value = decode_input(message)
        except Rejected as exc:
            if self.fault == "silent-on-malformed" and isinstance(message, bytes):
                return True
            error = {"type": "x-fal-error", "error": "INVALID_INPUT", "reason": str(exc)}
            if self.fault == "error-as-binary":
                await ws.send(msgpack.packb(error))
            else:
                await ws.send(json.dumps(error))
            if self.fault in ("close-after-rejection", "close-1011-after-rejection"):
                await ws.close(1011 if self.fault == "close-1011-after-rejection" else 1000)
                return False
            return True
        if self.fault == "drop-20th-input" and count == 20:
            return True
        output = {"reply": value["text"].upper(), "length": len(value["text"])}
        if self.fault == "text-outputs":
            await ws.send(json.dumps(output))
        else:
            await ws.send(msgpack.packb(output, use_bin_type=True))
        return True

    # -- lifetime ----------------------------------------------------------------------------
    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with serve(
            self._handler,
            "127.0.0.1",
            0,
            process_request=self._process_request,
            max_size=LIMIT,
            ping_interval=None,
        ) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            self.url = f"ws://127.0.0.1:{port}"
            self._ready.set()
            await self._stop.wait()

    def _run(self) -> None:
        self._loop.run_until_complete(self._main())

    def __enter__(self) -> PlainApp:
        self._thread.start()
        assert self._ready.wait(timeout=10), "the plain app did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


__all__ = ["FAULTS", "PlainApp"]
