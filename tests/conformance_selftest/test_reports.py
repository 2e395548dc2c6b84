"""Reports CI systems and people read: console verdict, JUnit, HTML, Markdown (spec chapter 13).

Every test runs the real suite in a subprocess against a real server on 127.0.0.1: the embedded
reference, a keyed reference, or a tiny target that breaks a MUST (text outputs) or only a
SHOULD (fal-like: closes after a rejected input).
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

TEXT_TARGET_REQ = ("--req", "RT-MSG-020")


def _verdict_lines(output: str) -> list[str]:
    return [
        line for line in output.splitlines() if "conformance: " in line and "CONFORMANT" in line
    ]


def test_console_ends_with_one_verdict_line_naming_the_embedded_reference(
    suite: Any, tmp_path: Path
) -> None:
    run = suite("--req", "RT-MSG-021")
    assert run.returncode == 0, run.output[-3000:]
    [line] = _verdict_lines(run.output)
    assert "CONFORMANT at level must" in line
    assert "NOT" not in line
    assert "(the embedded reference server)" in line
    assert str(tmp_path / "report.json") in line  # where the report went
    assert "the suite started the embedded reference server" in run.output
    # pytest's "N deselected" is explained by the suite.
    assert re.search(
        r"\d+ checks left out \(pytest: deselected\): not of --req RT-MSG-021", run.output
    )


def test_whole_suite_collects_no_client_checks_so_nothing_is_deselected(suite: Any) -> None:
    run = suite("--collect-only", paths=("conformance",))
    assert run.returncode == 0, run.output[-3000:]
    assert "deselected" not in run.output
    assert "client_mode" not in run.output


def test_verdict_line_names_the_failing_requirement(suite: Any, text_output_target: Any) -> None:
    run = suite("--target", text_output_target.url, *TEXT_TARGET_REQ)
    assert run.returncode == 1, run.output[-3000:]
    [line] = _verdict_lines(run.output)
    assert "NOT CONFORMANT at level must" in line
    assert "RT-MSG-020" in line
    assert text_output_target.url in line


def test_failure_prints_requirement_and_trace_first_and_traceback_only_with_v(
    suite: Any, text_output_target: Any
) -> None:
    quiet = suite("--target", text_output_target.url, *TEXT_TARGET_REQ)
    failure = quiet.output[quiet.output.index("FAIL RT-MSG-020") :]
    requirement = failure.index("RT-MSG-020 [MUST, core] A server MUST send each output")
    assert requirement < failure.index("S->C TEXT") < failure.index("pytest conformance/checks/")
    assert "suite traceback" not in quiet.output
    assert "conformance/wsconn.py" not in quiet.output  # no frame of the suite's own code
    verbose = suite("--target", text_output_target.url, *TEXT_TARGET_REQ, "-vv")
    assert verbose.returncode == 1
    assert "suite traceback (-v)" in verbose.output
    assert "wsconn.py" in verbose.output


def test_junit_failure_carries_requirement_link_trace_and_reproduce(
    suite: Any, text_output_target: Any, tmp_path: Path
) -> None:
    junit = tmp_path / "junit.xml"
    run = suite("--target", text_output_target.url, *TEXT_TARGET_REQ, f"--junitxml={junit}")
    assert run.returncode == 1, run.output[-3000:]
    failures = list(ET.parse(junit).getroot().iter("failure"))
    assert failures, "no failure in the JUnit file"
    failure = failures[0]
    assert "RT-MSG-020" in (failure.get("message") or "")
    body = failure.text or ""
    assert "A server MUST send each output as one binary message" in body
    assert "spec/04-messages.md#rt-msg-020" in body
    assert "S->C TEXT" in body
    assert f"--target {text_output_target.url}" in body


def test_junit_warning_is_a_passed_case_with_the_warning_in_system_out(
    suite: Any, fal_like_target: Any, tmp_path: Path
) -> None:
    junit = tmp_path / "junit.xml"
    run = suite("--target", fal_like_target.url, "--req", "RT-CTRL-012", f"--junitxml={junit}")
    assert run.returncode == 0, run.output[-3000:]
    assert run.verdict("RT-CTRL-012") == "warn"
    warned = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        if props.get("conformance.verdict") == "warn":
            warned.append(case)
            assert case.find("skipped") is None
            assert case.find("failure") is None
            out = case.findtext("system-out") or ""
            # Other checks marked RT-CTRL-012 (the session vectors) may blame it beside others.
            assert re.search(r"conformance warning \(SHOULD [^)]*RT-CTRL-012", out), out[:300]
            assert "spec/05-control-frames.md#rt-ctrl-012" in out
            assert "reproduce: pytest " in out
    assert warned, "no test case carries the warn verdict"


def test_html_report_is_one_self_contained_file_with_filters_and_traces(
    suite: Any, fal_like_target: Any, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    run = suite(
        "--target", fal_like_target.url, "--req", "RT-CTRL-012", f"--conformance-html={page}"
    )
    assert run.returncode == 0, run.output[-3000:]
    text = page.read_text("utf-8")
    assert list(tmp_path.glob("*.html")) == [page]
    # Nothing is fetched: no external scripts, styles, images or fonts.
    assert not re.search(r"""(src|href)=["']?(https?:)?//|@import|url\(""", text)
    for name in ("level", "profile", "verdict"):
        assert f'data-filter="{name}"' in text
    row = re.search(
        r'<tr data-level="SHOULD" data-profile="robust" data-verdict="warn">'
        r'<td><a id="rt-ctrl-012"></a>.*?</tr>',
        text,
        re.S,
    )
    assert row is not None
    for part in ("RT-CTRL-012", "frame trace", "S-&gt;C", "reproduce"):
        assert part in row.group(0)


