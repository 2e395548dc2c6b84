"""Run the client-mode suite in a subprocess and read its JSON report (tests/client_mode helper)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
BROKEN_DIR = Path(__file__).resolve().parent / "broken_clients"
SUITE_TIMEOUT_S = 300.0


@dataclass
class SuiteRun:
    """One ``pytest conformance --client-cmd ...`` run."""

    status: int
    output: str
    report: dict[str, Any]

    def verdicts(self, *wanted: str) -> set[str]:
        """The requirement IDs whose verdict is one of ``wanted``."""
        return {r for r, e in self.report["requirements"].items() if e["verdict"] in wanted}

    def broken(self) -> set[str]:
        """Requirement IDs that did not pass (fail, warn or error; not-applicable excluded)."""
        return self.verdicts("fail", "warn", "error", "not-covered")


def run_client_suite(client_cmd: str, tmp: Path, *extra: str) -> SuiteRun:
    """Run every client check against ``client_cmd`` from the repository root."""
    report = tmp / "report.json"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        # Only the client checks' directory, and without the hypothesis plugin: the same checks
        # as `pytest conformance --client-cmd`, at a third of the start-up cost per run.
        "conformance/client_mode",
        "-p",
        "no:hypothesispytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "--client-cmd",
        client_cmd,
        "--conformance-report",
        str(report),
        *extra,
    ]
    done = subprocess.run(
        cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=SUITE_TIMEOUT_S, check=False
    )
    output = done.stdout[-8000:] + done.stderr[-4000:]
    assert report.exists(), f"the suite wrote no report (exit {done.returncode}):\n{output}"
    return SuiteRun(done.returncode, output, json.loads(report.read_text("utf-8")))


def broken_client_cmd(name: str) -> str:
    """The command that runs one broken client of the catalogue."""
    return f"{sys.executable} {BROKEN_DIR / (name + '.py')}"
