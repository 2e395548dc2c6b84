"""Start a server subprocess that announces `ws://127.0.0.1:PORT` on stdout (spec chapter 13).

Both the reference server (`python -m reference serve --port 0`) and the fal runner
(`.venv-fal/bin/python -m interop.serve_fal 0`) print their URL on one line when ready.
`start_server` waits for that line with a deadline, keeps stderr in a log file (so a chatty
server never blocks on a full pipe) and quotes its tail when the server does not come up.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from interop.fal_env import REPO_ROOT

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


class ServerStartError(RuntimeError):
    """The server exited or stayed silent instead of printing its URL."""


@dataclass
class ServerProcess:
    """A running server: its URL, process and stderr log."""

    url: str
    process: subprocess.Popen[str]
    log_path: Path

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after a deadline; return the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)
        if self.process.stdout is not None:
            self.process.stdout.close()
        return self.process.returncode


def _pump_lines(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def start_server(
    cmd: Sequence[str],
    *,
    cwd: Path = REPO_ROOT,
    env: dict[str, str] | None = None,
    ready_timeout: float = READY_TIMEOUT_S,
) -> ServerProcess:
    """Run `cmd` and return once it printed its `ws://` URL.

    Raises:
        ServerStartError: the process exited or printed no URL before the deadline
            (the message quotes the command and the tail of its stderr).
    """
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the server
        prefix="interop-server-", suffix=".log", delete=False
    )
    process = subprocess.Popen(
        list(cmd),
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    log.close()
    server = ServerProcess("", process, Path(log.name))
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump_lines, args=(process.stdout, lines), daemon=True).start()
    deadline = time.monotonic() + ready_timeout
    while True:
        remaining = deadline - time.monotonic()
        try:
            line = lines.get(timeout=max(remaining, 0.0)) if remaining > 0 else None
        except queue.Empty:
            line = None
        if line is not None and line.startswith(("ws://", "wss://")):
            server.url = line.strip()
            return server
        if line is None:
            why = (
                f"exited with status {process.poll()}"
                if process.poll() is not None
                else f"printed no ws:// URL within {ready_timeout:.0f} s"
            )
            server.stop()
            raise ServerStartError(
                f"server {why}: {' '.join(cmd)}\n--- stderr tail ---\n{server.log_tail()}"
            )


@contextlib.contextmanager
def running_server(
    cmd: Sequence[str],
    *,
    cwd: Path = REPO_ROOT,
    env: dict[str, str] | None = None,
    ready_timeout: float = READY_TIMEOUT_S,
) -> Iterator[ServerProcess]:
    """`start_server` as a context manager that always stops the server."""
    server = start_server(cmd, cwd=cwd, env=env, ready_timeout=ready_timeout)
    try:
        yield server
    finally:
        server.stop()


def fal_runner_cmd(python: Path, port: int = 0) -> list[str]:
    """The command serving the conformance app on the real fal runner."""
    return [str(python), "-m", "interop.serve_fal", str(port)]


DRIVER = REPO_ROOT / "interop" / "fal_client_driver.py"
DRIVER_TIMEOUT_S = 180.0


def run_fal_client_driver(
    python: Path,
    base: str,
    *,
    app: str = "local/conformance-app",
    scenarios: Sequence[str] = (),
    rest_url: str | None = None,
    fal_key: str | None = None,
) -> dict[str, Any]:
    """Run `interop/fal_client_driver.py` with the fal venv's `python`; return its JSON.

    `rest_url` sends fal_client's token call to a real token endpoint instead of the driver's
    stub; `fal_key` is the `FAL_KEY` fal_client authenticates with.

    Raises:
        RuntimeError: the driver crashed or printed no JSON (stderr quoted).
    """
    cmd = [str(python), str(DRIVER), base, "--app", app]
    for name in scenarios:
        cmd += ["--scenario", name]
    if rest_url is not None:
        cmd += ["--rest-url", rest_url]
    env = dict(os.environ)
    if fal_key is not None:
        env["FAL_KEY"] = fal_key
    done = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=DRIVER_TIMEOUT_S,
        cwd=REPO_ROOT,
        env=env,
        check=False,
    )
    try:
        result: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise RuntimeError(
            f"fal_client driver failed (exit {done.returncode}): {' '.join(cmd)}\n"
            f"--- stdout ---\n{done.stdout[-2000:]}\n--- stderr ---\n{done.stderr[-4000:]}"
        ) from None
    return result
