"""Several server processes on one port: `serve --workers N` (issue 14, all cores).

The parent reserves the port (a bound, never-listening SO_REUSEPORT socket, so `--port 0`
picks one port for all), then forks N workers. Each worker runs the whole app on its own
event loop and listens with SO_REUSEPORT, so every worker serves every endpoint and alias and
the kernel spreads new connections over them. The parent prints the URL line once every
worker listens, forwards SIGINT/SIGTERM (each worker closes its sessions with 1001,
RT-LIFE-021) and exits 0 when they are done; if a worker dies, it stops the rest and exits 1.
Linux and macOS only (fork, SO_REUSEPORT).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import traceback
from collections.abc import Callable, Coroutine
from typing import Any

from reference.app import App
from reference.core.extensions import HEARTBEAT_INTERVAL
from reference.server.limits import ServerLimits
from reference.server.serve import run

#: Runs a coroutine to completion on a fresh loop: `asyncio.run` or `uvloop.run`.
LoopRunner = Callable[[Coroutine[Any, Any, None]], object]

_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def reserve_port(host: str, port: int) -> socket.socket:
    """A bound SO_REUSEPORT socket that never listens, so it is handed no connection."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(
    app: App,
    host: str,
    port: int,
    key: str | None,
    ready_fd: int,
    runner: LoopRunner,
    heartbeat_interval: float,
    limits: ServerLimits | None,
) -> int:
    """One worker process: serve until told to stop; tell the parent when listening."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS | {signal.SIGCHLD})

    def ready(_port: int) -> None:
        os.write(ready_fd, b"1")
        os.close(ready_fd)  # the parent sees EOF once every worker is ready or gone

    try:
        runner(
            run(
                app,
                host,
                port,
                key,
                heartbeat_interval,
                limits,
                reuse_port=True,
                ready=ready,
            )
        )
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def run_workers(
    app: App,
    host: str,
    port: int,
    key: str | None,
    workers: int,
    runner: LoopRunner,
    heartbeat_interval: float = HEARTBEAT_INTERVAL,
    limits: ServerLimits | None = None,
) -> int:
    """Fork `workers` servers on one port; return the exit code for the CLI."""
    reservation = reserve_port(host, port)
    port = reservation.getsockname()[1]
    # Blocked before the fork so a signal cannot kill the parent and orphan the workers.
    signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS | {signal.SIGCHLD})
    read_fd, write_fd = os.pipe()
    pids: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            reservation.close()
            os._exit(_worker(app, host, port, key, write_fd, runner, heartbeat_interval, limits))
        pids.append(pid)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        listening = len(pipe.read(workers))  # short if a worker died before listening
    reservation.close()
    if listening == workers:
        print(f"ws://{host}:{port}", flush=True)
        sys.stdout.flush()
        code = _supervise(pids)
    else:
        code = 1
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            code = 1
    return code


def _supervise(pids: list[int]) -> int:
    """Wait for SIGINT/SIGTERM (0) or a worker that exits on its own (1)."""
    while True:
        sig = signal.sigwait(_STOP_SIGNALS | {signal.SIGCHLD})
        if sig in _STOP_SIGNALS:
            return 0
        for pid in pids:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                pids.remove(pid)
                return 1


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
