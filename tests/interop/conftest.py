"""Fixtures of the interop tests: the fal venv, one fal runner and one reference server per session.

The fal venv is built on first use (`interop.fal_env`); when it cannot be built every test here
fails with the reason. Nothing is ever skipped.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `interop` is a repo-root package, not installed
    sys.path.insert(0, str(REPO_ROOT))

from interop.fal_env import FalEnvError, fal_python  # noqa: E402
from interop.launch import ServerProcess, ServerStartError, fal_runner_cmd, start_server  # noqa: E402


@pytest.fixture(scope="session")
def fal_venv_python() -> Path:
    """The fal venv's interpreter; building it if needed. Fails (never skips) if it cannot."""
    try:
        return fal_python()
    except FalEnvError as exc:
        pytest.fail(f"the fal peer venv is required and could not be built: {exc}", pytrace=False)


def _start(cmd: list[str]) -> ServerProcess:
    try:
        return start_server(cmd)
    except ServerStartError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def fal_runner(fal_venv_python: Path) -> Iterator[ServerProcess]:
    """The conformance app on the real fal 1.83.0 runner (`interop.serve_fal`), shared."""
    server = _start(fal_runner_cmd(fal_venv_python))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def reference_server() -> Iterator[ServerProcess]:
    """`python -m reference serve --port 0` (the conformance app), shared.

    `REFERENCE_TRANSPORT=asyncio` runs it on the plain asyncio loop (default: `auto`).
    """
    transport = os.environ.get("REFERENCE_TRANSPORT", "auto")
    server = _start(
        [
            sys.executable,
            "-m",
            "reference",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--transport",
            transport,
        ]
    )
    yield server
    server.stop()


@pytest.fixture(scope="session")
def reference_key() -> str:
    """The key `keyed_reference_server` requires."""
    return "interop-key-7f3a"


@pytest.fixture(scope="session")
def keyed_reference_server(reference_key: str) -> Iterator[ServerProcess]:
    """The reference server requiring `reference_key` (or a token from its `POST /tokens/`)."""
    cmd = [sys.executable, "-m", "reference", "serve", "--host", "127.0.0.1", "--port", "0"]
    server = _start([*cmd, "--key", reference_key])
    yield server
    server.stop()
