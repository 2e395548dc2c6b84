"""Starting and stopping the reference server (spec chapter 02-transport).

`serve()` binds the app's routes to one listening socket; `run()` is what the CLI calls:
it prints the URL line when ready (flushed) and stops on SIGINT/SIGTERM, closing every
WebSocket session with 1001 before exiting 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import logging
import resource
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reference.app import App, input_model, make_validator
from reference.core.extensions import HEARTBEAT_INTERVAL
from reference.core.wsframes import use_unmask
from reference.server.connection import Connection
from reference.server.http import Auth, Route, Router
from reference.server.limits import ServerLimits
from reference.server.state import ServerState

SHUTDOWN_GRACE = 2.0
#: File descriptors kept free under the fd limit for the listener, logs, executor threads
#: and the accept() of a connection that is then refused with 503 (RT-SEC-019).
FD_RESERVE = 32
#: At most one "out of file descriptors" log line per this many seconds (issue 12, finding 5).
RESOURCE_LOG_INTERVAL = 10.0

log = logging.getLogger("reference.server")


def connection_cap(limits: ServerLimits) -> int:
    """Connections allowed: the flag, or the fd limit minus a reserve."""
    if limits.max_connections > 0:
        return limits.max_connections
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1 << 20
    return max(1, soft - FD_RESERVE)


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Log asyncio's accept() resource errors once per interval, not per attempt.

    At the fd limit CPython's accept loop reports EMFILE up to `backlog` times per wake-up
    (100 MB of tracebacks in 20 s); it already backs off 1 s between tries.
    """
    last = [-RESOURCE_LOG_INTERVAL]
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if "out of system resource" not in str(context.get("message", "")):
            if previous is not None:
                previous(loop, context)
            else:
                loop.default_exception_handler(context)
            return
        now = loop.time()
        if now - last[0] >= RESOURCE_LOG_INTERVAL:
            last[0] = now
            log.warning("accept() failed: %s; refusing connections", context.get("exception"))

    loop.set_exception_handler(handler)


try:  # websockets' C unmasking (its optional speedups module), else the core's pure one
    from websockets.speedups import apply_mask as _c_apply_mask
except ImportError:  # pragma: no cover - websockets built without its C extension
    pass
else:
    use_unmask(_c_apply_mask)


def build_routes(app: App) -> list[Route]:
    """Bind the decorated methods of `app` to routes."""
    routes = []
    for name, spec in type(app).route_specs():
        handler = getattr(app, name)
        func = getattr(type(app), name)
        is_async = inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)
        model = input_model(func)
        if spec.kind == "raw" and not inspect.iscoroutinefunction(func):
            raise TypeError(f"raw WebSocket endpoint {name} must be defined with async def")
        routes.append(
            Route(
                spec.kind, spec.path, handler, is_async, spec.config, make_validator(model), model
            )
        )
    return routes


class Server:
    """A running reference server."""

    def __init__(self, state: ServerState, server: asyncio.Server) -> None:
        self.state = state
        self._server = server

    @property
    def port(self) -> int:
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def url(self) -> str:
        host = self._server.sockets[0].getsockname()[0]
        return f"ws://{host}:{self.port}"

    async def stop(self) -> None:
        """Stop accepting, close sessions with 1001 (RT-LIFE-021), wait briefly for them."""
        self.state.stopping = True
        self._server.close()
        for conn in list(self.state.connections):
            conn.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_GRACE
        while self.state.connections and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for conn in list(self.state.connections):
            conn.abort()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 1.0)


async def serve(
    app: App,
    host: str = "127.0.0.1",
    port: int = 8765,
    key: str | None = None,
    heartbeat_interval: float = HEARTBEAT_INTERVAL,
    limits: ServerLimits | None = None,
    *,
    reuse_port: bool = False,
) -> Server:
    """Start serving `app`; returns once the socket listens.

    `heartbeat_interval` applies only to sessions that opt in to `heartbeat` (spec 15.5).
    `reuse_port` sets SO_REUSEPORT so several worker processes listen on one port and the
    kernel spreads connections over them (`workers.py`).
    """
    app.setup()
    limits = limits or ServerLimits()
    state = ServerState(
        Router(build_routes(app)),
        Auth(key),
        limits=limits,
        max_connections=connection_cap(limits),
        heartbeat_interval=heartbeat_interval,
    )
    loop = asyncio.get_running_loop()
    quiet_accept_errors(loop)
    server = await loop.create_server(
        lambda: Connection(state), host, port, backlog=1024, reuse_port=reuse_port or None
    )
    return Server(state, server)


def raise_file_limit() -> int:
    """Raise RLIMIT_NOFILE as far as allowed (one fd per connection; issue 14 aims at 100k).

    The soft limit goes to the hard one; a privileged process raises both to the kernel's
    `fs.nr_open`. Returns the soft limit now in force.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        ceiling = int(Path("/proc/sys/fs/nr_open").read_text())
    except (OSError, ValueError):
        ceiling = hard
    for target in (max(ceiling, hard), hard):
        if target == resource.RLIM_INFINITY or target <= soft:
            break
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, target))
            return target
        except (OSError, ValueError):
            continue
    return soft


def load_app(spec: str) -> App:
    """Instantiate `module:Class`."""
    module_name, _, class_name = spec.partition(":")
    if not class_name:
        raise SystemExit(f"--app takes module:Class, got {spec!r}")
    cls: Any = getattr(importlib.import_module(module_name), class_name)
    return cls()  # type: ignore[no-any-return]


async def run(
    app: App,
    host: str,
    port: int,
    key: str | None,
    heartbeat_interval: float = HEARTBEAT_INTERVAL,
    limits: ServerLimits | None = None,
    *,
    reuse_port: bool = False,
    ready: Callable[[int], None] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; when ready, print the URL line (or call `ready(port)`)."""
    raise_file_limit()
    server = await serve(app, host, port, key, heartbeat_interval, limits, reuse_port=reuse_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready(server.port)
    else:
        print(f"ws://{host}:{server.port}", flush=True)
        sys.stdout.flush()
    await stop.wait()
    await server.stop()
