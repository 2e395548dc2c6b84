"""Load runs with a user's own inputs and path (`--sample-input`, `--realtime-path`).

Bounded headless runs (2 users, 3 s) against the reference server, whose gateway alias
`/{owner}/{app}/realtime` stands in for a production app's own path.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from loadtest_support import reference_server, run_locust

GATEWAY_PATH = "/acme/generator/realtime"


@pytest.fixture(scope="module")
def reference_url() -> Iterator[str]:
    """The reference server, one per test module."""
    with reference_server() as url:
        yield url


def _rows(path: Path) -> dict[tuple[str, str], dict[str, object]]:
    report = json.loads(path.read_text(encoding="utf-8"))
    return {(str(r["type"]), str(r["name"])): r for r in report["rows"]}


def _run(cwd: Path, host: str, users: int, *args: str) -> subprocess.CompletedProcess[str]:
    """One bounded headless run: `users` users for 3 s against `host`."""
    bounds = ["--headless", "-u", str(users), "-r", str(users), "-t", "3s", "--host", host]
    return run_locust([*bounds, *args], cwd=cwd)


def _count(row: dict[str, object], key: str = "requests") -> int:
    return int(str(row[key]))


def test_sample_inputs_on_own_path_are_round_trips(reference_url: str, tmp_path: Path) -> None:
    """Sample inputs go to --realtime-path; handshakes stay out of the round-trip aggregate."""
    result = _run(
        tmp_path,
        reference_url,
        2,
        *("--sample-input", '{"prompt": "hi"}', "--realtime-path", GATEWAY_PATH),
        *("--latency-prefix", "out/run", "-T", "paced", "newconn"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = _rows(tmp_path / "out/run_latency_us.json")
    paced = rows[("WS", GATEWAY_PATH)]
    newconn = rows[("WS new conn", f"{GATEWAY_PATH} handshake + round trip")]
    connects = rows[("WS connect", GATEWAY_PATH)]
    assert _count(paced) > 0
    assert _count(paced, "failures") == 0
    assert _count(connects) >= 1
    assert _count(rows[("", "Aggregated")]) == _count(paced) + _count(newconn)
    assert _count(rows[("WS connect", "Aggregated")]) == _count(connects)


def test_declared_outputs_are_checked(reference_url: str, tmp_path: Path) -> None:
    """A reply that differs from the sample's declared output is a failure with its reason."""
    samples = {
        "samples": [
            {"input": {"prompt": "a"}, "output": {"output": "a"}},
            {"input": {"prompt": "b"}, "output": {"output": "not what the server says"}},
        ]
    }
    (tmp_path / "samples.json").write_text(json.dumps(samples), encoding="utf-8")
    result = _run(
        tmp_path, reference_url, 2, "--sample-file", "samples.json", "--latency-prefix", "out/run"
    )
    assert result.returncode == 1, result.stderr[-3000:]  # Locust's exit code on failures
    assert "reply is not the declared output" in result.stdout + result.stderr
    paced = _rows(tmp_path / "out/run_latency_us.json")[("WS", "/realtime")]
    failures, total = _count(paced, "failures"), _count(paced)
    assert 0 < failures < total  # the "a" samples pass, the "b" samples fail


def test_bad_sample_input_stops_before_any_user(reference_url: str, tmp_path: Path) -> None:
    """An input that is not a JSON object ends the run with one clear line."""
    result = _run(tmp_path, reference_url, 1, "--sample-input", '["not", "a", "map"]')
    assert result.returncode != 0
    assert "loadtests: --sample-input" in result.stderr, result.stderr[-3000:]
