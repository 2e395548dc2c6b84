"""The suite's command line: exit statuses, selection, levels, N/A, JUnit (spec chapter 13)."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from conformance.plugin import EXIT_TARGET_UNREACHABLE


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_target_is_one_error_with_its_own_exit_status(suite: Any) -> None:
    run = suite("--target", f"ws://127.0.0.1:{_closed_port()}", "--req", "RT-MSG")
    assert run.returncode == EXIT_TARGET_UNREACHABLE, run.output[-2000:]
    assert "unreachable" in run.output
    assert "FAILED" not in run.output
    assert run.report is not None
    assert run.report["run"]["error"]
    assert {e["verdict"] for e in run.report["requirements"].values() if e["checks"]} == {"error"}


def test_unknown_requirement_selector_is_a_usage_error(suite: Any) -> None:
    run = suite("--req", "RT-NOPE-001")
    assert run.returncode == 4, run.output[-2000:]
    assert "matches no requirement" in run.output


def test_empty_selection_is_an_error(suite: Any) -> None:
    run = suite("-k", "no_check_has_this_name")
    assert run.returncode == 4, run.output[-2000:]
    assert "selection is empty" in run.output


def test_should_failure_warns_at_must_level(suite: Any, fal_like_target: Any) -> None:
    run = suite("--target", fal_like_target.url, "--req", "RT-CTRL-012")
    assert run.returncode == 0, run.output[-3000:]
    assert run.verdict("RT-CTRL-012") == "warn"
    assert "WARN RT-CTRL-012" in run.output


def test_should_failure_fails_at_should_level(suite: Any, fal_like_target: Any) -> None:
    run = suite("--target", fal_like_target.url, "--req", "RT-CTRL-012", "--level", "should")
    assert run.returncode == 1, run.output[-3000:]
    assert run.verdict("RT-CTRL-012") == "fail"


def test_must_failure_explains_itself(suite: Any, text_output_target: Any) -> None:
    run = suite("--target", text_output_target.url, "--req", "RT-MSG-020")
    assert run.returncode == 1, run.output[-3000:]
    assert run.verdict("RT-MSG-020") == "fail"
    out = run.output
    assert "RT-MSG-020 [MUST, core] A server MUST send each output as one binary message" in out
    assert "spec/04-messages.md#rt-msg-020" in out
    assert "S->C TEXT" in out  # the frame trace, with direction and opcode
    assert f"--target {text_output_target.url}" in out  # the reproduction command
    check = next(c for c in run.report["checks"] if c["outcome"] == "fail")
    assert check["repro"].startswith("pytest conformance/checks/")
    assert "RT-MSG-020" in check["blamed"]


def test_undeclared_feature_is_not_applicable_never_pass(suite: Any) -> None:
    run = suite("--req", "RT-HTTP", "--features", "delay")
    assert run.returncode == 0, run.output[-3000:]
    assert run.verdict("RT-HTTP-004") == "not-applicable"  # needs handler-error
    assert run.verdict("RT-HTTP-001") == "pass"
    assert "not applicable: the target does not declare the feature 'handler-error'" in run.output


def test_all_not_applicable_is_an_error(suite: Any) -> None:
    run = suite("--req", "RT-AUTH", "--features", "delay")
    assert run.returncode == 5, run.output[-3000:]
    assert "every selected check is not applicable" in run.output


def test_junit_carries_requirement_ids(suite: Any, tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    run = suite("--req", "RT-MSG-021", f"--junitxml={junit}")
    assert run.returncode == 0, run.output[-3000:]
    cases = ET.parse(junit).getroot().iter("testcase")
    props = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in cases
    }
    assert props, "no test cases in the JUnit file"
    for name, values in props.items():
        assert "RT-MSG-021" in (values.get("requirements") or ""), (name, values)
