"""The conformance suite catches each broken server on exactly the requirements it breaks (spec 13).

Every fault of `server.py` is run against the whole server suite (`pytest conformance/checks
--target-config FILE`) in a subprocess; its JSON report must fail exactly the declared MUST
requirements and warn on exactly the declared SHOULD requirements, nothing more and nothing
less. The same server without faults passes everything. The runs go in parallel (several per
core: they mostly wait on deadlines) while the tests wait on their results.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from broken_catalogue import CLEAN, FAULTS, KEY, Fault

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SERVER = HERE / "server.py"
#: Upper bound for one suite run (a deadline against a hung run, not a timed assertion).
RUN_DEADLINE_S = 300.0
#: How many suite runs go at once. A run mostly waits on sockets and deadlines (a whole
#: catalogue uses about a third of two cores at six at once), so four runs per core.
PARALLEL = int(os.environ.get("BROKEN_SERVERS_PARALLEL", min(10, 4 * (os.cpu_count() or 1))))


@dataclass(frozen=True)
class Outcome:
    """What one suite run against one server reported."""

    exit_code: int
    verdicts: dict[str, str]  # requirement ID -> pass, fail, warn, not-applicable, error, ...
    output: str  # the tail of the suite's own output, for the failure message

    def ids(self, verdict: str) -> frozenset[str]:
        return frozenset(req for req, seen in self.verdicts.items() if seen == verdict)


def read_verdicts(report: dict[str, Any]) -> dict[str, str]:
    """Requirement ID -> verdict, from the suite's JSON report."""
    requirements = report["requirements"]
    if isinstance(requirements, dict):
        requirements = [{"id": key, **value} for key, value in requirements.items()]
    return {str(item["id"]): str(item["verdict"]).lower() for item in requirements}


#: exec errors a busy machine can give a process spawned while other threads fork (seen once in
#: CI: EFAULT from exec of the venv's python during the parallel catalogue runs).
TRANSIENT_SPAWN_ERRORS = (errno.EFAULT, errno.EAGAIN, errno.ENOMEM)


def spawn(command: list[str], **kwargs: Any) -> subprocess.Popen[str]:
    """Popen with stdout piped, retried twice on a transient exec error (a harness problem)."""
    for attempt in range(3):
        try:
            return subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, **kwargs
            )
        except OSError as exc:
            if exc.errno not in TRANSIENT_SPAWN_ERRORS or attempt == 2:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


class ServerProcess:
    """`server.py` with some faults, as a subprocess bound to a free loopback port."""

    def __init__(self, fault: Fault) -> None:
        command = [sys.executable, str(SERVER), "--port", "0"]
        for name in fault.switches or ():
            command += ["--fault", name]
        if fault.auth:
            command += ["--key", KEY]
        self._proc = spawn(command)
        assert self._proc.stdout is not None
        self.url = self._proc.stdout.readline().strip()  # the ready line; EOF if it died
        if not self.url.startswith("ws://"):
            self.stop()
            raise RuntimeError(f"server.py {fault.switches} did not start")

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout:
            self._proc.stdout.close()


def run_suite(fault: Fault) -> Outcome:
    """Run the conformance suite against `server.py` with `fault` and read its report."""
    server = ServerProcess(fault)
    try:
        with tempfile.TemporaryDirectory(prefix="broken-") as scratch:
            report_path = Path(scratch) / "report.json"
            config_path = Path(scratch) / "target.json"
            config: dict[str, Any] = {"url": server.url, "features": sorted(fault.features)}
            if fault.auth:
                config["key"] = KEY
            config_path.write_text(json.dumps(config))
            command = [
                sys.executable, "-m", "pytest", "conformance/checks",
                "--target-config", str(config_path),
                "--level", fault.level,
                "--conformance-report", str(report_path),
                "-p", "no:cacheprovider", "-q", "--no-header", "-rN",
            ]  # fmt: skip
            return run_checks(command, report_path)
    finally:
        server.stop()


