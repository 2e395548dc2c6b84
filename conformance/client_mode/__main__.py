"""Client mode by hand: list the cases, serve one for a debugger, or run one (spec chapter 13).

    python -m conformance.client_mode list
    python -m conformance.client_mode serve CASE [--port PORT] [--once]
    python -m conformance.client_mode run CASE --client-cmd COMMAND

``serve`` starts the case's scripted server (and its token endpoint) on 127.0.0.1, prints the
URL and the RT_* variables an adapter needs, then waits: start your client under a debugger
with those variables. Each connection plays the case's script; what the client sent is printed
when the connection ends. Ctrl-C (or SIGTERM) stops it; ``--once`` stops after one connection.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import signal
import sys

from conformance.client_mode import cases as _cases
from conformance.client_mode.cases import CASES, get_case
from conformance.client_mode.recording import Connection, Recording
from conformance.client_mode.runner import case_env, run_case
from conformance.client_mode.server import ScriptedServer
from conformance.client_mode.token_endpoint import TokenEndpoint


def _print(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


async def serve(name: str, port: int, once: bool) -> int:
    """Serve one case until interrupted (or after one connection with ``once``)."""
    case = get_case(name)
    recording = Recording(case=name)
    done = asyncio.Event()

    def finished(conn: Connection) -> None:
        single = Recording(case=name, connections=[conn], token_calls=recording.token_calls)
        _print("connection ended:\n" + "\n".join(single.summary().splitlines()[1:]))
        if once:
            done.set()

    server = ScriptedServer(
        case.script,
        recording,
        accept_deflate=case.accept_deflate,
        refuse_status=case.refuse_status,
        input_wait=case.input_wait,
        on_finish=finished,
    )
    endpoint = None
    if case.token_shape is not None:
        endpoint = TokenEndpoint(recording, _cases.TOKEN, shape=case.token_shape)
        await endpoint.start()
    await server.start(port)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, done.set)
    _print(f"case {name}: {case.summary}")
    _print(f"serving on {server.url}")
    for key, value in case_env(case, server.url, endpoint.url if endpoint else None).items():
        _print(f"export {key}={shlex.quote(value)}")
    _print("waiting for the client (Ctrl-C stops)")
    if case.refuse_status is not None and once:
        _print("(this case refuses the handshake; --once stops at the first attempt)")
    try:
        await done.wait()
    finally:
        await server.stop()
        if endpoint is not None:
            await endpoint.stop()
    _print("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m conformance.client_mode", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the scripted cases")
    serve_p = sub.add_parser("serve", help="serve one case and wait for a client")
    serve_p.add_argument("case", choices=sorted(CASES))
    serve_p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: free)")
    serve_p.add_argument("--once", action="store_true", help="stop after one connection")
    run_p = sub.add_parser("run", help="run COMMAND against one case and show what was seen")
    run_p.add_argument("case", choices=sorted(CASES))
    run_p.add_argument("--client-cmd", required=True, metavar="COMMAND")
    args = parser.parse_args(argv)
    if args.command == "list":
        for case in CASES.values():
            _print(f"{case.name:<26} {case.summary}")
        return 0
    if args.command == "run":
        _print(run_case(get_case(args.case), args.client_cmd).summary())
        return 0
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(serve(args.case, args.port, args.once))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
