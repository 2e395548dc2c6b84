"""Pytest hooks of production-app mode (spec chapter 13.4).

Loaded by the suite's plugin (its `pytest_plugins`). With `--sample-input`, the suite collects
only the checks of `conformance/checks/production/`, which need no conformance app; without
it, those are not collected, and a target that hosts no conformance app stops the run with one
line before any check runs. Standard library and pytest only at import time.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from conformance.production.app import Mode

CHECKS_DIR = Path(__file__).resolve().parent.parent / "checks"
PRODUCTION_DIR = CHECKS_DIR / "production"
MODE_KEY = pytest.StashKey[Mode | None]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """The production-mode options, in the suite's option group."""
    group = parser.getgroup("conformance", "realtime protocol conformance suite (server)")
    group.addoption(
        "--sample-input",
        dest="rt_sample_input",
        action="append",
        default=[],
        metavar="JSON|@FILE",
        help="check a production app (no conformance app needed): an input it accepts, as a "
        'JSON object; repeatable; also an array of inputs, or {"samples": [{"input": ..., '
        '"output": ...}]} with the outputs they must produce; =@FILE reads one from a file',
    )
    group.addoption(
        "--sample-file",
        dest="rt_sample_file",
        action="append",
        default=[],
        metavar="FILE",
        help="like --sample-input=@FILE: a JSON file of sample inputs (and outputs); repeatable",
    )
    group.addoption(
        "--realtime-path",
        dest="rt_realtime_path",
        default="/realtime",
        metavar="PATH",
        help="with --sample-input: the app's realtime endpoint path (default /realtime)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Read the samples once; a bad one is a usage error."""
    from conformance.production.samples import SampleError, parse_samples

    try:
        samples = parse_samples(
            config.getoption("rt_sample_input") or [], config.getoption("rt_sample_file") or []
        )
    except SampleError as exc:
        hint = (
            " (pytest expands a separate `@FILE` argument into the file's lines: write "
            "--sample-input=@FILE or --sample-file FILE)"
            if "not JSON" in str(exc)
            else ""
        )
        raise pytest.UsageError(f"conformance: {exc}{hint}") from None
    path = "/" + str(config.getoption("rt_realtime_path") or "/realtime").strip("/")
    config.stash[MODE_KEY] = Mode(samples, path) if samples else None


def production_mode(config: pytest.Config) -> Mode | None:
    """The production-app mode of this run (None: the conformance-app suite)."""
    return config.stash.get(MODE_KEY, None)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Sample-input mode collects only production checks; the default mode never does."""
    path = collection_path.resolve()
    if production_mode(config) is None:
        return True if path == PRODUCTION_DIR else None
    if path.parent == CHECKS_DIR and path.name.startswith("test_"):
        return True  # a conformance-app check: it needs the app's known outputs
    return None


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Without samples, stop in one line when the target hosts no conformance app."""
    from conformance.runstate import STATE_KEY

    config = session.config
    state = config.stash[STATE_KEY]
    cfg = state.target
    if production_mode(config) or not state.active or cfg is None or config.option.collectonly:
        return
    if cfg.embedded or cfg.features:  # the reference, or a target that claims the app
        return
    from conformance.production.preflight import missing_conformance_app

    problem = missing_conformance_app(cfg)
    if problem:
        raise pytest.UsageError(problem)


def production_args(config: pytest.Config) -> list[str]:
    """The options that put a reproduced check in the same mode."""
    args: list[str] = []
    for value in config.getoption("rt_sample_input") or []:
        args += ["--sample-input", value]
    for path in config.getoption("rt_sample_file") or []:
        args += ["--sample-file", path]
    mode = production_mode(config)
    if mode is not None and mode.path != "/realtime":
        args += ["--realtime-path", mode.path]
    return args


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, Any, None]:
    """Add this mode's options to the reproduce command the suite wrote for a failure.

    This wrapper is registered after the suite's own, so it runs around it and sees its result.
    """
    outcome = yield
    if production_mode(item.config) is None:
        return
    from conformance.runstate import STATE_KEY

    result = item.config.stash[STATE_KEY].results.get(item.nodeid)
    if result is None or not result.repro or "--sample-" in result.repro:
        return
    result.repro = result.repro + " " + shlex.join(production_args(item.config))
    report: pytest.TestReport = outcome.get_result()
    report.sections = [
        (title, result.repro if title == "conformance reproduce" else body)
        for title, body in report.sections
    ]


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    """Say that this run checks a production app, and how."""
    mode = production_mode(config)
    if mode is None:
        return None
    declared = sum(1 for s in mode.samples if s.output is not None)
    return [
        f"conformance mode: production app on {mode.path} with {len(mode.samples)} sample "
        f"input(s), {declared} with declared outputs (spec 13.4)"
    ]


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Which requirements this mode checked, and which it could not, with the reason."""
    checked, unchecked = _coverage(config)
    if checked is None:
        return
    tr = terminalreporter
    tr.section("production-app mode (spec 13.4)")
    tr.write_line(f"checked {len(checked)} requirement(s): {' '.join(sorted(checked))}")
    by_reason: dict[str, list[str]] = {}
    for req_id, reason in sorted(unchecked.items()):
        by_reason.setdefault(reason, []).append(req_id)
    tr.write_line(f"could not check {len(unchecked)} server MUST/SHOULD requirement(s):")
    for reason, ids in by_reason.items():
        tr.write_line(f"  {reason}: {' '.join(ids)}")


@pytest.hookimpl(hookwrapper=True)
def pytest_sessionfinish(session: pytest.Session) -> Generator[None, None, None]:
    """After the suite wrote its JSON report, add what this mode could and could not check."""
    yield
    config = session.config
    path = config.getoption("rt_report", None)
    checked, unchecked = _coverage(config)
    if checked is None or not path or not Path(path).is_file():
        return
    mode = production_mode(config)
    assert mode is not None
    doc = json.loads(Path(path).read_text("utf-8"))
    doc["production_mode"] = {
        "realtime_path": mode.path,
        "samples": len(mode.samples),
        "declared_outputs": sum(1 for s in mode.samples if s.output is not None),
        "checked": sorted(checked),
        "not_checked": dict(sorted(unchecked.items())),
    }
    Path(path).write_text(json.dumps(doc, indent=2) + "\n", "utf-8")


def _coverage(config: pytest.Config) -> tuple[set[str] | None, dict[str, str]]:
    """(requirements a production check verified or judged, {unchecked ID: reason})."""
    from conformance.runstate import STATE_KEY

    mode = production_mode(config)
    state = config.stash.get(STATE_KEY, None)
    if mode is None or state is None or not state.results:
        return None, {}
    from conformance import catalog
    from conformance.production.coverage import unchecked_reasons

    judged: set[str] = set()
    not_applicable: dict[str, str] = {}
    for result in state.results.values():
        if result.outcome in ("pass", "fail", "warn"):
            judged.update(result.reqs)
        elif result.outcome == "not-applicable":
            for req_id in result.reqs:
                not_applicable.setdefault(req_id, result.message.removeprefix("not applicable: "))
    unchecked = unchecked_reasons(catalog.load(), judged, not_applicable)
    return judged, unchecked
