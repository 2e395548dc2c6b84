"""The one judge: a check's pytest outcome becomes its verdict (spec chapter 13: verdicts).

Server and client checks are judged alike. A pass passes; a skip whose reason starts with
"not applicable: " is not applicable, any other skip is an error; a `HarnessError` or a setup
failure is an error; a failure blames the requirements its `ConformanceFailure` names (else all
the check's IDs), and is a warning when none of them is a MUST and the run is at `--level must`.
Failures and errors carry the requirement text, the frame trace and a reproduce command: they
replace pytest's traceback of the suite's own code, which is appended only with -v or --tb.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from conformance import catalog
from conformance.failures import ConformanceFailure, HarnessError, verified
from conformance.options import ENV_KEY
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
    result.measured = {  # what a check recorded with `record_property` (e.g. media rates)
        str(k): str(v) for k, v in item.user_properties if k not in ("requirements", "levels")
    }
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
    show_trace = recorder is not None or not state.client_mode
    # Any object with toterminal() may stand in for the traceback (pytest duck-types it).
    report.longrepr = cast(
        Any,
        Explanation(
            headline=_headline(result),
            requirement=describe(result.blamed or ids),
            message=result.message,
            trace=(result.trace or "(no frames)") if show_trace else "",
            repro=result.repro,
            traceback=report.longreprtext if _wants_traceback(item.config) else "",
        ),
    )
    return result


def _wants_traceback(config: pytest.Config) -> bool:
    """The suite's own traceback is for -v (or an explicit --tb), not for everyday reading."""
    return config.get_verbosity() >= 1 or config.getoption("tbstyle", "auto") not in ("auto",)


def _headline(result: CheckResult) -> str:
    first = result.message.strip().splitlines()[0] if result.message.strip() else ""
    ids = " ".join(result.blamed or result.reqs)
    return f"{result.outcome.upper()} {ids}: {first}"[:300]


@dataclass(frozen=True)
class Crash:
    """Where pytest's short summary and JUnit's failure message read a failure's one line."""

    path: str
    lineno: int
    message: str


@dataclass
class Explanation:
    """A failed check as a reader needs it: requirement, what happened, frames, how to rerun.

    pytest prints it in place of the traceback (`toterminal`); JUnit writes its first line as
    the failure message and the whole text as the failure body.
    """

    headline: str
    requirement: str
    message: str
    trace: str
    repro: str
    traceback: str = ""

    @property
    def reprcrash(self) -> Crash:
        """The one-line summary (pytest's -r summary and JUnit's message attribute)."""
        return Crash("", 0, self.headline)

    def sections(self) -> list[tuple[str, str]]:
        """The titled parts, in reading order."""
        parts = [
            (REQUIREMENT_SECTION, self.requirement),
            ("what happened", self.message),
            (TRACE_SECTION, self.trace),
            (REPRO_SECTION, self.repro),
            ("suite traceback (-v)", self.traceback),
        ]
        return [(title, text) for title, text in parts if text]

    def __str__(self) -> str:
        blocks = [self.headline] + [f"--- {t} ---\n{text}" for t, text in self.sections()]
        return "\n\n".join(blocks)

    def toterminal(self, tw: Any) -> None:
        """Write the explanation where pytest would write the traceback."""
        tw.line(self.headline, red=True, bold=True)
        for title, text in self.sections():
            tw.sep("-", title)
            for line in text.splitlines():
                tw.line(line)


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
    command = shlex.join(args)
    if not state.client_mode and item.config.getoption("rt_key"):
        command += f' --key "${ENV_KEY}"'  # the key itself is never printed
    return command


def _server_args(config: pytest.Config, state: SuiteState) -> list[str]:
    args: list[str] = []
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
    return args
