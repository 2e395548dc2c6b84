"""The suite's chapter-15 checks catch a server that breaks the extension channel (spec 15).

Each fault of `broken_reference_ext.py` (the reference with one extension rule broken) is run
against `conformance/checks/test_extensions.py`; its JSON report must fail exactly the declared
requirements, as in `test_catalogue.py`. The correct reference passing the same checks is
`pytest conformance`'s own run against the embedded reference.
"""

from __future__ import annotations

import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from test_catalogue import Outcome, diff_message, run_checks, spawn

from conformance.target import EMBEDDED_FEATURES

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SERVER = HERE / "broken_reference_ext.py"
CHECKS = "conformance/checks/test_extensions.py"
FEATURES = sorted(EMBEDDED_FEATURES - {"auth", "webrtc-media"})

#: Fault -> the MUST requirements the spec says it breaks (every chapter-15 rule is a MUST).
EXT_FAULTS = {
    "rt-ext-first-occurrence": {"RT-EXT-009"},
    "rt-ext-tokens-any-case": {"RT-EXT-009"},
    "ignore-end-of-input": {"RT-EXT-011"},
    "untagged-outputs": {"RT-EXT-031"},
    "no-hello": {"RT-EXT-002"},
    "timeout-not-end-of-output": {"RT-EXT-020"},
    "errors-without-index": {"RT-EXT-030", "RT-EXT-035"},  # 035: a failed stream's index
    "no-dropped-frame": {"RT-EXT-032"},
    "beat-without-frame": {"RT-EXT-040"},
    "never-lost": {"RT-EXT-041"},
}

#: Without a hello every check waits out its first receive (5 s, scaled): shorter waits suffice
#: to see nothing came, and keep this run from being the slowest of the default test run.
MULTIPLIER = {"no-hello": 0.2}


def run_fault(fault: str) -> Outcome:
    """Start the broken reference, run the extension checks against it, read the report."""
    server = spawn([sys.executable, str(SERVER), "--fault", fault], cwd=REPO)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        if not url.startswith("ws://"):
            return Outcome(-1, {}, f"{SERVER.name} --fault {fault} did not start")
        with tempfile.TemporaryDirectory(prefix="ext-fault-") as scratch:
            report = Path(scratch) / "report.json"
            config = Path(scratch) / "target.json"
            config.write_text(json.dumps({"url": url, "features": FEATURES}))
            command = [
                sys.executable, "-m", "pytest", CHECKS, "--target-config", str(config),
                "--conformance-report", str(report), "-p", "no:cacheprovider", "-q", "-rN",
            ]  # fmt: skip
            if fault in MULTIPLIER:
                command += ["--timeout-multiplier", str(MULTIPLIER[fault])]
            return run_checks(command, report)
    finally:
        server.terminate()
        server.wait(10)
        if server.stdout:
            server.stdout.close()


@pytest.fixture(scope="module")
def outcomes() -> dict[str, Outcome]:
    """Every fault's run, in parallel (they mostly wait on the checks' deadlines)."""
    with ThreadPoolExecutor(max_workers=len(EXT_FAULTS)) as pool:
        return dict(zip(EXT_FAULTS, pool.map(run_fault, EXT_FAULTS), strict=True))


@pytest.mark.parametrize("fault", sorted(EXT_FAULTS))
def test_extension_checks_catch_fault(outcomes: dict[str, Outcome], fault: str) -> None:
    """The report fails exactly the requirements the fault breaks, and the run exits 1."""
    outcome = outcomes[fault]
    expected = frozenset(EXT_FAULTS[fault])
    failed = outcome.ids("fail")
    assert failed == expected, diff_message(fault, expected, failed) + "\n" + outcome.output
    assert outcome.exit_code == 1, f"exit {outcome.exit_code}\n{outcome.output}"


def test_every_fault_is_declared() -> None:
    """The script's switches and this table name the same faults."""
    sys.path.insert(0, str(HERE))
    from broken_reference_ext import FAULTS

    assert set(FAULTS) == set(EXT_FAULTS)
