"""Drive the real `fal_client` 1.0.3 against any ws:// base URL and print JSON (spec chapter 13).

Run with the fal venv's interpreter (the main venv has no fal_client):

    .venv-fal/bin/python interop/fal_client_driver.py ws://127.0.0.1:PORT [--app owner/app]
        [--scenario NAME ...]

fal_client builds `{REALTIME_URL_FORMAT}{owner}/{app}/{path}?fal_jwt_token=<jwt>`, where
`REALTIME_URL_FORMAT` hard-codes `wss://{FAL_RUN_HOST}/` and the jwt comes from
`POST {REST_URL}/tokens/` (`REST_URL` has no environment override). We set exactly those two
module constants, and answer the token call from a stub on 127.0.0.1; everything else is the
real client: its URL building, handshake headers, permessage-deflate offer, msgpack framing and
its mapping of `x-fal-error` text frames to `RealtimeError`. The target must therefore serve
the gateway paths `/{owner}/{app}/realtime` and `/{owner}/{app}/echo` (spec RT-TRANS paths).

Output: one JSON object `{"base", "app", "scenarios": {name: result}, "token_calls": [...]}`.
Each result has `"ok": true` and what was observed, or `"ok": false` and `"exception"`, plus
`"connections"`: the URL and extra headers of each handshake fal_client made (recorded by
wrapping its connect helpers, which then run unchanged).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

TOKEN = "local-jwt-token"
DEFAULT_APP = "local/conformance-app"
SCENARIO_TIMEOUT_S = 20  # a watchdog: fal_client's recv() has no timeout of its own
STEP_TIMEOUT_S = 10.0

os.environ.setdefault("FAL_KEY", "local-key-id:local-key-secret")  # any value; sent as "Key ..."

import fal_client  # noqa: E402 - reads FAL_KEY/FAL_RUN_HOST at import time
import fal_client.client as fc  # noqa: E402

Result = dict[str, Any]
token_calls: list[dict[str, Any]] = []
connections: list[dict[str, Any]] = []  # every handshake fal_client made: URL and headers

_connect_sync_ws = fc._connect_sync_ws
_connect_async_ws = fc._connect_async_ws


def _observe(url: str, headers: dict[str, str] | None) -> None:
    connections.append({"url": url, "headers": dict(headers or {})})


def _observed_sync_ws(url: str, headers: dict[str, str] | None = None) -> Any:
    _observe(url, headers)
    return _connect_sync_ws(url, headers)


def _observed_async_ws(url: str, headers: dict[str, str] | None = None) -> Any:
    _observe(url, headers)
    return _connect_async_ws(url, headers)


# Observation only: fal_client looks these module globals up at call time; we record the URL
# and headers it built and call the original.
fc._connect_sync_ws = _observed_sync_ws
fc._connect_async_ws = _observed_async_ws


class _TokenStub(BaseHTTPRequestHandler):
    """Answers fal_client's `POST /tokens/` with a JSON string, as fal's REST API does."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        token_calls.append(
            {
                "path": self.path,
                "authorization": self.headers.get("authorization"),
                "body": json.loads(body or b"null"),
            }
        )
        out = json.dumps(TOKEN).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request log."""


def point_fal_client_at(base_ws_url: str, rest_url: str | None) -> ThreadingHTTPServer | None:
    """Aim fal_client at `base_ws_url` and its token call at `rest_url` or at a local stub.

    Returns:
        The running token stub, or None when the target's own token endpoint is used.
    """
    fc.REALTIME_URL_FORMAT = base_ws_url.rstrip("/") + "/"
    if rest_url is not None:
        fc.REST_URL = rest_url.rstrip("/")
        return None
    stub = ThreadingHTTPServer(("127.0.0.1", 0), _TokenStub)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    fc.REST_URL = f"http://127.0.0.1:{stub.server_address[1]}"
    return stub


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"hex": bytes(value).hex()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _error(exc: BaseException) -> Result:
    if isinstance(exc, fc.RealtimeError):
        return {"error": exc.error, "reason": exc.reason, "payload": _jsonable(exc.payload)}
    return {"exception": f"{type(exc).__name__}: {exc}"}


def _recv_outcome(recv: Callable[[], Any]) -> Result:
    """One `recv()`: the output, None (clean close), or the error it raised."""
    try:
        return {"output": _jsonable(recv())}
    except Exception as exc:
        return _error(exc)


def _drain(recv: Callable[[], Any], limit: int) -> list[Result]:
    """Up to `limit` recv outcomes, stopping after the first error or clean close."""
    outcomes = []
    for _ in range(limit):
        outcome = _recv_outcome(recv)
        outcomes.append(outcome)
        if outcome.get("output") is None:
            break
    return outcomes


# -- scenarios (each returns what it observed) --------------------------------------------
def scenario_realtime(app: str) -> Result:
    """`realtime()` with the default use_jwt=True: 4 inputs, 4 outputs on one session."""
    with fal_client.realtime(app) as conn:
        prompts = ["hello", "p1", "p2", "p3"]
        for prompt in prompts:
            conn.send({"prompt": prompt})
        outputs = [_jsonable(conn.recv()) for _ in prompts]
    return {"outputs": outputs}


def scenario_realtime_no_jwt(app: str) -> Result:
    """`realtime(use_jwt=False, max_buffering=5)`: Authorization header, no token call."""
    with fal_client.realtime(app, use_jwt=False, max_buffering=5) as conn:
        conn.send({"prompt": "no-jwt"})
        return {"outputs": [_jsonable(conn.recv())]}


def scenario_invalid_input(app: str) -> Result:
    """An input failing validation surfaces as RealtimeError; then one more input is tried."""
    with fal_client.realtime(app) as conn:
        conn.send({"prompt": "before"})
        before = _recv_outcome(conn.recv)
        conn.send({})  # no prompt
        error = _recv_outcome(conn.recv)
        try:  # robust servers keep the session; fal closes it with 1000
            conn.send({"prompt": "after"})
            after = _recv_outcome(conn.recv)
        except Exception as exc:
            after = _error(exc)
    return {"before": before, "error": error, "after": after}


def scenario_handler_error(app: str) -> Result:
    """A handler that raises surfaces as RealtimeError (INTERNAL_ERROR)."""
    with fal_client.realtime(app) as conn:
        conn.send({"prompt": "boom", "fail": True})
        return {"error": _recv_outcome(conn.recv)}


def scenario_server_streaming(app: str) -> Result:
    """`realtime(path="/realtime/stream")`: n outputs, then the TIMEOUT end frame."""
    with fal_client.realtime(app, path="/realtime/stream") as conn:
        conn.send({"prompt": "s", "count": 3})
        return {"outcomes": _drain(conn.recv, 6)}


def scenario_realtime_async(app: str) -> Result:
    """`realtime_async()`: two round trips, then an invalid input."""

    async def run() -> Result:
        async with fal_client.realtime_async(app) as conn:
            outputs = []
            for prompt in ("async-1", "async-2"):
                await conn.send({"prompt": prompt})
                outputs.append(_jsonable(await asyncio.wait_for(conn.recv(), STEP_TIMEOUT_S)))
            await conn.send({"prompt": 7})  # wrong type
            try:
                error: Result = {"output": await asyncio.wait_for(conn.recv(), STEP_TIMEOUT_S)}
            except Exception as exc:
                error = _error(exc)
        return {"outputs": outputs, "error": error}

    return asyncio.run(run())


def scenario_ws_connect(app: str) -> Result:
    """`ws_connect(path="/echo")`: text m -> m-0, m-1, m-2, close 1000; binary echoed."""
    from websockets.exceptions import ConnectionClosed

    with fal_client.ws_connect(app, path="/echo") as ws:
        ws.send("abc")
        texts = [ws.recv(timeout=STEP_TIMEOUT_S) for _ in range(3)]
        try:
            extra = ws.recv(timeout=STEP_TIMEOUT_S)
            close: Result = {"unexpected": _jsonable(extra)}
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else None
            close = {"code": code, "type": type(exc).__name__}
    with fal_client.ws_connect(app, path="/echo") as ws:
        ws.send(b"\x00\x01bin")
        binary = _jsonable(ws.recv(timeout=STEP_TIMEOUT_S))
    return {"texts": texts, "close": close, "binary": binary}


def scenario_ws_connect_async(app: str) -> Result:
    """`ws_connect_async(path="/echo")`: the same text echo with the asyncio client."""

    async def run() -> Result:
        async with fal_client.ws_connect_async(app, path="/echo") as ws:
            await ws.send("xyz")
            texts = [await asyncio.wait_for(ws.recv(), STEP_TIMEOUT_S) for _ in range(3)]
        return {"texts": texts}

    return asyncio.run(run())


def scenario_idle(app: str) -> Result:
    """Idle sessions (opt-in): a round trip, `IDLE_S` of silence, another round trip.

    Against a server pinging every fraction of a second (RT-LIFE-012) this shows that
    fal_client answers the pings on its own (RT-LIFE-011) and the session is kept.
    """
    import time

    with fal_client.realtime(app) as conn:
        conn.send({"prompt": "before"})
        before = _recv_outcome(conn.recv)
        time.sleep(IDLE_S)
        conn.send({"prompt": "after"})
        after = _recv_outcome(conn.recv)
    with fal_client.ws_connect(app, path="/echo") as ws:
        time.sleep(IDLE_S)
        ws.send(b"raw-after")
        raw = _jsonable(ws.recv(timeout=STEP_TIMEOUT_S))
    return {"before": before, "after": after, "raw": raw}


SCENARIOS: dict[str, Callable[[str], Result]] = {
    "realtime": scenario_realtime,
    "realtime_no_jwt": scenario_realtime_no_jwt,
    "invalid_input": scenario_invalid_input,
    "handler_error": scenario_handler_error,
    "server_streaming": scenario_server_streaming,
    "realtime_async": scenario_realtime_async,
    "ws_connect": scenario_ws_connect,
    "ws_connect_async": scenario_ws_connect_async,
}
#: Run only when named: they wait on purpose, which the default run has no use for.
OPT_IN: dict[str, Callable[[str], Result]] = {"idle": scenario_idle}
#: How long `idle` stays silent on each session (seconds).
IDLE_S = 1.5


@contextmanager
def _watchdog(name: str) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"scenario {name} did not finish within {SCENARIO_TIMEOUT_S} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(SCENARIO_TIMEOUT_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_scenarios(base: str, app: str, names: list[str], rest_url: str | None = None) -> Result:
    """Run the named scenarios in order; one failing scenario does not stop the others."""
    stub = point_fal_client_at(base, rest_url)
    results: dict[str, Result] = {}
    try:
        for name in names:
            first = len(connections)
            try:
                with _watchdog(name):
                    results[name] = {"ok": True, **{**SCENARIOS, **OPT_IN}[name](app)}
            except Exception as exc:
                results[name] = {
                    "ok": False,
                    **_error(exc),
                    "traceback": traceback.format_exc(limit=6),
                }
            results[name]["connections"] = connections[first:]
    finally:
        if stub is not None:
            stub.shutdown()
    return {"base": base, "app": app, "scenarios": results, "token_calls": token_calls}


def main(argv: list[str] | None = None) -> int:
    """Print the JSON results; exit 0 even when scenarios fail (the caller judges them)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base", help="ws:// base URL of the target, e.g. ws://127.0.0.1:8765")
    parser.add_argument("--app", default=DEFAULT_APP, help="owner/app id (gateway path prefix)")
    parser.add_argument(
        "--rest-url",
        default=None,
        help="http:// base of a real token endpoint (POST /tokens/); default: a local stub "
        "that hands out 'local-jwt-token'. The key sent there is $FAL_KEY.",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=sorted({**SCENARIOS, **OPT_IN}),
        help="run only these (repeatable; default: all but the opt-in 'idle')",
    )
    args = parser.parse_args(argv)
    result = run_scenarios(args.base, args.app, args.scenario or list(SCENARIOS), args.rest_url)
    json.dump(result, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
