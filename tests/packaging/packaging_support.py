"""Helpers of the packaging tests: a clean copy of the tree, fresh venvs, loopback servers."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import venv
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: What a build or an install must never print (issue 11: the licence table warned 3 times).
DEPRECATION = re.compile(r"deprecat|BuildBackendWarning|SetuptoolsWarning", re.IGNORECASE)
#: Variables of this checkout's environment that would leak it into a "fresh" install.
_LEAKY = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTEST_ADDOPTS", "RT_CONFORMANCE_TARGET")


def copy_tree(dest: Path) -> Path:
    """Copy the files git would ship (tracked and new, not ignored) to ``dest``; return it."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.decode()
    for name in filter(None, listing.split("\0")):
        source = REPO / name
        if source.is_file():  # a deleted-but-tracked file is listed too
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    return dest


def clean_env(cache_home: Path) -> dict[str, str]:
    """This process's environment minus the checkout's venv, with a private cache home."""
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
    env["XDG_CACHE_HOME"] = str(cache_home)
    return env


def make_venv(path: Path) -> Path:
    """Create a fresh venv (no system site-packages) with pip; return its bin directory."""
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    return path / "bin"


def run(
    cmd: Sequence[str | Path], cwd: Path, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``, stderr folded into stdout, never raising on a non-zero exit."""
    return subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def reference_server(python: Path, cwd: Path, env: dict[str, str]) -> Iterator[str]:
    """Serve the installed reference on 127.0.0.1; yield its URL once it printed it."""
    port = free_port()
    proc = subprocess.Popen(
        [str(python), "-m", "reference", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        line = proc.stdout.readline()
        while f":{port}" not in line:
            assert line, "the reference server exited before printing its URL"
            assert time.monotonic() < deadline, f"server did not start: {line!r}"
            line = proc.stdout.readline()
        yield f"ws://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def python_of(bin_dir: Path) -> Path:
    """The interpreter of a venv's bin directory."""
    return bin_dir / ("python.exe" if sys.platform == "win32" else "python")