def test_markdown_job_summary_to_a_file_and_to_github_step_summary(
    suite: Any, text_output_target: Any, tmp_path: Path
) -> None:
    md = tmp_path / "summary.md"
    run = suite(
        "--target", text_output_target.url, *TEXT_TARGET_REQ, f"--conformance-markdown={md}"
    )
    assert run.returncode == 1
    text = md.read_text("utf-8")
    assert text.startswith("### Conformance: ❌ not conformant at level `must`")
    assert "**RT-MSG-020** [MUST] A server MUST send each output" in text
    assert "--target " + text_output_target.url in text
    step = tmp_path / "step_summary.md"
    step.write_text("earlier step\n", "utf-8")
    run = suite("--req", "RT-MSG-021", env={"GITHUB_STEP_SUMMARY": str(step)})
    assert run.returncode == 0, run.output[-3000:]
    appended = step.read_text("utf-8")
    assert appended.startswith("earlier step\n### Conformance: ✅ conformant")
    assert str(step) in _verdict_lines(run.output)[0]


def test_target_ending_in_realtime_is_a_usage_error_with_a_base_url_hint(suite: Any) -> None:
    run = suite("--target", "ws://127.0.0.1:9/realtime", "--req", "RT-MSG-021")
    assert run.returncode == 4, run.output[-3000:]
    assert "base URL" in run.output
    assert "did you mean --target ws://127.0.0.1:9?" in run.output


def test_auth_without_a_key_is_one_usage_error(suite: Any) -> None:
    for features in ("auth", "all"):
        run = suite("--target", "ws://127.0.0.1:9", "--features", features, "--req", "RT-AUTH")
        assert run.returncode == 4, run.output[-3000:]
        errors = [line for line in run.output.splitlines() if line.startswith("ERROR:")]
        assert len(errors) == 1, run.output[-3000:]
        assert "--key SECRET" in errors[0]
        assert "FAILED" not in run.output


def test_webrtc_media_without_aiortc_is_one_usage_error(suite: Any, tmp_path: Path) -> None:
    """Before: each webrtc-media check errored on its own (one error per check, exit 6)."""
    hide = tmp_path / "no_aiortc"
    hide.mkdir()
    # Imported at start-up: aiortc and PyAV look uninstalled (find_spec None, import fails).
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['aiortc'] = None\n")
    env = {"PYTHONPATH": os.pathsep.join([str(hide), os.environ.get("PYTHONPATH", "")])}
    for features in ("webrtc-media", "all"):
        args = ("--features", features, "--key", "k", "--req", "RT-RTC")
        run = suite("--target", "ws://127.0.0.1:9", *args, env=env)
        assert run.returncode == 4, run.output[-3000:]
        errors = [line for line in run.output.splitlines() if line.startswith("ERROR:")]
        assert len(errors) == 1, run.output[-3000:]
        assert "[webrtc]" in errors[0]
    embedded = suite("--features", "webrtc-media", "--req", "RT-RTC", env=env)
    assert embedded.returncode == 4, embedded.output[-3000:]


def test_key_option_lets_the_auth_checks_run_and_is_never_printed(
    suite: Any, keyed_reference: Any
) -> None:
    key = keyed_reference.key
    run = suite("--target", keyed_reference.url, "--features", "auth", "--key", key)
    assert run.returncode == 0, run.output[-3000:]
    assert run.verdict("RT-AUTH-001") == "pass"
    assert key not in run.output
    assert key not in str(run.report)


def test_reproduce_command_reads_the_key_from_the_environment(
    suite: Any, text_output_target: Any
) -> None:
    secret = "never-printed-7c2d"
    run = suite("--target", text_output_target.url, *TEXT_TARGET_REQ, "--key", secret)
    assert run.returncode == 1, run.output[-3000:]
    assert secret not in run.output
    assert '--key "$RT_CONFORMANCE_KEY"' in run.output


def test_client_checks_named_without_client_cmd_are_a_usage_error(suite: Any) -> None:
    run = suite(paths=("conformance/client_mode/checks/test_inputs.py",))
    assert run.returncode == 4, run.output[-3000:]
    assert "client checks run only with --client-cmd COMMAND" in run.output
