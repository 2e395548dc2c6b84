"""The suite passes against the reference server with no flags (spec chapter 13)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def test_suite_passes_against_embedded_reference(suite: Any, tmp_path: Path) -> None:
    run = suite(paths=("conformance",))
    assert run.returncode == 0, run.output[-4000:]
    assert run.report is not None
    verdicts = {rid: e["verdict"] for rid, e in run.report["requirements"].items()}
    assert not [r for r, v in verdicts.items() if v in ("fail", "error")], verdicts
    assert run.report["target"]["embedded_reference"] is True
    assert run.report["summary"]["conformant"] is True
    must = [
        r for r, e in run.report["requirements"].items() if e["level"] == "MUST" and e["checks"]
    ]
    assert all(verdicts[r] in ("pass", "not-applicable") for r in must)
    # The Markdown summary renders the same report.
    summary = tmp_path / "report.md"
    proc = subprocess.run(
        [sys.executable, "-m", "conformance.report", "summarize", str(tmp_path / "report.json")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    summary.write_text(proc.stdout)
    assert "| RT-MSG-020 | MUST | pass |" in proc.stdout
    assert json.loads((tmp_path / "report.json").read_text())["suite"]["version"]
