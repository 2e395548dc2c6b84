"""Serve the conformance app as a real `fal.App` on 127.0.0.1 (spec chapter 13, fal runner target).

Run with the fal venv's interpreter from the repo root:

    .venv-fal/bin/python -m interop.serve_fal [PORT]      # PORT 0 (default): a free port

It does what `fal.app.wrap_app`'s `initialize_and_serve` does (instantiate the App, register it
as the current app, `App._build_app()`) and hands fal's FastAPI app to uvicorn with fal's own
uvicorn options, but on loopback only: `fal run --local` would bind 0.0.0.0 and start a metrics
server. When `GET /health` answers it prints exactly one line on stdout, `ws://127.0.0.1:PORT`;
everything fal and uvicorn print goes to stderr. SIGTERM/SIGINT stop it (uvicorn's handlers).

`FAL_APP_ROOT_PATH` (fal's own setting) defaults to `/local/conformance-app`, which adds the
gateway aliases `/local/conformance-app/...` that the real `fal_client` connects to.
"""

import argparse
import http.client
import importlib
import os
import socket
import sys
import threading
import time
from typing import TextIO

DEFAULT_ROOT_PATH = "/local/conformance-app"
READY_TIMEOUT_S = 60.0


def _health_ok(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _announce_when_healthy(port: int, out: TextIO, stop: threading.Event) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not stop.is_set() and time.monotonic() < deadline:
        if _health_ok(port):
            out.write(f"ws://127.0.0.1:{port}\n")
            out.flush()
            return
        stop.wait(0.05)  # poll interval of a readiness probe, not synchronisation
    if not stop.is_set():
        print(f"serve_fal: /health did not answer within {READY_TIMEOUT_S:.0f} s", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m interop.serve_fal", description=__doc__)
    parser.add_argument("port", nargs="?", type=int, default=0, help="TCP port; 0 = free port")
    parser.add_argument(
        "--app",
        default="interop.fal_conformance_app:ConformanceApp",
        help="module:Class of the fal.App to serve (default: the conformance app)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("FAL_APP_ROOT_PATH", DEFAULT_ROOT_PATH)

    # stdout carries only the ready line; fal's startup print and uvicorn's logs go to stderr.
    ready_out = sys.stdout
    sys.stdout = sys.stderr

    import uvicorn  # type: ignore[import-not-found]  # only in the fal venv
    from fal.ref import set_current_app

    module_name, _, class_name = args.app.partition(":")
    app_class = getattr(importlib.import_module(module_name), class_name)

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    port = sock.getsockname()[1]

    app = app_class(_allow_init=True)  # fal.App refuses a plain cls() outside isolate
    set_current_app(app)
    asgi = app._build_app()  # routes, fal's middlewares, /health; the lifespan runs setup()
    # fal.api.api.BaseServable.serve() options, host aside.
    config = uvicorn.Config(
        asgi, host="127.0.0.1", port=port, timeout_keep_alive=300, lifespan="on"
    )
    server = uvicorn.Server(config)
    stop = threading.Event()
    announcer = threading.Thread(
        target=_announce_when_healthy, args=(port, ready_out, stop), daemon=True
    )
    announcer.start()
    try:
        server.run(sockets=[sock])
    finally:
        stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
