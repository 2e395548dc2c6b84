"""Fixtures of the library-table tests: the fal venv (which has the libraries) and their apps."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from library_support import REPO, LibraryApp

if str(REPO) not in sys.path:  # `interop` is a repo-root package, not installed
    sys.path.insert(0, str(REPO))

from interop.fal_env import FalEnvError, fal_python


@pytest.fixture(scope="session")
def fal_venv_python() -> Path:
    """The fal venv's interpreter (`make peers`); fails, never skips, when it cannot be built."""
    try:
        return fal_python()
    except FalEnvError as exc:
        pytest.fail(f"the fal peer venv is required and could not be built: {exc}", pytrace=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def library_app(fal_venv_python: Path, tmp_path: Path) -> LibraryApp:
    """Start `interop/library_apps.py LIBRARY PORT` on 127.0.0.1; the suite waits for it."""

    @contextmanager
    def start(library: str) -> Iterator[str]:
        port = _free_port()
        log = (tmp_path / f"{library}.log").open("wb")
        cmd = [str(fal_venv_python), str(REPO / "interop" / "library_apps.py"), library, str(port)]
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=log, stderr=log)
        try:
            yield f"ws://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=20)
            log.close()

    return start
