"""Pytest plugin of the server conformance suite (spec chapter 13-conformance).

Registered as the `conformance` pytest11 entry point. It imports only pytest and the standard
library at load time and does nothing unless checks from `conformance/checks/` are collected:
then it resolves the target (or starts the reference server), selects checks by requirement,
turns SHOULD failures into warnings unless `--level should`, marks checks of undeclared
features "not applicable", prints the requirement, frame trace and a reproduction command for
each failure, and writes the JSON report.

Exit status: pytest's own (0 every selected MUST passed, 1 a check failed, 4 usage error,
5 nothing selected) plus `EXIT_TARGET_UNREACHABLE` (6) when the target cannot be reached or
the embedded reference server does not start.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conformance.catalog import Requirement
    from conformance.report import CheckResult
    from conformance.target import EmbeddedServer, TargetConfig
    from conformance.trace import Recorder

CHECKS_DIR = Path(__file__).resolve().parent / "checks"
EXIT_TARGET_UNREACHABLE = 6
NA_PREFIX = "not applicable: "
ENV_TARGET = "RT_CONFORMANCE_TARGET"
WATCHDOG_S = 120.0  # a check still running after this long prints every thread's stack

RECORDER_KEY: pytest.StashKey[Recorder] = pytest.StashKey()


@dataclass
class SuiteState:
    """What the plugin knows during one run."""

    active: bool = False
    collected: int = 0
    selected: list[pytest.Item] = field(default_factory=list)
    selectors: list[str] = field(default_factory=list)
    level: str = "must"
    target: TargetConfig | None = None
    server: EmbeddedServer | None = None
    target_error: str = ""
    results: dict[str, CheckResult] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)


STATE_KEY = pytest.StashKey[SuiteState]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """The suite's options, in one group."""
    group = parser.getgroup("conformance", "realtime protocol conformance suite (server)")
    group.addoption(
        "--target",
        dest="rt_target",
        default=None,
        metavar="URL",
        help=f"server under test, ws://HOST:PORT[/prefix] (env {ENV_TARGET}); "
        "default: start the reference server on a free loopback port",
    )
    group.addoption(
        "--level",
        dest="rt_level",
        choices=("must", "should"),
        default="must",
        help="must (default): SHOULD failures are warnings; should: they fail the run",
    )
    group.addoption(
        "--req",
        dest="rt_req",
        action="append",
        default=[],
        metavar="ID_OR_PREFIX",
        help="run only checks of this requirement ID, prefix (RT-MSG) or glob; repeatable",
    )
    group.addoption(
        "--timeout-multiplier",
        dest="rt_timeout_multiplier",
        type=float,
        default=float(os.environ.get("RT_CONFORMANCE_TIMEOUT_MULTIPLIER", "1.0")),
        metavar="X",
        help="scale every deadline of the suite (slow targets, slow CI); default 1.0",
    )
    group.addoption(
        "--wait-for-target",
        dest="rt_wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="wait up to SECONDS for the target to accept connections before starting",
    )
    group.addoption(
        "--conformance-report",
        dest="rt_report",
        default=None,
        metavar="PATH",
        help="write the JSON conformance report to PATH",
    )
    group.addoption(
        "--features",
        dest="rt_features",
        default=None,
        metavar="A,B",
        help="optional conformance-app features the target hosts (e.g. delay,handler-error; "
        "'all'); checks of undeclared features are not applicable",
    )
    group.addoption(
        "--target-config",
        dest="rt_target_config",
        default=None,
        metavar="FILE",
        help="JSON or TOML file declaring url, features, owner, app, key, max_message_size",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers and the plugin's per-run state (inert until checks appear)."""
    config.addinivalue_line(
        "markers", "req(*ids): the spec requirement IDs (RT-AREA-NNN) a conformance check verifies"
    )
    config.addinivalue_line(
        "markers",
        "feature(name): the optional conformance-app feature a check needs "
        "(not applicable when the target does not declare it)",
    )
    config.stash[STATE_KEY] = SuiteState(level=config.getoption("rt_level"))


def is_check(item: pytest.Item) -> bool:
    """True for a server check of this suite."""
    return CHECKS_DIR in Path(str(item.path)).resolve().parents


def req_ids(item: pytest.Item) -> list[str]:
    """The requirement IDs a check is marked with, in marker order."""
    ids: list[str] = []
    for mark in item.iter_markers("req"):
        ids.extend(str(a) for a in mark.args if str(a) not in ids)
    return ids


def _requirements() -> dict[str, Requirement]:
    from conformance import catalog

    return catalog.load()


@pytest.hookimpl(tryfirst=True)
def pytest_itemcollected(item: pytest.Item) -> None:
    """An unknown or malformed requirement ID in a `req` marker stops collection."""
    if not is_check(item):
        return
    item.config.stash[STATE_KEY].collected += 1
    validate_ids(item.nodeid, req_ids(item))


def validate_ids(nodeid: str, ids: list[str]) -> None:
    """Raise a usage error (collection stops) for a missing, malformed or unknown ID."""
    from conformance.catalog import ID_PATTERN

    if not ids:
        raise pytest.UsageError(f"{nodeid}: conformance check without @pytest.mark.req(...)")
    known = _requirements()
    for req_id in ids:
        if not ID_PATTERN.match(req_id):
            raise pytest.UsageError(f"{nodeid}: malformed requirement ID {req_id!r}")
        if known and req_id not in known:
            raise pytest.UsageError(
                f"{nodeid}: unknown requirement ID {req_id!r} (not in the spec's list)"
            )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Select server checks: client mode deselects them all; --req keeps matching ones."""
    state = config.stash[STATE_KEY]
    if not state.collected:  # no server check was collected (before -k/-m deselection)
        return
    state.active = True
    client_cmd = config.getoption("client_cmd", None)
    selectors = [s for s in config.getoption("rt_req") or [] for s in s.split(",") if s]
    state.selectors = selectors
    if selectors:
        state.active = False  # pytest runs collection_finish even when this raises
        _check_selectors(selectors)
        state.active = True
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []

    for item in items:
        if not is_check(item):
            keep.append(item)
        elif client_cmd or (selectors and not _selected(item, selectors)):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    state.selected = [item for item in items if is_check(item)]
    if client_cmd:
        state.active = False
        return
    known = _requirements()
    for item in state.selected:
        ids = req_ids(item)
        item.user_properties.append(("requirements", " ".join(ids)))
        levels = sorted({known[r].level for r in ids if r in known})
        if levels:
            item.user_properties.append(("levels", " ".join(levels)))


def _selected(item: pytest.Item, selectors: list[str]) -> bool:
    from conformance.catalog import matches

    return any(matches(r, s) for r in req_ids(item) for s in selectors)


def _check_selectors(selectors: list[str]) -> None:
    from conformance.catalog import ID_PATTERN, matches

    known = _requirements()
    for sel in selectors:
        if not sel.upper().startswith("RT"):
            raise pytest.UsageError(f"--req {sel!r}: expected a requirement ID or prefix (RT-...)")
        if known and not any(matches(r, sel) for r in known):
            raise pytest.UsageError(f"--req {sel!r} matches no requirement of the spec")
        if not known and ID_PATTERN.match(sel.upper()) is None and sel.count("-") > 2:
            raise pytest.UsageError(f"--req {sel!r}: malformed requirement ID")


def pytest_collection_finish(session: pytest.Session) -> None:
    """An empty selection is an error; otherwise reach (or start) the target."""
    config = session.config
    state = config.stash[STATE_KEY]
    if not state.active:
        return
    if not state.selected:
        raise pytest.UsageError(
            "conformance: the selection is empty: no check matches "
            + (f"--req {' '.join(state.selectors)}" if state.selectors else "the -k/-m filters")
        )
    if config.option.collectonly:
        return
    _resolve_target(config, state)


def _resolve_target(config: pytest.Config, state: SuiteState) -> None:
    from conformance.target import EmbeddedServer, TargetError, build_config, probe

    url = config.getoption("rt_target") or os.environ.get(ENV_TARGET) or None
    try:
        cfg = build_config(
            url,
            config.getoption("rt_features"),
            config.getoption("rt_target_config"),
            config.getoption("rt_timeout_multiplier"),
        )
    except (OSError, ValueError) as exc:
        raise pytest.UsageError(f"conformance: {exc}") from None
    try:
        if cfg.embedded:
            server = EmbeddedServer(config.rootpath, cfg.key, cfg.timeout_multiplier)
            state.server = server
            config.add_cleanup(server.stop)  # also when the run is interrupted
            from dataclasses import replace

            cfg = replace(cfg, url=server.start(), extra={"cwd": str(config.rootpath)})
        probe(cfg, config.getoption("rt_wait"))
    except TargetError as exc:
        state.target_error = str(exc)
        state.target = cfg
        pytest.exit(f"conformance: {exc}", returncode=EXIT_TARGET_UNREACHABLE)
    state.target = cfg


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """Name the target and its declared features at the top of the run."""
    state = config.stash.get(STATE_KEY, None)
    if state is None or state.target is None:
        return None
    cfg = state.target
    where = f"{cfg.url} (embedded reference server)" if cfg.embedded else cfg.url
    return [
        f"conformance target: {where}",
        f"conformance features: {', '.join(sorted(cfg.features)) or '(none declared)'}; "
        f"level: {state.level}; timeout multiplier: {cfg.timeout_multiplier}",
    ]


# -- per-check verdicts ----------------------------------------------------------------------


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Start each check with an empty set of verified requirements."""
    if is_check(item):
        from conformance.failures import reset_verified

        reset_verified()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Every wait of a check has a deadline; should one still hang, dump the stacks."""
    if not is_check(item):
        yield
        return
    import faulthandler

    multiplier = item.config.getoption("rt_timeout_multiplier")
    faulthandler.dump_traceback_later(WATCHDOG_S * multiplier, exit=False)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """Turn each check's outcome into a verdict; explain failures; SHOULD failures warn."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    state = item.config.stash[STATE_KEY]
    if not state.active or not is_check(item):
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _judge(item, call, report, state)
    elif report.when == "teardown" and report.failed and item.nodeid in state.results:
        state.results[item.nodeid].outcome = "error"
        state.results[item.nodeid].message = f"teardown failed: {report.longreprtext[-300:]}"


def _judge(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport, state: SuiteState
) -> None:
    from conformance.failures import ConformanceFailure, HarnessError, verified
    from conformance.report import CheckResult

    ids = req_ids(item)
    result = CheckResult(nodeid=item.nodeid, reqs=ids, outcome="pass", duration_s=report.duration)
    state.results[item.nodeid] = result
    result.measured = {  # what a check recorded with `record_property` (e.g. media rates)
        str(k): str(v) for k, v in item.user_properties if k not in ("requirements", "levels")
    }
    if report.passed:
        return
    if report.skipped:
        reason = _skip_reason(report)
        result.message = reason
        result.outcome = "not-applicable" if reason.startswith(NA_PREFIX) else "error"
        return
    exc = call.excinfo.value if call.excinfo else None
    result.repro = repro_command(item)
    recorder = item.stash.get(RECORDER_KEY, None)
    result.trace = recorder.format() if recorder else ""
    result.message = str(exc) if exc is not None else report.longreprtext[-500:]
    if report.when == "setup" or isinstance(exc, HarnessError):
        result.outcome = "error"
    else:
        blamed = list(exc.reqs) if isinstance(exc, ConformanceFailure) and exc.reqs else []
        result.blamed = blamed  # may name rules the check is not marked with (frame validation)
        result.verified = sorted(verified() - set(result.blamed))
        result.outcome = "fail"
        known = _requirements()

        def level(req: str) -> str:
            return known[req].level if req in known else "MUST"

        if state.level == "must":  # a blamed SHOULD warns even when a MUST fails beside it
            result.warned = [r for r in result.blamed if level(r) != "MUST"]
        levels = {level(r) for r in (result.blamed or ids)}
        if state.level == "must" and "MUST" not in levels:
            result.outcome = "warn"
            report.outcome = "skipped"
            report.wasxfail = (
                f"conformance warning (SHOULD {' '.join(result.blamed or ids)}): "
                + result.message.splitlines()[0][:200]
                if result.message
                else "conformance warning"
            )
            return
    report.sections.append(("conformance requirement", _describe(result.blamed or ids)))
    report.sections.append(("conformance frame trace", result.trace or "(no frames)"))
    report.sections.append(("conformance reproduce", result.repro))


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
        return reason.removeprefix("Skipped: ")
    return str(longrepr)


def _describe(ids: list[str]) -> str:
    known = _requirements()
    lines = []
    for req_id in ids:
        req = known.get(req_id)
        if req is None:
            lines.append(f"{req_id}: (not in the spec's requirement list)")
        else:
            lines.append(f"{req_id} [{req.level}, {req.profile}] {req.text}\n  see {req.link}")
    return "\n".join(lines)


def repro_command(item: pytest.Item) -> str:
    """One command line that runs just this check against the same target."""
    config = item.config
    path = Path(str(item.path)).resolve()
    try:
        rel = path.relative_to(config.rootpath)
        selection = [str(rel) + "::" + item.nodeid.split("::", 1)[1]]
    except ValueError:
        module = "conformance.checks." + path.stem
        selection = ["--pyargs", module, "-k", item.name]
    args = ["pytest", *selection]
    state = config.stash[STATE_KEY]
    cfg = state.target
    if cfg is not None and not cfg.embedded:
        args += ["--target", cfg.url]
    for opt, flag in (
        ("rt_features", "--features"),
        ("rt_target_config", "--target-config"),
        ("rt_timeout_multiplier", "--timeout-multiplier"),
    ):
        value = config.getoption(opt)
        if value and not (opt == "rt_timeout_multiplier" and value == 1.0):
            args += [flag, str(value)]
    if state.level != "must":
        args += ["--level", state.level]
    return shlex.join(args)


# -- end of run ------------------------------------------------------------------------------


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """A short conformance summary: verdict counts, warnings, not-applicable checks."""
    state = config.stash.get(STATE_KEY, None)
    if state is None or not state.active or not state.results:
        return
    tr = terminalreporter
    tr.section("conformance summary")
    results = list(state.results.values())
    counts: dict[str, int] = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    cfg = state.target
    if cfg is not None:
        tr.write_line(f"target {cfg.url}; level {state.level}")
    tr.write_line("checks: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
    for r in results:
        if r.outcome == "warn":
            tr.write_line(f"WARN {' '.join(r.blamed or r.reqs)} {r.nodeid}")
            tr.write_line(f"     {r.message.splitlines()[0][:160] if r.message else ''}")
            tr.write_line(f"     reproduce: {r.repro}")
    for r in results:
        for name, value in r.measured.items():
            tr.write_line(f"measured {name}: {value} ({r.nodeid.rsplit('::', 1)[-1]})")
    na = [r for r in results if r.outcome == "not-applicable"]
    if na:
        tr.write_line(f"not applicable ({len(na)}): " + "; ".join(sorted({r.message for r in na})))
    path = config.getoption("rt_report")
    if path:
        tr.write_line(f"report written to {path}")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the report, stop the embedded server; all-N/A runs are an error."""
    config = session.config
    state = config.stash.get(STATE_KEY, None)
    if state is None or not state.active:
        return
    try:
        results = list(state.results.values())
        if results and all(r.outcome == "not-applicable" for r in results):
            sys.stderr.write(
                "conformance: every selected check is not applicable to this target "
                "(declare its features with --features or --target-config)\n"
            )
            session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED
        path = config.getoption("rt_report")
        if path:
            _write_report(config, state, path)
    finally:
        if state.server is not None:
            state.server.stop()


def _write_report(config: pytest.Config, state: SuiteState, path: str) -> None:
    from conformance import catalog, coverage, report, schemas

    known = catalog.load()
    selectors = state.selectors
    in_scope: set[str] = set()
    covered = {r for item in state.selected for r in req_ids(item)}
    for req in known.values():
        if not req.server_side or req.level not in ("MUST", "SHOULD"):
            continue
        if selectors and not any(catalog.matches(req.id, s) for s in selectors):
            continue
        if req.id in covered or not _suite_covers(config, req.id):
            in_scope.add(req.id)
    cfg = state.target
    results = list(state.results.values())
    if state.target_error:  # nothing ran: every selected check is an error, not a verdict
        results = [
            report.CheckResult(i.nodeid, req_ids(i), "error", message=state.target_error)
            for i in state.selected
        ]
    doc = report.build(
        target=cfg.url if cfg else "",
        embedded=bool(cfg and cfg.embedded),
        features=sorted(cfg.features) if cfg else [],
        level=state.level,
        spec_version=catalog.spec_version(),
        checks=results,
        requirements={
            r.id: {
                "level": r.level,
                "profile": r.profile,
                "text": r.text,
                "link": r.link,
                "note": coverage.NOT_OBSERVABLE.get(r.id, ""),
            }
            for r in known.values()
        },
        in_scope=in_scope,
        extra={
            "run": {
                "duration_s": round(time.monotonic() - state.started, 2),
                "selectors": selectors,
                "schemas": schemas.sources(),
                "error": state.target_error or None,
            }
        },
    )
    if cfg is not None and cfg.extra.get("name"):
        doc["target"]["name"] = cfg.extra["name"]
    report.write(path, doc)


def _suite_covers(config: pytest.Config, req_id: str) -> bool:
    """True when some check of the suite (selected or not) is marked with `req_id`."""
    from conformance import coverage

    return req_id in coverage.covered_ids()
