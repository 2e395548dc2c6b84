"""The table of server libraries in conformance/README.md, re-measured (issue 11, "Also").

Each library serves the same minimal echo app (`interop/library_apps.py`, run with the pinned
versions of the fal venv) whose code does nothing about framing, ping, close or unknown paths,
so the verdicts of those rules are the library's. The README's table states exactly these.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from library_support import REPO, LibraryApp

#: Rules a library owns (the app code cannot change them), and the verdicts measured.
LIBRARY_RULES = ("RT-LIFE-010", "RT-LIFE-022", "RT-LIFE-024", "RT-TRANS-004", "RT-TRANS-040")
SAMPLE = json.dumps({"prompt": "hi"})
TABLE = {
    "aiohttp": {"RT-LIFE-022": "fail", "RT-TRANS-004": "pass"},
    "starlette": {"RT-LIFE-022": "pass", "RT-TRANS-004": "warn"},
    "websockets": {"RT-LIFE-022": "pass", "RT-TRANS-004": "warn"},
}


def _verdicts(url: str, report: Path) -> tuple[dict[str, str], str]:
    cmd = [sys.executable, "-m", "pytest", "conformance", "--target", url, "-q"]
    cmd += [
        "-p",
        "no:cacheprovider",
        "--wait-for-target",
        "30",
        "--conformance-report",
        str(report),
    ]
    cmd += ["--sample-input", SAMPLE]  # the apps host no conformance app: production mode
    for req in LIBRARY_RULES:
        cmd += ["--req", req]
    env = {
        k: v for k, v in os.environ.items() if k not in ("RT_CONFORMANCE_TARGET", "PYTEST_ADDOPTS")
    }
    proc = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    data = json.loads(report.read_text("utf-8"))
    return {r: data["requirements"][r]["verdict"] for r in LIBRARY_RULES}, proc.stdout


@pytest.mark.parametrize("library", sorted(TABLE))
def test_library_verdicts_match_the_readme_table(
    library: str, library_app: LibraryApp, tmp_path: Path
) -> None:
    """The verdicts the README claims for each library, and a pass for every other rule."""
    with library_app(library) as url:
        verdicts, output = _verdicts(url, tmp_path / "report.json")
    expected = {rule: TABLE[library].get(rule, "pass") for rule in LIBRARY_RULES}
    assert verdicts == expected, output[-3000:]


def test_readme_table_states_the_measured_verdicts() -> None:
    """The README's table rows say what TABLE says (so the two cannot drift apart)."""
    readme = (REPO / "conformance" / "README.md").read_text("utf-8")
    assert "| aiohttp 3.14.5 | **fail** (accepts an unmasked client frame) |" in readme
    assert "| starlette 1.10.0 + uvicorn 0.54.0 | pass | **warn** (HTTP 403) |" in readme
    assert "| websockets 17.4 | pass | **warn** (HTTP 101: every path is accepted" in readme
