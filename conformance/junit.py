"""The conformance verdicts in pytest's JUnit XML, where CI dashboards show them (chapter 13).

pytest writes the file (`--junitxml`); at the end of the run the suite adds to each of its
test cases a `conformance.verdict` property and, for a warning, the warning with its
requirement, frame trace and reproduce command as `system-out`. A SHOULD warning is a passed
test case (GitHub and GitLab hide skipped ones); a failure's message and body already hold the
requirement, trace and reproduce command (`conformance.verdict.Explanation`). Standard library
only.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

from conformance.report import CheckResult

VERDICT_PROPERTY = "conformance.verdict"


def junit_name(nodeid: str) -> tuple[str, str]:
    """(classname, name) pytest gives a node ID in JUnit XML (`_pytest.junitxml` mangling)."""
    path, bracket, params = nodeid.partition("[")
    names = path.split("::")
    names[0] = re.sub(r"\.py$", "", names[0].replace("/", "."))
    names[-1] += bracket + params
    return ".".join(names[:-1]), names[-1]


def _warning_text(result: CheckResult, describe: Mapping[str, str]) -> str:
    ids = result.blamed or result.reqs
    parts = [
        f"conformance warning (SHOULD {' '.join(ids)}): the check passes at --level must",
        "\n".join(describe.get(r, r) for r in ids),
        result.message,
        f"frame trace:\n{result.trace}" if result.trace else "",
        f"reproduce: {result.repro}",
    ]
    return "\n\n".join(p for p in parts if p)


def enrich(
    path: str | Path, results: Mapping[str, CheckResult], describe: Mapping[str, str]
) -> int:
    """Add verdicts (and warnings' details) to the JUnit file at `path`; return cases touched.

    `describe` maps a requirement ID to its text and spec link.
    """
    tree = ET.parse(path)
    by_name = {junit_name(nodeid): result for nodeid, result in results.items()}
    touched = 0
    for case in tree.getroot().iter("testcase"):
        classname, name = case.get("classname", ""), case.get("name", "")
        result = next(
            (r for (c, n), r in by_name.items() if n == name and classname.endswith(c)), None
        )
        if result is None:
            continue
        touched += 1
        props = case.find("properties")
        if props is None:
            props = ET.Element("properties")
            case.insert(0, props)
        ET.SubElement(props, "property", name=VERDICT_PROPERTY, value=result.outcome)
        if result.outcome == "warn":
            out = case.find("system-out")
            if out is None:
                out = ET.SubElement(case, "system-out")
            out.text = _warning_text(result, describe) + ("\n\n" + out.text if out.text else "")
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return touched
