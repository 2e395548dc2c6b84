"""Regenerate the committed conformance report of the real fal 1.83.0 runner (spec chapter 13).

    python -m interop.make_fal_report [--out DIR] [--target URL]

Builds the fal venv if needed, serves the conformance app on the real fal runner
(`interop.serve_fal`, a free loopback port), runs `pytest conformance --target URL
--target-config interop/fal_target.json --conformance-report ...` against it, normalises what
changes from run to run (the port, durations) and writes `fal-1.83.0.json` plus its Markdown
summary `fal-1.83.0.md` (the suite's own summariser) into DIR (default `conformance/results/`).
Exit status: the suite's (0 when every MUST passed), or 2 when the harness could not run.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from interop.fal_env import FAL_VERSION, REPO_ROOT, FalEnvError, fal_python
from interop.launch import ServerStartError, fal_runner_cmd, running_server

RESULTS_DIR = REPO_ROOT / "conformance" / "results"
TARGET_CONFIG = "interop/fal_target.json"  # relative: it appears in the reports' repro lines
REPORT_NAME = f"fal-{FAL_VERSION}"
SUITE_TIMEOUT_S = 900.0
_PORT = re.compile(r"(127\.0\.0\.1|localhost):\d+")
_TRACE_TIME = re.compile(r"(?m)^ *\d+(?:\.\d+)?ms ")  # the time column of frame traces
_VOLATILE_KEYS = {"duration_s", "started", "finished", "timestamp"}


def normalise(value: Any) -> Any:
    """Drop durations and timestamps, trace times; loopback ports become `PORT` (recursively)."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items() if k not in _VOLATILE_KEYS}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        return _TRACE_TIME.sub("", _PORT.sub(r"\1:PORT", value))
    return value


def summarize(document: dict[str, Any]) -> str:
    """The suite's Markdown summary of a report."""
    from conformance.report import summarize as suite_summarize

    return suite_summarize(document)


def run_suite(target: str, report_path: Path) -> int:
    """Run the conformance suite against `target`; return pytest's exit status."""
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "conformance",
        "--target",
        target,
        "--target-config",
        TARGET_CONFIG,
        "--conformance-report",
        str(report_path),
        "-p",
        "no:cacheprovider",
        "-q",
    ]
    done = subprocess.run(
        cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=SUITE_TIMEOUT_S, check=False
    )
    if done.returncode not in (0, 1):  # 1: a check failed (the report says which)
        sys.stderr.write(done.stdout[-6000:] + done.stderr[-3000:])
    return done.returncode


def generate(out_dir: Path, target: str | None = None) -> tuple[int, dict[str, Any]]:
    """Run the suite against the fal runner (or `target`); write JSON + Markdown into `out_dir`.

    Returns:
        The suite's exit status and the normalised report.

    Raises:
        FalEnvError, ServerStartError: the fal venv or the runner is unavailable.
        RuntimeError: the suite wrote no report.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fal-report-") as tmp:
        raw_path = Path(tmp) / "report.json"
        if target is None:
            with running_server(fal_runner_cmd(fal_python())) as runner:
                status = run_suite(runner.url, raw_path)
        else:
            status = run_suite(target, raw_path)
        if not raw_path.exists():
            raise RuntimeError(f"the conformance suite (exit {status}) wrote no report")
        document = normalise(json.loads(raw_path.read_text("utf-8")))
    (out_dir / f"{REPORT_NAME}.json").write_text(json.dumps(document, indent=2) + "\n", "utf-8")
    (out_dir / f"{REPORT_NAME}.md").write_text(summarize(document), "utf-8")
    return status, document


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m interop.make_fal_report", description=__doc__)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="output directory")
    parser.add_argument("--target", default=None, help="an already running fal runner's URL")
    args = parser.parse_args(argv)
    try:
        status, document = generate(args.out, args.target)
    except (FalEnvError, ServerStartError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = document["summary"]["requirements"]
    print(
        f"wrote {args.out / REPORT_NAME}.json and .md; suite exit {status}; "
        + ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    )
    return status


if __name__ == "__main__":
    sys.exit(main())
