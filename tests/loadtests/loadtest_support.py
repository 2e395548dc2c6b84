"""Helpers of the load-test tests: a reference-server fixture and Locust process runners.

Not a conftest.py, so that its module name is unique in the tree (mypy checks tests/ as one
set of modules); each test module wraps `reference_server` in its own fixture. Every
process started here listens on 127.0.0.1 and is stopped at teardown; every wait has a
deadline.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCUST = Path(sys.executable).with_name("locust")
START_DEADLINE_S = 20.0
RUN_DEADLINE_S = 90.0


@contextlib.contextmanager
def reference_server() -> Iterator[str]:
    """`python -m reference serve --port 0` (the conformance app on 127.0.0.1): its URL."""
    cmd = [sys.executable, "-m", "reference", "serve", "--host", "127.0.0.1", "--port", "0"]
    process = subprocess.Popen(
        cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        yield _read_ready_line(process)
    finally:
        _stop(process)


def _read_ready_line(process: subprocess.Popen[str]) -> str:
    """Wait (with a deadline) for the one line the server prints when it is ready."""
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=START_DEADLINE_S).strip()
    except queue.Empty:
        pytest.fail(f"the reference server printed no URL within {START_DEADLINE_S:g} s")
    if not line.startswith("ws://127.0.0.1:"):
        pytest.fail(f"the reference server printed {line!r} instead of its URL")
    return line


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def locust_cmd(*args: str) -> list[str]:
    """`locust -f loadtests ARGS` with the venv's Locust."""
    return [str(LOCUST), "-f", str(REPO_ROOT / "loadtests"), *args]


def run_locust(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run one bounded Locust process to completion and return its output."""
    return subprocess.run(
        locust_cmd(*args),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=RUN_DEADLINE_S,
        check=False,
    )


def wait_for_line(stream: IO[str], needle: str, deadline_s: float = START_DEADLINE_S) -> str:
    """Return the first line of `stream` containing `needle`; fail after the deadline."""
    found: queue.Queue[str] = queue.Queue()

    def scan() -> None:
        for line in stream:
            if needle in line:
                found.put(line)
                return
        found.put("")  # the stream ended without it

    threading.Thread(target=scan, daemon=True).start()
    try:
        line = found.get(timeout=deadline_s)
    except queue.Empty:
        pytest.fail(f"no line with {needle!r} within {deadline_s:g} s")
    if not line:
        pytest.fail(f"the process ended without printing {needle!r}")
    return line
