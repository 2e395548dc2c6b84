"""``python -m conformance.inspect --listen 127.0.0.1:PORT --upstream ws://HOST:PORT``.

Listens on loopback only unless ``--allow-non-loopback`` is given (the relay prints what it
forwards, credentials masked, but anyone who can reach it can use it). Prints one line
``inspecting ws://HOST:PORT -> UPSTREAM`` when ready, then every handshake, frame and flag.
Stops on Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import signal
import sys
from collections.abc import Sequence

from conformance.inspect.handshake import Upstream
from conformance.inspect.relay import Relay, RelayConfig

__all__ = ["is_loopback", "main"]


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _listen_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.inspect",
        description="Relay a WebSocket session and print every frame, flagging broken rules.",
    )
    parser.add_argument(
        "--listen",
        type=_listen_address,
        default=("127.0.0.1", 0),
        metavar="HOST:PORT",
        help="where clients connect (default 127.0.0.1:0)",
    )
    parser.add_argument(
        "--upstream",
        required=True,
        metavar="URL",
        help="the server: ws://HOST:PORT[/prefix] or wss://...",
    )
    parser.add_argument(
        "--raw-path",
        action="append",
        default=None,
        metavar="GLOB",
        help="paths of raw WebSocket endpoints, no message rules (default: */echo); repeatable",
    )
    parser.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="listen on a non-loopback address (off by default)",
    )
    return parser


async def _serve(relay: Relay, host: str, port: int, upstream: str) -> None:
    server = await asyncio.start_server(relay.handle, host, port)
    bound = server.sockets[0].getsockname()
    relay.emit([f"inspecting ws://{host}:{bound[1]} -> {upstream}"])
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Command line; exit 2 on a usage error (a non-loopback --listen included)."""
    args = _parser().parse_args(argv)
    host, port = args.listen
    if not is_loopback(host) and not args.allow_non_loopback:
        print(
            f"refusing to listen on {host}: not a loopback address "
            "(pass --allow-non-loopback to do it anyway)",
            file=sys.stderr,
        )
        return 2
    try:
        upstream = Upstream.parse(args.upstream)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    raw = tuple(args.raw_path) if args.raw_path else ("*/echo",)
    relay = Relay(RelayConfig(upstream, raw))
    asyncio.run(_serve(relay, host, port, args.upstream))
    return 0


if __name__ == "__main__":
    sys.exit(main())
