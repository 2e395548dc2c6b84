"""Command line: `python -m reference serve --host 127.0.0.1 --port 8765 [--app module:Class]`."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reference", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve an app (default: the conformance app)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    serve.add_argument("--app", default="reference.apps.conformance:ConformanceApp")
    serve.add_argument(
        "--key", default=None, help="require this key or a token (401/403 otherwise)"
    )
    serve.add_argument(
        "--heartbeat-interval",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="heartbeat period of sessions that opt in to the extension (spec 15.5, >= 1)",
    )
    serve.add_argument(
        "--transport",
        choices=["auto", "asyncio", "uvloop", "websockets", "websockets-uvloop"],
        default="auto",
        help="event loop under the sans-I/O core: auto is uvloop when installed, else asyncio "
        "(websockets and websockets-uvloop are the old names of asyncio and uvloop)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes sharing the port with SO_REUSEPORT, each serving every endpoint",
    )
    from reference.server.limits import add_flags, from_args

    add_flags(serve)  # one flag per limit of spec chapter 12 (RT-SEC-010..019, 050)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from reference.server.serve import load_app, run

    app = load_app(args.app)
    if args.heartbeat_interval < 1:
        parser.error("--heartbeat-interval must be at least 1 second (spec 15.5)")
    runner = loop_runner(args.transport)
    if args.workers > 1:
        from reference.server.workers import run_workers

        return run_workers(
            app,
            args.host,
            args.port,
            args.key,
            args.workers,
            runner,
            args.heartbeat_interval,
            from_args(args),
        )
    runner(run(app, args.host, args.port, args.key, args.heartbeat_interval, from_args(args)))
    return 0


def loop_runner(transport: str) -> Callable[[Coroutine[Any, Any, None]], object]:
    """`uvloop.run` or `asyncio.run` for a `--transport` choice."""
    if transport == "auto":
        transport = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    if transport in ("uvloop", "websockets-uvloop"):
        import uvloop

        return uvloop.run
    return asyncio.run


if __name__ == "__main__":
    sys.exit(main())
