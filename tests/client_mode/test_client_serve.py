"""The interactive mode serves one case to a client started by hand (spec chapter 13)."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from _suite import BROKEN_DIR, REPO_ROOT

READY_LINE = "waiting for the client"


@contextmanager
def serving(*args: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """Start ``python -m conformance.client_mode serve ...``; yield it and its RT_* exports."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "conformance.client_mode", "serve", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        env: dict[str, str] = {}
        for line in proc.stdout:  # ends at EOF if the server dies: no endless wait
            if line.startswith("export "):
                key, _, value = line[len("export ") :].strip().partition("=")
                env[key] = shlex.split(value)[0]
            if line.startswith(READY_LINE):
                break
        assert "RT_SERVER_URL" in env, "the serve command printed no RT_SERVER_URL"
        yield proc, env
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_serve_prints_the_environment_and_plays_the_case() -> None:
    """A client started with the printed variables gets the case's outputs; --once then stops."""
    with serving("echo", "--once") as (proc, env):
        assert env["RT_SERVER_URL"].startswith("ws://127.0.0.1:")
        assert env["RT_CASE"] == "echo"
        done = subprocess.run(
            [sys.executable, str(BROKEN_DIR / "_minimal.py")],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert '"output": "a"' in done.stdout
        assert proc.stdout is not None
        rest = proc.stdout.read()  # the server stops by itself after one connection
        assert proc.wait(timeout=30) == 0
    assert "GET /local/conformance-app/realtime" in rest
    assert "client close code: 1000" in rest


def test_serve_stops_on_sigterm() -> None:
    """Without --once the server waits until it is told to stop."""
    with serving("never-answers") as (proc, env):
        assert env["RT_RECV_TIMEOUT"] == "1"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
