"""Every report a run writes, from one report document (spec chapter 13: reports).

JSON (`--conformance-report`), HTML (`--conformance-html`), a Markdown job summary
(`--conformance-markdown`, or `$GITHUB_STEP_SUMMARY`), and the verdicts added to pytest's JUnit
XML (`--junitxml`). Each path written is recorded for the console's verdict line.
"""

from __future__ import annotations

import sys

import pytest

from conformance import html_report, job_summary, junit, report
from conformance.run_report import build_document
from conformance.runstate import SuiteState
from conformance.verdict import describe


def write_all(config: pytest.Config, state: SuiteState) -> None:
    """Build the run's report document once and write every report asked for."""
    document = build_document(state)
    state.document = document
    path = config.getoption("rt_report")
    if path:
        report.write(path, document)
        state.written.append(str(path))
    path = config.getoption("rt_html")
    if path:
        html_report.write(path, document)
        state.written.append(str(path))
    where = job_summary.destination(config.getoption("rt_markdown"))
    if where is not None:
        job_summary.write(where[0], document, append=where[1])
        state.written.append(where[0])
    xml_path = getattr(config.option, "xmlpath", None)
    if xml_path and state.results:
        ids = {r for result in state.results.values() for r in result.blamed or result.reqs}
        try:
            junit.enrich(xml_path, state.results, {r: describe([r]) for r in ids})
        except (OSError, ValueError) as exc:  # ET.ParseError is a ValueError
            sys.stderr.write(f"conformance: could not add verdicts to {xml_path}: {exc}\n")
        state.written.append(str(xml_path))
