"""Record a client's client-mode conformance report, normalised, plus its Markdown summary (ch. 13).

    python -m conformance.client_mode.results [--name fal-client-1.0.3]
        [--client-cmd ".venv-fal/bin/python interop/fal_client_adapter.py"] [--out DIR]

Runs ``pytest conformance --client-cmd CMD --conformance-report ...`` from the repository root,
drops what changes from run to run (durations, loopback ports) and writes ``NAME.json`` and
``NAME.md`` (the suite's own summariser) into DIR (default ``conformance/results/``). The
defaults regenerate the committed report of the real fal_client 1.0.3; build its venv first
with ``python -m interop.fal_env --ensure``. Exit status: the suite's (0: every MUST passed),
2 when no report was written.
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

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_DIR = REPO_ROOT / "conformance" / "results"
FAL_CLIENT_NAME = "fal-client-1.0.3"
FAL_CLIENT_CMD = ".venv-fal/bin/python interop/fal_client_adapter.py"
SUITE_TIMEOUT_S = 600.0
_PORT = re.compile(r"(127\.0\.0\.1|localhost):\d+")
_VOLATILE_KEYS = {"duration_s", "started", "finished", "timestamp"}


def normalise(value: Any) -> Any:
    """Drop durations and timestamps; replace loopback ports by ``PORT`` (recursively)."""
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items() if k not in _VOLATILE_KEYS}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if isinstance(value, str):
        return _PORT.sub(r"\1:PORT", value)
    return value


def run_suite(client_cmd: str, report_path: Path, *, level: str = "must") -> tuple[int, str]:
    """Run the client checks against ``client_cmd``; return pytest's exit status and output."""
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "conformance/client_mode",  # the client checks only: a faster start, the same report
        "-p",
        "no:hypothesispytest",
        "--client-cmd",
        client_cmd,
        "--level",
        level,
        "--conformance-report",
        str(report_path),
        "-p",
        "no:cacheprovider",
        "-q",
    ]
    done = subprocess.run(
        cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=SUITE_TIMEOUT_S, check=False
    )
    return done.returncode, done.stdout[-6000:] + done.stderr[-3000:]


def generate(name: str, client_cmd: str, out_dir: Path) -> tuple[int, dict[str, Any]]:
    """Run the suite, write ``NAME.json`` and ``NAME.md`` into ``out_dir``.

    Raises:
        RuntimeError: the suite wrote no report.
    """
    from conformance.report import summarize

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="client-report-") as tmp:
        raw = Path(tmp) / "report.json"
        status, output = run_suite(client_cmd, raw)
        if not raw.exists():
            raise RuntimeError(f"the suite (exit {status}) wrote no report:\n{output}")
        document = normalise(json.loads(raw.read_text("utf-8")))
    document["target"]["name"] = name
    (out_dir / f"{name}.json").write_text(json.dumps(document, indent=2) + "\n", "utf-8")
    (out_dir / f"{name}.md").write_text(summarize(document), "utf-8")
    return status, document


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m conformance.client_mode.results")
    parser.add_argument("--name", default=FAL_CLIENT_NAME, help="report file name (no suffix)")
    parser.add_argument("--client-cmd", default=FAL_CLIENT_CMD, help="the adapter command")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="output directory")
    args = parser.parse_args(argv)
    try:
        status, document = generate(args.name, args.client_cmd, args.out)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = document["summary"]["requirements"]
    print(
        f"wrote {args.out / args.name}.json and .md; suite exit {status}; "
        + ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    )
    return status


if __name__ == "__main__":
    raise SystemExit(main())
