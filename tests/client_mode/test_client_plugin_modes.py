"""Client checks run only with --client-cmd; server checks only without it (chapter 13)."""

from __future__ import annotations

import subprocess
import sys

from _suite import REPO_ROOT


def collect(*args: str) -> str:
    """Node IDs ``pytest conformance --collect-only`` selects with ``args``."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "conformance",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            *args,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_without_client_cmd_client_checks_are_deselected() -> None:
    """A server run never collects a client check."""
    out = collect()
    assert "conformance/client_mode/checks" not in out
    assert "conformance/checks/" in out


def test_with_client_cmd_only_client_checks_run() -> None:
    """A client run selects client checks and none of the server suite's."""
    out = collect("--client-cmd", "true")
    assert "conformance/client_mode/checks/test_inputs.py" in out
    assert "conformance/checks/" not in out


def test_req_selects_client_checks_by_requirement() -> None:
    """The suite's --req works in client mode too."""
    out = collect("--client-cmd", "true", "--req", "RT-CTRL-031")
    assert "test_client_ignores_x_fal_message_frames" in out
    assert "test_client_sends_no_text_messages" not in out
