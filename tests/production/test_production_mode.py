"""`pytest conformance --sample-input` judges plain apps by protocol rules only (spec 13.4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plain_app import PlainApp
from production_support import run_suite

SAMPLE = '{"text": "hi"}'
SAMPLES_WITH_OUTPUTS = {
    "samples": [
        {"input": {"text": "one"}, "output": {"reply": "ONE", "length": 3}},
        {"input": {"text": "two!"}, "output": {"reply": "TWO!", "length": 4}},
        {"input": {"text": "three"}, "output": {"reply": "THREE", "length": 5}},
    ]
}


def _samples_file(tmp_path: Path) -> str:
    path = tmp_path / "samples.json"
    path.write_text(json.dumps(SAMPLES_WITH_OUTPUTS))
    return f"@{path}"


def test_suite_passes_a_correct_plain_app(tmp_path: Path, plain_app: PlainApp) -> None:
    """Every protocol check passes; conformance-app rules are reported as not checked."""
    run = run_suite(tmp_path, "--target", plain_app.url, "--sample-input", SAMPLE)
    assert run.returncode == 0, run.output[-3000:]
    assert run.ids("fail") == set(), run.output[-3000:]
    assert run.ids("warn") == set(), run.output[-3000:]
    for req_id in ("RT-TRANS-001", "RT-MSG-021", "RT-CTRL-010", "RT-LIFE-022", "RT-TRANS-044"):
        assert run.verdict(req_id) == "pass", req_id
    assert run.report is not None
    mode = run.report["production_mode"]
    assert "RT-MSG-010" in mode["checked"]
    assert "conformance app" in mode["not_checked"]["RT-CONF-001"]
    assert "key" in mode["not_checked"]["RT-AUTH-001"]  # no key given: auth is not checked
    assert "declared outputs differ" in mode["not_checked"]["RT-MSG-030"]
    assert "could not check" in run.output
    assert "RT-HTTP-001" in run.output


def test_suite_checks_auth_order_and_path_when_given(tmp_path: Path) -> None:
    """With a key, declared outputs and a custom path, auth and order are judged too."""
    with PlainApp(path="/v1/generate", key="s3cret") as app:
        config = tmp_path / "target.json"
        config.write_text(json.dumps({"url": app.url, "key": "s3cret"}))
        run = run_suite(
            tmp_path,
            "--target-config",
            str(config),
            "--sample-input=" + _samples_file(tmp_path),
            "--realtime-path",
            "/v1/generate",
        )
    assert run.returncode == 0, run.output[-3000:]
    for req_id in ("RT-AUTH-001", "RT-AUTH-002", "RT-AUTH-010", "RT-AUTH-011", "RT-MSG-030"):
        assert run.verdict(req_id) == "pass", (req_id, run.output[-3000:])


BROKEN = [
    # fault, the exact MUSTs that fail, SHOULDs that warn (at --level must)
    ("drop-20th-input", {"RT-MSG-021"}, set()),
    ("text-outputs", {"RT-MSG-020", "RT-CTRL-004"}, set()),
    ("silent-on-malformed", {"RT-CTRL-010"}, set()),
    ("close-1011-after-rejection", {"RT-LIFE-020", "RT-CTRL-010"}, set()),
    ("error-as-binary", {"RT-CTRL-002"}, set()),
    ("upgrade-any-path", {"RT-TRANS-003"}, {"RT-TRANS-004"}),
    ("close-after-rejection", set(), {"RT-CTRL-012"}),
]


@pytest.mark.parametrize(("fault", "fails", "warns"), BROKEN, ids=[b[0] for b in BROKEN])
def test_suite_blames_the_broken_rule(
    tmp_path: Path, fault: str, fails: set[str], warns: set[str]
) -> None:
    """A plain app broken in one protocol way fails (or warns) for exactly that requirement."""
    with PlainApp(fault=fault) as app:
        run = run_suite(tmp_path, "--target", app.url, "--sample-input", SAMPLE)
    assert run.returncode == (1 if fails else 0), run.output[-3000:]
    assert run.ids("fail") == fails, run.output[-3000:]
    assert run.ids("warn") == warns, run.output[-3000:]
    assert run.report is not None
    repros = [c["repro"] for c in run.report["checks"] if c["outcome"] in ("fail", "warn")]
    assert repros
    assert all("--sample-input" in repro for repro in repros), repros  # reruns in this mode


def test_suite_passes_the_reference_in_sample_mode(tmp_path: Path) -> None:
    """The embedded reference (with its key, so auth is judged) passes production mode too."""
    run = run_suite(tmp_path, "--sample-input", '{"prompt": "hi"}')
    assert run.returncode == 0, run.output[-3000:]
    assert run.ids("fail") == set(), run.output[-3000:]
    assert run.verdict("RT-AUTH-001") == "pass", run.output[-3000:]
    assert run.verdict("RT-CONF-001") == "absent"  # a conformance-app check never ran


def test_suite_warns_on_reordered_outputs_when_outputs_are_given(tmp_path: Path) -> None:
    """Outputs sent out of input order break RT-MSG-030 (a SHOULD: a warning, exit 0)."""
    with PlainApp(fault="reorder") as app:
        run = run_suite(tmp_path, "--target", app.url, "--sample-file", _samples_file(tmp_path)[1:])
    assert run.returncode == 0, run.output[-3000:]
    assert run.verdict("RT-MSG-030") == "warn", run.output[-3000:]
    assert run.ids("fail") == set(), run.output[-3000:]


def test_suite_stops_in_one_line_without_samples(tmp_path: Path, plain_app: PlainApp) -> None:
    """A target with no conformance app and no sample input: one line, no check run, exit 4."""
    run = run_suite(tmp_path, "--target", plain_app.url)
    assert run.returncode == 4, run.output[-3000:]
    lines = [line for line in run.output.splitlines() if "hosts no conformance app" in line]
    assert len(lines) == 1, run.output[-3000:]
    assert "--sample-input" in lines[0], run.output[-3000:]
    assert " passed" not in run.output, run.output[-3000:]
    assert " failed" not in run.output, run.output[-3000:]


@pytest.mark.parametrize(
    "args",
    [
        ("--sample-input", '["not", "an", "object"]'),
        ("--sample-input", "{not json"),
        ("--sample-input=@/no/such/file",),
        ("--sample-file", "/no/such/file"),
    ],
    ids=["array-of-str", "not-json", "missing-file", "missing-sample-file"],
)
def test_suite_refuses_bad_sample_input(tmp_path: Path, args: tuple[str, ...]) -> None:
    """A sample input that is not a JSON object (or a readable file) is a usage error."""
    run = run_suite(tmp_path, "--target", "ws://127.0.0.1:9", *args)
    assert run.returncode == 4, run.output[-3000:]
    assert "conformance: --sample-input" in run.output, run.output[-3000:]
