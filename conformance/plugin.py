"""Pytest plugin of the conformance suite, server and client mode (spec chapter 13-conformance).

Registered as the one `conformance` pytest11 entry point. It imports only pytest, the standard
library and the suite's standard-library modules at load time, and does nothing unless checks
of the suite are collected. Server mode (default) checks a target server, or starts the
reference server when no `--target` is given; client mode (`--client-cmd`) plays scripted
servers for a client. Either way one judge (`conformance.verdict`) turns each check into a
verdict and one writer (`conformance.run_report`) builds the report.

Exit status: pytest's own (0 every selected MUST passed, 1 a check failed, 4 usage error,
5 nothing selected) plus `EXIT_TARGET_UNREACHABLE` (6) when the target cannot be reached or
the embedded reference server does not start.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from conformance import options, selection
from conformance.runstate import (
    CLIENT,
    EXIT_TARGET_UNREACHABLE,
    NA_PREFIX,
    RECORDER_KEY,
    SERVER,
    STATE_KEY,
    SuiteState,
)

__all__ = ["EXIT_TARGET_UNREACHABLE", "NA_PREFIX", "RECORDER_KEY", "STATE_KEY", "SuiteState"]

WATCHDOG_S = 120.0  # a check still running after this long prints every thread's stack

# Production-app mode (`--sample-input`, spec 13.4) lives in its own hooks.
pytest_plugins = ("conformance.production.plugin",)


def pytest_addoption(parser: pytest.Parser) -> None:
    """The suite's options, in one group (`conformance.options`)."""
    options.register(parser)


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
    command = config.getoption("client_cmd")
    config.stash[STATE_KEY] = SuiteState(
        mode=CLIENT if command else SERVER,
        level=config.getoption("rt_level"),
        command=str(command or ""),
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """The other mode's checks are not collected (so no "N deselected"), unless named."""
    ignored = selection.ignored_checks_dir(config)
    if collection_path.resolve() == ignored and not selection.named_on_command_line(
        config, ignored
    ):
        return True
    return None


def validate_ids(nodeid: str, ids: list[str]) -> None:
    """Raise a usage error (collection stops) for a missing, malformed or unknown ID."""
    selection.validate_ids(nodeid, ids)


@pytest.hookimpl(tryfirst=True)
def pytest_itemcollected(item: pytest.Item) -> None:
    """An unknown or malformed requirement ID in a `req` marker stops collection."""
    if not selection.is_check(item):
        return
    item.config.stash[STATE_KEY].collected += 1
    party = "client" if selection.is_client_check(item) else None
    selection.validate_ids(item.nodeid, selection.req_ids(item), party)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Keep the checks of this run's mode, and with --req only the matching ones."""
    state = config.stash[STATE_KEY]
    if not state.collected:  # no check of the suite was collected (before -k/-m deselection)
        return
    state.selectors = selection.selectors(config)
    if state.selectors:
        selection.check_selectors(state.selectors)
    state.active = True
    keep, drop = selection.split(items, state.client_mode, state.selectors)
    state.not_selected = len(drop)
    state.other_mode = sum(selection.is_client_check(i) != state.client_mode for i in drop)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    state.selected = [item for item in items if selection.is_check(item)]
    from conformance import catalog

    known = catalog.load()
    for item in state.selected:
        ids = selection.req_ids(item)
        item.user_properties.append(("requirements", " ".join(ids)))
        levels = sorted({known[r].level for r in ids if r in known})
        if levels:
            item.user_properties.append(("levels", " ".join(levels)))


def _empty_selection_message(state: SuiteState) -> str:
    if state.other_mode and state.client_mode:
        return "conformance: server checks do not run with --client-cmd (client mode)"
    if state.other_mode:
        return "conformance: client checks run only with --client-cmd COMMAND (spec chapter 13)"
    if state.selectors:
        given = " ".join(state.selectors)
        return f"conformance: the selection is empty: no check matches --req {given}"
    if state.client_mode:
        return "conformance: the selection is empty: no client check was collected"
    return "conformance: the selection is empty: no check matches the -k/-m filters"


def pytest_collection_finish(session: pytest.Session) -> None:
    """An empty selection is an error; otherwise reach (or start) the target."""
    config = session.config
    state = config.stash[STATE_KEY]
    if not state.active:
        return
    if not state.selected:
        state.active = False
        raise pytest.UsageError(_empty_selection_message(state))
    if config.option.collectonly or state.client_mode:
        return
    _resolve_target(config, state)


def _resolve_target(config: pytest.Config, state: SuiteState) -> None:
    from dataclasses import replace

    from conformance.target import EmbeddedServer, TargetError, build_config, probe

    url = config.getoption("rt_target") or os.environ.get(options.ENV_TARGET) or None
    try:
        cfg = build_config(
            url,
            config.getoption("rt_features"),
            config.getoption("rt_target_config"),
            config.getoption("rt_timeout_multiplier"),
            key=config.getoption("rt_key") or os.environ.get(options.ENV_KEY) or None,
        )
    except (OSError, ValueError) as exc:
        raise pytest.UsageError(f"conformance: {exc}") from None
    try:
        if cfg.embedded:
            server = EmbeddedServer(config.rootpath, cfg.key, cfg.timeout_multiplier)
            state.server = server
            config.add_cleanup(server.stop)  # also when the run is interrupted
            cfg = replace(cfg, url=server.start(), extra={"cwd": str(config.rootpath)})
        probe(cfg, config.getoption("rt_wait"))
    except TargetError as exc:
        state.target_error = str(exc)
        state.target = cfg
        pytest.exit(f"conformance: {exc}", returncode=EXIT_TARGET_UNREACHABLE)
    state.target = cfg


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """Name the target (or the client command) and the level at the top of the run."""
    state = config.stash.get(STATE_KEY, None)
    if state is None or not state.active:
        return None
    if state.client_mode:
        return [f"conformance client: {state.command}; level: {state.level}"]
    if state.target is None:
        return None
    cfg = state.target
    return [
        f"conformance target: {state.describe_target()}",
        f"conformance features: {', '.join(sorted(cfg.features)) or '(none declared)'}; "
        f"level: {state.level}; timeout multiplier: {cfg.timeout_multiplier}",
    ]


# -- per-check verdicts ----------------------------------------------------------------------


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Start each check with an empty set of verified requirements."""
    if selection.is_check(item):
        from conformance.failures import reset_verified

        reset_verified()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Every wait of a check has a deadline; should one still hang, dump the stacks."""
    if not selection.is_check(item):
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
    """Turn each check's outcome into a verdict (`conformance.verdict.judge`)."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    state = item.config.stash[STATE_KEY]
    if not state.active or not selection.is_check(item):
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        from conformance.verdict import judge

        judge(item, call, report, state)
    elif report.when == "teardown" and report.failed and item.nodeid in state.results:
        state.results[item.nodeid].outcome = "error"
        state.results[item.nodeid].message = f"teardown failed: {report.longreprtext[-300:]}"


# -- end of run ------------------------------------------------------------------------------


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The conformance summary, ending with one verdict line."""
    state = config.stash.get(STATE_KEY, None)
    if state is None or not state.active or state.document is None:
        return
    from conformance.console import failing_requirements, summary_lines, verdict_line

    terminalreporter.section("conformance summary")
    for line in summary_lines(state):
        terminalreporter.write_line(line)
    line = verdict_line(state, state.document, state.written)
    terminalreporter.write_sep("=", line, bold=True, red=bool(failing_requirements(state.document)))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the reports, stop the embedded server; all-N/A runs are an error."""
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
        if results or state.target_error:
            from conformance.outputs import write_all

            write_all(config, state)
    finally:
        if state.server is not None:
            state.server.stop()
