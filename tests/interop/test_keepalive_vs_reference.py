"""Real clients against a reference server that pings every 0.2 s (RT-LIFE-012, RT-SEC-050).

The server is started with `--ping-interval 0.2 --ping-timeout 0.2`, a hundred times its
defaults, so every idle moment of a session gets a ping and an unanswered one a close 1011
within 0.4 s. `fal_client` 1.0.3 then runs its scenarios, `idle` among them (1.5 s of silence
on a realtime and on a raw session), and `@fal-ai/client` 1.10.1 a few of its own, the idle
timeout one among them: each must pass as against the default server, since the WebSocket
library under either client answers pings by itself (RT-LIFE-011).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from interop.js_client import JsEnvError, ensure, run_js_driver
from interop.launch import ServerProcess, ServerStartError, run_fal_client_driver, start_server

APP = "local/conformance-app"
INTERVAL = "0.2"


@pytest.fixture(scope="module")
def pinging_server() -> Iterator[ServerProcess]:
    cmd = [sys.executable, "-m", "reference", "serve", "--host", "127.0.0.1", "--port", "0"]
    try:
        server = start_server([*cmd, "--ping-interval", INTERVAL, "--ping-timeout", INTERVAL])
    except ServerStartError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


def test_fal_client_keeps_its_sessions_under_keepalive_pings(
    fal_venv_python: Path, pinging_server: ServerProcess
) -> None:
    names = ["idle", "realtime", "server_streaming", "realtime_async", "ws_connect"]
    observed = run_fal_client_driver(fal_venv_python, pinging_server.url, app=APP, scenarios=names)
    results = observed["scenarios"]
    failed = {name: r for name, r in results.items() if not r["ok"]}
    assert not failed, failed
    idle = results["idle"]
    assert idle["before"] == {"output": {"output": "before"}}
    assert idle["after"] == {"output": {"output": "after"}}
    assert idle["raw"] == {"hex": b"raw-after".hex()}


def test_js_client_keeps_its_sessions_under_keepalive_pings(pinging_server: ServerProcess) -> None:
    """@fal-ai/client 1.10.1 on Node: its socket answers pings (RT-LIFE-011), so sessions
    that sit idle longer than interval + timeout (the idle-timeout one waits for the app's
    session timeout) end as they do against the default server."""
    try:
        ensure()
    except JsEnvError as exc:
        pytest.fail(f"the JavaScript peer is required and could not be installed: {exc}")
    names = ["connect", "error_frames", "stream_end_and_reconnect", "idle_timeout_reconnect"]
    rest = f"http://127.0.0.1:{pinging_server.port}"
    observed = run_js_driver(pinging_server.url, rest, app=APP, scenarios=names)
    results = observed["scenarios"]
    failed = {name: r for name, r in results.items() if not r["ok"]}
    assert not failed, failed
    assert sorted(results) == sorted(names)
    # The idle session ended by the app's timeout (1000), not by a missing pong (1011).
    assert results["idle_timeout_reconnect"]["sockets"][0]["close_code"] == 1000
