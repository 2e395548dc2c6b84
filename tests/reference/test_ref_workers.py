"""`python -m reference serve --workers N`: N processes on one port (issue 14).

Runs the real CLI: every worker must serve every endpoint and alias (realtime, raw, HTTP, the
gateway alias `/{owner}/{app}/...`), connections must be spread over the workers (SO_REUSEPORT),
and SIGTERM must close open sessions with 1001 (RT-LIFE-021) and exit 0 with no worker left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from refhelpers import open_ws, pack, recv
from websockets.exceptions import ConnectionClosed

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SO_REUSEPORT")

WORKERS = 2


def children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    return [int(c) for t in tasks.iterdir() for c in (t / "children").read_text().split()]


def sockets(pid: int) -> int:
    fds = Path(f"/proc/{pid}/fd")
    return sum(1 for fd in fds.iterdir() if os.readlink(fd).startswith("socket:"))


@pytest.fixture
def cli() -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "reference", "serve", "--port", "0", "--workers", str(WORKERS)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    try:
        assert url.startswith("ws://127.0.0.1:"), url
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_every_worker_serves_every_endpoint_and_alias(
    cli: tuple[subprocess.Popen[str], str],
) -> None:
    proc, url = cli
    workers = children(proc.pid)
    assert len(workers) == WORKERS
    before = {pid: sockets(pid) for pid in workers}
    with contextlib.ExitStack() as stack:
        paths = [path for _ in range(16) for path in ("/realtime", "/me/app/realtime")]
        conns = [stack.enter_context(open_ws(url + path)) for path in paths]
        for i, ws in enumerate(conns):
            ws.send(pack({"prompt": f"p{i}"}))
            assert recv(ws) == {"output": f"p{i}"}
        # 32 connections hashed over 2 listeners: each worker holds some (2**-31 to fail).
        grew = [sockets(pid) - before[pid] for pid in workers]
        assert all(n > 0 for n in grew), grew
        assert sum(grew) == len(conns), grew
        for _ in range(8):
            with open_ws(url + "/echo") as raw:
                raw.send(b"\x01\x02")
                assert raw.recv(10) == b"\x01\x02"
            with urllib.request.urlopen(
                url.replace("ws://", "http://") + "/health", timeout=10
            ) as r:
                assert r.status == 200
        for ws in conns[1:]:
            ws.close()
        # One session left open: SIGTERM closes it with 1001 and every process exits.
        proc.send_signal(signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            conns[0].recv(10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1001
    assert proc.wait(15) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_a_worker_dying_stops_the_server_with_exit_1(
    cli: tuple[subprocess.Popen[str], str],
) -> None:
    proc, _ = cli
    workers = children(proc.pid)
    os.kill(workers[0], signal.SIGKILL)
    assert proc.wait(15) == 1
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