def run_checks(command: list[str], report_path: Path) -> Outcome:
    """Run a suite `command` that writes its JSON report to `report_path`; read the verdicts."""
    proc = subprocess.run(
        command,
        cwd=REPO,
        env=dict(os.environ, PYTHONHASHSEED="0"),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=RUN_DEADLINE_S,
        check=False,
    )
    output = (proc.stdout + proc.stderr)[-4000:]
    if not report_path.exists():
        return Outcome(proc.returncode, {}, output)
    return Outcome(proc.returncode, read_verdicts(json.loads(report_path.read_text())), output)


def diff_message(label: str, expected: frozenset[str], seen: frozenset[str]) -> str:
    """One line per difference between the declared and the reported requirement sets."""
    lines = [f"{label}: declared {sorted(expected)}, reported {sorted(seen)}"]
    for req in sorted(expected - seen):
        lines.append(f"  - {req}: declared broken, but the suite did not report it")
    for req in sorted(seen - expected):
        lines.append(f"  + {req}: reported, but the fault does not declare it")
    return "\n".join(lines)


# Running the catalogue in parallel -----------------------------------------------------------


@pytest.fixture(scope="session")
def suite_runs(request: pytest.FixtureRequest) -> Iterator[dict[str, Future[Outcome]]]:
    """Every suite run the selected tests need, started at once and shared by the tests."""
    wanted: dict[str, Fault] = {}
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        fault = callspec.params.get("fault") if callspec else None
        if isinstance(fault, Fault):
            wanted[fault.name] = fault
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        runs = {name: pool.submit(run_suite, fault) for name, fault in wanted.items()}
        yield runs
        for future in runs.values():
            future.cancel()


def test_catalogue_names_real_switches() -> None:
    """Every fault of the catalogue is a switch of server.py and every switch is catalogued."""
    listed = subprocess.run(
        [sys.executable, str(SERVER), "--list-faults"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    switches = set(json.loads(listed.stdout))
    used = {name for fault in FAULTS for name in fault.switches or ()}
    assert used == switches, diff_message("switches", frozenset(switches), frozenset(used))


def catalogue_params() -> list[Any]:
    """Every fault as a test parameter; a known suite gap is a strict xfail naming the gap."""
    params = []
    for fault in (*CLEAN, *FAULTS):
        marks = (
            [pytest.mark.xfail(strict=True, reason=f"suite gap: {fault.gap}")] if fault.gap else []
        )
        params.append(pytest.param(fault, id=fault.name, marks=marks))
    return params


@pytest.mark.parametrize("fault", catalogue_params())
def test_suite_reports_exactly_the_broken_requirements(
    fault: Fault, suite_runs: dict[str, Future[Outcome]]
) -> None:
    """The suite fails the declared MUSTs, warns on the declared SHOULDs, passes the rest."""
    outcome = suite_runs[fault.name].result(timeout=RUN_DEADLINE_S * len(suite_runs))
    context = f"\n--- suite output (tail) ---\n{outcome.output}"
    assert outcome.verdicts, f"the suite wrote no report{context}"
    failed, warned, errors = outcome.ids("fail"), outcome.ids("warn"), outcome.ids("error")
    problems = []
    if not fault.switches and errors:  # a correct server leaves the suite nothing undecided
        problems.append(f"undecided (error) requirements: {sorted(errors)}")
    if failed != fault.must:
        problems.append(diff_message("MUST failures", fault.must, failed))
    if warned != fault.should:
        problems.append(diff_message("SHOULD warnings", fault.should, warned))
    expected_exit = 1 if fault.must else 0
    if outcome.exit_code != expected_exit:
        problems.append(f"exit status {outcome.exit_code}, expected {expected_exit}")
    if problems:
        pytest.fail(f"fault {fault.name}:\n" + "\n".join(problems) + context, pytrace=False)
