"""Pytest plugin for client conformance mode: the suite plays the server (spec chapter 13).

``pytest conformance --client-cmd "COMMAND"`` runs only the client checks
(``conformance/client_mode/checks``); without ``--client-cmd`` they are deselected. The plugin
imports only pytest and the standard library at the top and does nothing in runs that collect
none of its checks.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conformance.client_mode.session import ClientRuns
    from conformance.report import CheckResult

CHECKS_DIR = Path(__file__).resolve().parent / "checks"
SUITE_DIR = CHECKS_DIR.parent.parent
NA_PREFIX = "not applicable: "
PREFETCH_FROM = 10  # selected client checks from which every case is run up front


@dataclass
class ClientState:
    """What client mode knows during one run (inactive unless client checks were selected)."""

    active: bool = False
    command: str = ""
    level: str = "must"
    selected: list[pytest.Item] = field(default_factory=list)
    results: dict[str, CheckResult] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)


STATE_KEY = pytest.StashKey[ClientState]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the client-mode options."""
    group = parser.getgroup("conformance-client", "realtime conformance: client mode")
    group.addoption(
        "--client-cmd",
        action="store",
        default=None,
        metavar="COMMAND",
        help="run the client checks: the suite plays scripted servers and runs COMMAND (an "
        "adapter for the client under test, see spec chapter 13) once per case",
    )
    group.addoption(
        "--client-jobs",
        action="store",
        type=int,
        default=4,
        metavar="N",
        help="run up to N cases at once, each with its own scripted server (default 4; 1: one "
        "at a time)",
    )
    group.addoption(
        "--client-startup",
        action="store",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="extra seconds an adapter run may take beyond the case's own timeouts (default 15)",
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Set up the run's state; make sure the ``req`` marker exists (the server plugin owns it)."""
    config.stash[STATE_KEY] = ClientState(
        command=str(config.getoption("client_cmd", None) or ""),
        level=str(config.getoption("rt_level", "must") or "must"),
    )
    if not any(
        line.split(":")[0].split("(")[0].strip() == "req" for line in config.getini("markers")
    ):
        config.addinivalue_line(
            "markers", "req(*ids): requirement IDs (RT-AREA-NNN) a check verifies"
        )


def is_client_check(item: pytest.Item) -> bool:
    """Whether ``item`` is one of the client-mode checks."""
    return CHECKS_DIR in Path(item.path).resolve().parents


def _is_server_check(item: pytest.Item) -> bool:
    path = Path(item.path).resolve()
    return SUITE_DIR in path.parents and not is_client_check(item)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep client checks only with --client-cmd, and server checks only without it."""
    command = config.getoption("client_cmd", None)
    if command:
        # The server plugin deselects its own checks too; doing it here as well keeps the two
        # modes apart whichever plugin runs first.
        drop = [item for item in items if _is_server_check(item)]
        selectors = _selectors(config)
        if selectors:  # the server suite's --req: keep the client checks of those requirements
            from conformance.catalog import matches

            drop += [
                item
                for item in items
                if is_client_check(item)
                and not any(matches(r, s) for r in req_ids(item) for s in selectors)
            ]
    else:
        drop = [item for item in items if is_client_check(item)]
    if drop:
        dropped = set(map(id, drop))
        items[:] = [item for item in items if id(item) not in dropped]
        config.hook.pytest_deselected(items=drop)
    state = config.stash[STATE_KEY]
    state.selected = [item for item in items if is_client_check(item)]
    state.active = bool(command) and bool(state.selected)
    if state.active:
        _validate_ids(state.selected)
    elif command and _selectors(config):
        raise pytest.UsageError(f"no client check matches --req {' '.join(_selectors(config))}")


def _selectors(config: pytest.Config) -> list[str]:
    """The server suite's --req selectors (IDs, prefixes or globs), split on commas."""
    given = config.getoption("rt_req", None) or []
    return [part for value in given for part in str(value).split(",") if part]


def req_ids(item: pytest.Item) -> list[str]:
    """The requirement IDs a check is marked with, in marker order."""
    ids: list[str] = []
    for mark in item.iter_markers("req"):
        ids.extend(str(a) for a in mark.args if str(a) not in ids)
    return ids


def _validate_ids(items: list[pytest.Item]) -> None:
    """Every client check cites known, client-side requirement IDs (else stop the run)."""
    from conformance import catalog

    known = catalog.load()
    for item in items:
        ids = req_ids(item)
        if not ids:
            raise pytest.UsageError(f"{item.nodeid}: client check without @pytest.mark.req(...)")
        for req_id in ids:
            req = known.get(req_id)
            if known and req is None:
                raise pytest.UsageError(f"{item.nodeid}: unknown requirement ID {req_id!r}")
            if req is not None and "client" not in req.applies_to:
                raise pytest.UsageError(f"{item.nodeid}: {req_id} does not apply to clients")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """Turn each client check's outcome into a verdict; SHOULD failures warn at --level must."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    state = item.config.stash.get(STATE_KEY, None)
    if state is None or not state.active or not is_client_check(item):
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _judge(item, call, report, state)


def _judge(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport, state: ClientState
) -> None:
    from conformance import catalog
    from conformance.failures import ConformanceFailure, HarnessError
    from conformance.report import CheckResult

    ids = req_ids(item)
    result = CheckResult(nodeid=item.nodeid, reqs=ids, outcome="pass", duration_s=report.duration)
    state.results[item.nodeid] = result
    if report.passed:
        return
    if report.skipped:
        reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else ""
        result.message = reason.removeprefix("Skipped: ")
        result.outcome = "not-applicable" if result.message.startswith(NA_PREFIX) else "error"
        return
    exc = call.excinfo.value if call.excinfo else None
    result.repro = repro_command(item, state)
    result.message = str(exc) if exc is not None else report.longreprtext[-500:]
    if report.when == "setup" or isinstance(exc, HarnessError):
        result.outcome = "error"
        return
    blamed = list(exc.reqs) if isinstance(exc, ConformanceFailure) and exc.reqs else []
    result.blamed = [r for r in blamed if r in ids] or blamed
    result.outcome = "fail"
    known = catalog.load()
    levels = {known[r].level if r in known else "MUST" for r in (result.blamed or ids)}
    if state.level == "must" and "MUST" not in levels:
        result.outcome = "warn"
        report.outcome = "skipped"
        first = result.message.splitlines()[0][:200] if result.message else ""
        report.wasxfail = f"conformance warning (SHOULD {' '.join(result.blamed or ids)}): {first}"
        return
    lines = []
    for req_id in result.blamed or ids:
        req = known.get(req_id)
        text = f"[{req.level}, {req.profile}] {req.text}\n  see {req.link}" if req else ""
        lines.append(f"{req_id} {text}")
    report.sections.append(("conformance requirement", "\n".join(lines)))
    report.sections.append(("conformance reproduce", result.repro))


def repro_command(item: pytest.Item, state: ClientState) -> str:
    """One command line that runs just this check against the same client."""
    path = Path(str(item.path)).resolve()
    try:
        where = str(path.relative_to(item.config.rootpath))
    except ValueError:
        where = str(path)
    args = ["pytest", f"{where}::{item.nodeid.split('::', 1)[1]}", "--client-cmd", state.command]
    if state.level != "must":
        args += ["--level", state.level]
    return shlex.join(args)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """A short client-mode summary: verdict counts and the warnings."""
    state = config.stash.get(STATE_KEY, None)
    if state is None or not state.active or not state.results:
        return
    tr = terminalreporter
    tr.section("client conformance summary")
    counts: dict[str, int] = {}
    for r in state.results.values():
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    tr.write_line(f"client {state.command}; level {state.level}")
    tr.write_line("checks: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    for r in state.results.values():
        if r.outcome == "warn":
            tr.write_line(f"WARN {' '.join(r.blamed or r.reqs)} {r.nodeid}")
            tr.write_line(f"     {r.message.splitlines()[0][:160] if r.message else ''}")
    path = config.getoption("rt_report", None)
    if path:
        tr.write_line(f"report written to {path}")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the JSON report (the server suite's format) for a client-mode run."""
    config = session.config
    state = config.stash.get(STATE_KEY, None)
    if state is None or not state.active:
        return
    path = config.getoption("rt_report", None)
    if path:
        from conformance.client_mode.report import write_report

        write_report(
            path,
            state.command,
            state.level,
            list(state.results.values()),
            state.started,
            _selectors(config),
        )


@pytest.fixture(scope="session")
def client_runs(request: pytest.FixtureRequest) -> ClientRuns:
    """Runs of the client under test, one per case, shared by the checks that read it."""
    from conformance.client_mode.session import ClientRuns

    command = request.config.getoption("client_cmd")
    if not command:
        pytest.fail("client checks need --client-cmd COMMAND", pytrace=False)
    startup = float(request.config.getoption("client_startup"))
    jobs = int(request.config.getoption("client_jobs"))
    runs = ClientRuns(str(command), startup=startup, jobs=jobs)
    state = request.config.stash[STATE_KEY]
    if jobs > 1 and len(state.selected) >= PREFETCH_FROM:
        from conformance.client_mode.cases import CASES

        runs.prefetch(CASES)  # a full run needs (nearly) every case: run them side by side
    return runs
