"""Drive `interop/apps/` (seed, streaming, raw fal apps) with the real `fal_client`; print JSON.

Run with the fal venv's interpreter against either server (the fal runner or the reference):

    .venv-fal/bin/python interop/fal_apps_driver.py ws://127.0.0.1:PORT --scenario NAME ...

fal_client is aimed at the base exactly as `fal_client_driver.py` does (its two module
constants plus a token stub on 127.0.0.1), and `RUN_URL_FORMAT` for `fal_client.run`, so all
four client calls of the seed go to loopback: `run`, `realtime`, `realtime_async`, `ws_connect`.
Output: `{"scenarios": {name: {"ok": bool, ...observed}}}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

import fal_client
import fal_client.client as fc

from interop.fal_client_driver import (
    DEFAULT_APP,
    STEP_TIMEOUT_S,
    _drain,
    _error,
    _jsonable,
    _watchdog,
    point_fal_client_at,
)

Result = dict[str, Any]


def seed_http(app: str) -> Result:
    """`fal_client.run(app, {...})`: a POST to the app's `/` endpoint."""
    return {"output": fal_client.run(app, {"prompt": "over http"})}


def seed_realtime(app: str) -> Result:
    """`realtime()`: three inputs, three outputs."""
    with fal_client.realtime(app) as conn:
        for prompt in ("a", "b", "c"):
            conn.send({"prompt": prompt})
        return {"outputs": [_jsonable(conn.recv()) for _ in range(3)]}


def seed_realtime_async(app: str) -> Result:
    """`realtime_async()`: two round trips."""

    async def run() -> Result:
        async with fal_client.realtime_async(app) as conn:
            outputs = []
            for prompt in ("x", "y"):
                await conn.send({"prompt": prompt})
                outputs.append(_jsonable(await asyncio.wait_for(conn.recv(), STEP_TIMEOUT_S)))
        return {"outputs": outputs}

    return asyncio.run(run())


def seed_echo(app: str) -> Result:
    """`ws_connect(path="/echo")`: three text messages echoed as JSON, then the close."""
    from websockets.exceptions import ConnectionClosed

    with fal_client.ws_connect(app, path="/echo") as ws:
        replies = []
        for text in ("one", "two", "three"):
            ws.send(text)
            replies.append(ws.recv(timeout=STEP_TIMEOUT_S))
        try:
            close: Result = {"unexpected": _jsonable(ws.recv(timeout=STEP_TIMEOUT_S))}
        except ConnectionClosed as exc:
            close = {"code": exc.rcvd.code if exc.rcvd is not None else None}
    return {"replies": replies, "close": close}


def stream_bidi(app: str) -> Result:
    """Bidi `/realtime`: two chunks in, one token per word out, then the idle end."""
    with fal_client.realtime(app) as conn:
        conn.send({"text": "hello big world"})
        conn.send({"text": "again"})
        return {"outcomes": _drain(conn.recv, 8)}


def stream_countdown(app: str) -> Result:
    """Server-streaming `/countdown` from a plain generator."""
    with fal_client.realtime(app, path="/countdown") as conn:
        conn.send({"n": 3})
        return {"outcomes": _drain(conn.recv, 6)}


def _encode_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def stream_json_codec(app: str) -> Result:
    """`/json` with fal_client's own `encode_message`/`decode_message` set to JSON bytes."""
    with fal_client.realtime(
        app, path="/json", encode_message=_encode_json, decode_message=json.loads
    ) as conn:
        conn.send({"text": "shout"})
        return {"outputs": [_jsonable(conn.recv())]}


def raw_messages(app: str) -> Result:
    """`ws_connect(path="/messages")`: the ASGI receive() loop answers text and binary."""
    with fal_client.ws_connect(app, path="/messages") as ws:
        ws.send("hello")
        text = json.loads(ws.recv(timeout=STEP_TIMEOUT_S))
        ws.send(b"\x01\x02\x03")
        binary = ws.recv(timeout=STEP_TIMEOUT_S)
    return {"text": text, "binary": binary.hex() if isinstance(binary, bytes) else binary}


def raw_json_async(app: str) -> Result:
    """`ws_connect_async(path="/json")`: iter_json answers, {"stop": true} closes 1000."""
    from websockets.exceptions import ConnectionClosed

    async def run() -> Result:
        async with fal_client.ws_connect_async(app, path="/json") as ws:
            replies = []
            for value in ({"b": 1, "a": [2]}, {"é": "ü"}):
                await ws.send(json.dumps(value))
                replies.append(await asyncio.wait_for(ws.recv(), STEP_TIMEOUT_S))
            await ws.send(json.dumps({"stop": True}))
            try:
                close: Result = {"unexpected": _jsonable(await ws.recv())}
            except ConnectionClosed as exc:
                close = {"code": exc.rcvd.code if exc.rcvd is not None else None}
        return {"replies": replies, "close": close}

    return asyncio.run(run())


SCENARIOS: dict[str, Callable[[str], Result]] = {
    "seed_http": seed_http,
    "seed_realtime": seed_realtime,
    "seed_realtime_async": seed_realtime_async,
    "seed_echo": seed_echo,
    "stream_bidi": stream_bidi,
    "stream_countdown": stream_countdown,
    "stream_json_codec": stream_json_codec,
    "raw_messages": raw_messages,
    "raw_json_async": raw_json_async,
}


def main(argv: list[str] | None = None) -> int:
    """Print the JSON results; exit 0 even when scenarios fail (the caller judges them)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="ws:// base URL of the target")
    parser.add_argument("--app", default=DEFAULT_APP, help="owner/app id (gateway path prefix)")
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), required=True)
    args = parser.parse_args(argv)
    stub = point_fal_client_at(args.base, None)
    fc.RUN_URL_FORMAT = args.base.replace("ws://", "http://", 1).rstrip("/") + "/"
    results: dict[str, Result] = {}
    try:
        for name in args.scenario:
            try:
                with _watchdog(name):
                    results[name] = {"ok": True, **SCENARIOS[name](args.app)}
            except Exception as exc:
                results[name] = {"ok": False, **_error(exc), "traceback": traceback.format_exc()}
    finally:
        if stub is not None:
            stub.shutdown()
    json.dump({"scenarios": results}, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
