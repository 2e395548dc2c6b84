"""Short real Locust runs against the reference server: headless, and master with two workers."""

from __future__ import annotations

import csv
import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from loadtest_support import (
    RUN_DEADLINE_S,
    free_port,
    locust_cmd,
    reference_server,
    run_locust,
    wait_for_line,
)

from loadtests._histogram import LatencyHistogram
from loadtests._recorder import LatencyRecorder


@pytest.fixture(scope="module")
def reference_url() -> Iterator[str]:
    """The reference server, one per test module."""
    with reference_server() as url:
        yield url


def load_report(path: Path) -> dict[str, object]:
    report: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return report


def rows_by_name(report: dict[str, object]) -> dict[tuple[str, str], dict[str, object]]:
    """Summary rows keyed by (request type, name); the aggregate is ("", "Aggregated")."""
    rows = report["rows"]
    assert isinstance(rows, list)
    return {(str(row["type"]), str(row["name"])): row for row in rows}


AGGREGATED = ("", "Aggregated")  # round trips only
HANDSHAKES = ("WS connect", "Aggregated")
REALTIME = ("WS", "/realtime")


def test_headless_run_reports_microsecond_percentiles(reference_url: str, tmp_path: Path) -> None:
    """A few users for a few seconds: requests made, none failed, µs summary and Locust's files."""
    result = run_locust(
        [
            "--headless",
            "-u", "4",
            "-r", "4",
            "-t", "3s",
            "--host", reference_url,
            "--csv", "out/run",
            "--html", "out/report.html",
            "-T", "paced", "raw", "http",
        ],
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    console = result.stdout + result.stderr
    assert "Round-trip latency in microseconds" in console

    report = load_report(tmp_path / "out/run_latency_us.json")
    rows = rows_by_name(report)
    for key in (REALTIME, ("WS raw", "/echo binary"), ("POST", "/"), AGGREGATED):
        assert int(str(rows[key]["requests"])) > 0, key
        assert rows[key]["failures"] == 0, key
        assert isinstance(rows[key]["p50_us"], int), key
        assert isinstance(rows[key]["p99.9_us"], int), key
    assert report["locust_total_failures"] == 0
    # Locust's total counts handshakes too; ours splits them out of the round-trip aggregate.
    handshakes = int(str(rows[HANDSHAKES]["requests"]))
    assert handshakes > 0
    assert int(str(rows[AGGREGATED]["requests"])) + handshakes == report["locust_total_requests"]

    with (tmp_path / "out/run_latency_us.csv").open(encoding="utf-8") as f:
        csv_rows = {(row["Type"], row["Name"]): row for row in csv.DictReader(f)}
    assert csv_rows[REALTIME]["p50 (us)"] == str(rows[REALTIME]["p50_us"])

    # Locust's own outputs still work beside ours (its CSV is rewritten once a second, so it
    # may miss the last moments of the run; its in-memory total above is the final one).
    with (tmp_path / "out/run_stats.csv").open(encoding="utf-8") as f:
        locust_rows = {(row["Type"], row["Name"]): row for row in csv.DictReader(f)}
    assert int(locust_rows[REALTIME]["Request Count"]) > 0
    assert (tmp_path / "out/report.html").stat().st_size > 0


def test_master_with_two_workers_aggregates_microsecond_percentiles(
    reference_url: str, tmp_path: Path
) -> None:
    """The master's histogram is exactly the sum of what each worker measured."""
    port = str(free_port())
    master = subprocess.Popen(
        locust_cmd(
            "--master",
            "--master-bind-host", "127.0.0.1",
            "--master-bind-port", port,
            "--expect-workers", "2",
            "--expect-workers-max-wait", "30",
            "--headless",
            "-u", "6",
            "-r", "6",
            "-t", "4s",
            "--host", reference_url,
            "--latency-prefix", "out/master",
            "--rate-per-user", "50",
        ),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    workers = [
        subprocess.Popen(
            locust_cmd(
                "--worker",
                "--master-host", "127.0.0.1",
                "--master-port", port,
                "--latency-prefix", f"out/w{i}",
            ),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in (1, 2)
    ]  # fmt: skip
    try:
        master_out, _ = master.communicate(timeout=RUN_DEADLINE_S)
        worker_codes = [w.wait(timeout=30) for w in workers]
    finally:
        processes: list[subprocess.Popen[Any]] = [master, *workers]
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
    assert master.returncode == 0, master_out[-3000:]
    assert worker_codes == [0, 0]
    assert "Round-trip latency in microseconds" in master_out

    worker_files = sorted((tmp_path / "out").glob("w*_worker*_latency_us.json"))
    assert len(worker_files) == 2, sorted(p.name for p in (tmp_path / "out").iterdir())
    expected = LatencyRecorder()
    for path in worker_files:
        worker_report = load_report(path)
        assert worker_report["role"] == "worker"
        assert int(str(rows_by_name(worker_report)[REALTIME]["requests"])) > 0
        expected.merge_wire(worker_report["histograms"])

    report = load_report(tmp_path / "out/master_latency_us.json")
    assert report["role"] == "master"
    assert report["rows"] == expected.rows()
    master_hists = {(h["type"], h["name"]): h["hist"] for h in report["histograms"]}  # type: ignore[attr-defined]
    for key, entry in expected.entries.items():
        merged = LatencyHistogram.from_wire(master_hists[key])
        assert merged.counts == entry.hist.counts
        assert (merged.count, merged.min_us, merged.max_us) == (
            entry.hist.count,
            entry.hist.min_us,
            entry.hist.max_us,
        )
        assert merged.total_us == pytest.approx(entry.hist.total_us)
    rows = rows_by_name(report)
    assert rows[AGGREGATED]["failures"] == 0
    total = int(str(rows[AGGREGATED]["requests"])) + int(str(rows[HANDSHAKES]["requests"]))
    assert total == report["locust_total_requests"]
    assert isinstance(rows[REALTIME]["p99_us"], int)


def test_bare_run_serves_the_web_ui_on_loopback_against_the_default_host(tmp_path: Path) -> None:
    """`locust -f loadtests` (+ a free UI port): UI on 127.0.0.1 with a µs tab, default host."""
    port = free_port()
    process = subprocess.Popen(
        locust_cmd("--web-port", str(port)),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        started = wait_for_line(process.stderr, "Starting web interface at")
        assert f"http://127.0.0.1:{port}" in started
        deadline = time.monotonic() + 30
        page = ""
        while time.monotonic() < deadline and not page:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    page = response.read().decode()
            except OSError:
                time.sleep(0.1)  # the UI greenlet is not listening yet: poll, bounded
        assert '"host": "ws://127.0.0.1:8765"' in page
        assert '"extended_tabs": [{"key": "latency-us"' in page  # the "Latency (µs)" tab
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/stats/requests", timeout=5) as response:
            tables = json.load(response)["extended_stats"]
        assert tables[0]["key"] == "latency-us"
        assert tables[0]["data"][-1]["name"] == "Aggregated"
        with urllib.request.urlopen(f"{base}/latency-us/csv", timeout=5) as response:
            assert response.read().decode().startswith("Type,Name,Requests,Failures,")
    finally:
        process.terminate()
        process.wait(timeout=30)
