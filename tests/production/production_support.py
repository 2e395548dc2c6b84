"""Helpers of the production-mode tests: run the suite as a subprocess against plain apps.

Not conftest.py, so that its module name is unique in the tree and test modules can import it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 180  # a deadline against a hung run, not a timed assertion


@dataclass
class SuiteRun:
    """One finished run of `pytest conformance` and its JSON report."""

    returncode: int
    output: str
    report: dict[str, Any] | None

    def verdict(self, req_id: str) -> str:
        """The report's verdict for one requirement ("absent" when it is not listed)."""
        assert self.report is not None, self.output[-3000:]
        entry = self.report["requirements"].get(req_id)
        return str(entry["verdict"]) if entry else "absent"

    def ids(self, verdict: str) -> set[str]:
        """Every requirement with this verdict."""
        assert self.report is not None, self.output[-3000:]
        return {r for r, e in self.report["requirements"].items() if e["verdict"] == verdict}


def run_suite(tmp_path: Path, *args: str) -> SuiteRun:
    """`python -m pytest conformance ARGS --conformance-report ...` from the repo root."""
    report = tmp_path / "report.json"
    env = {
        k: v for k, v in os.environ.items() if k not in ("RT_CONFORMANCE_TARGET", "PYTEST_ADDOPTS")
    }
    command = [sys.executable, "-m", "pytest", "conformance", "-p", "no:cacheprovider", "-q"]
    proc = subprocess.run(
        [*command, "--conformance-report", str(report), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=env,
        check=False,
    )
    data = json.loads(report.read_text()) if report.exists() else None
    return SuiteRun(proc.returncode, proc.stdout + proc.stderr, data)
