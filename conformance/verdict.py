"""The one judge: a check's pytest outcome becomes its verdict (spec chapter 13: verdicts).

Server and client checks are judged alike. A pass passes; a skip whose reason starts with
"not applicable: " is not applicable, any other skip is an error; a `HarnessError` or a setup
failure is an error; a failure blames the requirements its `ConformanceFailure` names (else all
the check's IDs), and is a warning when none of them is a MUST and the run is at `--level must`.
Failures and errors carry the requirement text, the frame trace and a reproduce command.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from conformance import catalog
from conformance.failures import ConformanceFailure, HarnessError, verified
from conformance.report import CheckResult
from conformance.runstate import NA_PREFIX, RECORDER_KEY, SuiteState
from conformance.selection import SUITE_DIR, req_ids

REQUIREMENT_SECTION = "conformance requirement"
TRACE_SECTION = "conformance frame trace"
REPRO_SECTION = "conformance reproduce"
WARNING_PREFIX = "conformance warning"


def judge(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport, state: SuiteState
) -> CheckResult:
    """Record the verdict of `item` from its setup or call report (and adjust the report)."""
    ids = req_ids(item)
    result = CheckResult(nodeid=item.nodeid, reqs=ids, outcome="pass", duration_s=report.duration)
    state.results[item.nodeid] = result
    if report.passed:
        return result
    if report.skipped:
        result.message = skip_reason(report)
        result.outcome = "not-applicable" if result.message.startswith(NA_PREFIX) else "error"
        return result
    exc = call.excinfo.value if call.excinfo else None
    result.repro = repro_command(item, state)
    recorder = item.stash.get(RECORDER_KEY, None)
    result.trace = recorder.format() if recorder else ""
    result.message = str(exc) if exc is not None else report.longreprtext[-500:]
    if report.when == "setup" or isinstance(exc, HarnessError):
        result.outcome = "error"
    else:
        _blame(result, exc, state.level)
        if result.outcome == "warn":
            _report_as_warning(report, result)
            return result
    report.sections.append((REQUIREMENT_SECTION, describe(result.blamed or ids)))
    if recorder is not None or not state.client_mode:
        report.sections.append((TRACE_SECTION, result.trace or "(no frames)"))
    report.sections.append((REPRO_SECTION, result.repro))
    return result


def _level(req_id: str) -> str:
    req = catalog.load().get(req_id)
    return req.level if req is not None else "MUST"


def _blame(result: CheckResult, exc: BaseException | None, level: str) -> None:
    """Fail the blamed requirements; a failure that blames no MUST warns at --level must."""
    blamed = list(exc.reqs) if isinstance(exc, ConformanceFailure) and exc.reqs else []
    result.blamed = blamed  # may name rules the check is not marked with (frame validation)
    result.verified = sorted(verified() - set(blamed))
    result.outcome = "fail"
    if level == "must":  # a blamed SHOULD warns even when a MUST fails beside it
        result.warned = [r for r in blamed if _level(r) != "MUST"]
        if "MUST" not in {_level(r) for r in (blamed or result.reqs)}:
            result.outcome = "warn"


def _report_as_warning(report: pytest.TestReport, result: CheckResult) -> None:
    """A SHOULD warning counts as passed for pytest; the warning goes in the report's sections.

    CI dashboards (GitHub, GitLab) hide skipped tests, so a warning is a passed testcase whose
    JUnit entry carries the warning in its properties and system-out (see the README).
    """
    report.outcome = "passed"
    first = result.message.splitlines()[0][:200] if result.message else ""
    ids = " ".join(result.blamed or result.reqs)
    report.sections.append((WARNING_PREFIX, f"SHOULD {ids}: {first}"))
    report.sections.append((REQUIREMENT_SECTION, describe(result.blamed or result.reqs)))
    if result.trace:
        report.sections.append((TRACE_SECTION, result.trace))
    report.sections.append((REPRO_SECTION, result.repro))


def skip_reason(report: pytest.TestReport) -> str:
    """The reason a check skipped (without pytest's "Skipped: " prefix)."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def describe(ids: list[str]) -> str:
    """Each requirement's level, profile, text and spec link, one block per ID."""
    known = catalog.load()
    lines = []
    for req_id in ids:
        req = known.get(req_id)
        if req is None:
            lines.append(f"{req_id}: (not in the spec's requirement list)")
        else:
            lines.append(f"{req_id} [{req.level}, {req.profile}] {req.text}\n  see {req.link}")
    return "\n".join(lines)


def repro_command(item: pytest.Item, state: SuiteState) -> str:
    """One command line that runs just this check against the same target or client."""
    config = item.config
    path = Path(str(item.path)).resolve()
    try:
        rel = path.relative_to(config.rootpath)
        selection = [str(rel) + "::" + item.nodeid.split("::", 1)[1]]
    except ValueError:
        module = ".".join(("conformance", *path.relative_to(SUITE_DIR).with_suffix("").parts))
        selection = ["--pyargs", module, "-k", item.name]
    args = ["pytest", *selection]
    if state.client_mode:
        args += ["--client-cmd", state.command]
    else:
        args += _server_args(config, state)
    if state.level != "must":
        args += ["--level", state.level]
    return shlex.join(args)


def _server_args(config: pytest.Config, state: SuiteState) -> list[str]:
    args: list[str] = []
    cfg = state.target
    if cfg is not None and not cfg.embedded:
        args += ["--target", cfg.url]
    for opt, flag in (
        ("rt_features", "--features"),
        ("rt_target_config", "--target-config"),
        ("rt_key", "--key"),
        ("rt_timeout_multiplier", "--timeout-multiplier"),
    ):
        value = config.getoption(opt)
        if value and not (opt == "rt_timeout_multiplier" and value == 1.0):
            args += [flag, str(value)]
    return args
