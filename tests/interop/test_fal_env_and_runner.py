"""The harness itself: the pinned fal venv and the fal runner's start/stop contract (chapter 13)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from interop import fal_env
from interop.launch import ServerProcess, fal_runner_cmd, run_fal_client_driver, start_server


def test_fal_venv_has_the_pinned_packages(fal_venv_python: Path) -> None:
    assert fal_env.is_ready()
    versions = subprocess.run(
        [
            str(fal_venv_python),
            "-c",
            "import importlib.metadata as m; print(m.version('fal'), m.version('fal-client'))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    assert versions == ["1.83.0", "1.0.3"]


def test_ensure_reuses_a_stamped_venv(fal_venv_python: Path) -> None:
    stamp = fal_env.VENV_DIR / fal_env.STAMP_NAME
    before = stamp.stat().st_mtime_ns
    done = subprocess.run(
        [sys.executable, "-m", "interop.fal_env", "--ensure"],
        cwd=fal_env.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip() == str(fal_venv_python)
    assert stamp.stat().st_mtime_ns == before  # not rebuilt
    assert all(pin in stamp.read_text() for pin in fal_env.PINS)


def test_runner_prints_only_its_url_and_stops_on_sigterm(fal_venv_python: Path) -> None:
    server = start_server(fal_runner_cmd(fal_venv_python))
    try:
        assert server.url == f"ws://127.0.0.1:{server.port}"
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=15)
        assert server.process.stdout is not None
        assert server.process.stdout.read() == ""  # nothing after the URL line
    finally:
        server.stop()
    # uvicorn re-raises the captured SIGTERM after its graceful shutdown.
    assert server.process.returncode in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in server.log_tail()


def test_driver_sees_fal_behaviour_on_the_fal_runner(
    fal_venv_python: Path, fal_runner: ServerProcess
) -> None:
    """A control: against fal itself the driver observes fal's documented behaviour."""
    observed: dict[str, Any] = run_fal_client_driver(fal_venv_python, fal_runner.url)
    results = observed["scenarios"]
    assert all(r["ok"] for r in results.values()), results
    assert results["realtime"]["outputs"] == [{"output": p} for p in ("hello", "p1", "p2", "p3")]
    assert results["invalid_input"]["error"]["error"] == "INTERNAL_ERROR"
    assert results["invalid_input"]["after"] == {"output": None}  # fal closed with 1000
    assert results["ws_connect"]["texts"] == ["abc-0", "abc-1", "abc-2"]
    assert results["realtime_async"]["outputs"] == [{"output": "async-1"}, {"output": "async-2"}]


def test_ensure_fails_loudly_when_the_venv_cannot_be_built(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the venv's parent directory should be")
    with pytest.raises(fal_env.FalEnvError, match="creating the fal venv failed"):
        fal_env.ensure(blocker / "venv")
    done = subprocess.run(
        [sys.executable, "-m", "interop.fal_env", "--ensure", "--venv", str(blocker / "venv")],
        cwd=fal_env.REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "error: cannot build the fal peer venv" in done.stderr
