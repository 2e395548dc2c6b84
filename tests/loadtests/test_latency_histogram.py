"""The microsecond histograms and the recorder: exact percentiles, lossless merging."""

from __future__ import annotations

import json
import math
import random

import msgpack

from loadtests._histogram import LatencyHistogram, bucket_us
from loadtests._recorder import LatencyRecorder


def exact_percentile(samples_us: list[int], fraction: float) -> int:
    """Nearest-rank percentile of the raw samples."""
    ordered = sorted(samples_us)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def test_bucket_is_exact_below_10_ms_and_four_digits_above() -> None:
    assert [bucket_us(v) for v in (0, 1, 137, 9_999)] == [0, 1, 137, 9_999]
    assert bucket_us(12_345) == 12_340
    assert bucket_us(1_234_567) == 1_234_000


def test_histogram_percentiles_equal_exact_percentiles_below_10_ms() -> None:
    rng = random.Random(6)
    samples = [int(rng.lognormvariate(5.0, 0.6)) for _ in range(20_000)]  # ~150 µs, < 10 ms
    hist = LatencyHistogram()
    for value in samples:
        hist.record(value)
    for fraction in (0.5, 0.9, 0.99, 0.999, 1.0):
        assert hist.percentile(fraction) == exact_percentile(samples, fraction)
    assert hist.max_us == max(samples)
    assert hist.count == len(samples)


def test_histogram_percentiles_stay_within_a_tenth_of_a_percent_above_10_ms() -> None:
    rng = random.Random(7)
    samples = [rng.randrange(10_000, 5_000_000) for _ in range(5_000)]
    hist = LatencyHistogram()
    for value in samples:
        hist.record(value)
    for fraction in (0.5, 0.9, 0.99):
        exact = exact_percentile(samples, fraction)
        got = hist.percentile(fraction)
        assert got is not None
        assert exact * 0.999 <= got <= exact


def test_merged_histograms_equal_one_histogram_of_all_samples() -> None:
    rng = random.Random(8)
    parts = [[rng.randrange(50, 30_000) for _ in range(3_000)] for _ in range(3)]
    whole, merged = LatencyHistogram(), LatencyHistogram()
    for part in parts:
        piece = LatencyHistogram()
        for value in part:
            piece.record(value)
            whole.record(value)
        merged.merge(piece)
    assert merged.counts == whole.counts
    assert merged.summary() == whole.summary()


def test_histogram_survives_msgpack_and_json_transport() -> None:
    hist = LatencyHistogram()
    for value in (120.4, 133.9, 15_432.0):
        hist.record(value)
    via_msgpack = LatencyHistogram.from_wire(msgpack.unpackb(msgpack.packb(hist.to_wire())))
    via_json = LatencyHistogram.from_wire(json.loads(json.dumps(hist.to_wire())))
    assert via_msgpack == hist
    assert via_json == hist


def test_empty_histogram_reports_no_percentiles() -> None:
    summary = LatencyHistogram().summary()
    assert summary["count"] == 0
    assert summary["p50_us"] is None
    assert summary["max_us"] is None
    assert LatencyHistogram.from_wire(LatencyHistogram().to_wire()).count == 0


def test_master_recorder_adds_up_what_workers_drain() -> None:
    workers = [LatencyRecorder(), LatencyRecorder()]
    master, reference = LatencyRecorder(), LatencyRecorder()
    rng = random.Random(9)
    for step in range(4):  # four report intervals
        for worker in workers:
            for _ in range(500):
                ms = rng.uniform(0.05, 3.0)
                failed = rng.random() < 0.01
                worker.record("WS", "/realtime", ms, failed)
                reference.record("WS", "/realtime", ms, failed)
            worker.record("WS connect", "/realtime", 1.5 + step, False)
            reference.record("WS connect", "/realtime", 1.5 + step, False)
            master.merge_wire(msgpack.unpackb(msgpack.packb(worker.drain())))
    assert master.rows() == reference.rows()
    assert all(worker.drain() == [] for worker in workers)


def test_recorder_table_names_every_request_and_the_aggregate() -> None:
    recorder = LatencyRecorder()
    recorder.record("WS", "/realtime", 0.137, False)
    recorder.record("POST", "/", 0.9, False)
    recorder.record("POST", "/", 12.0, True)
    table = recorder.table()
    assert "WS           /realtime" in table
    assert "Aggregated" in table
    rows = {row["name"]: row for row in recorder.rows()}
    assert rows["/realtime"]["p50_us"] == 137
    assert rows["/"]["requests"] == 2
    assert rows["/"]["failures"] == 1
    assert rows["Aggregated"]["requests"] == 3


def test_recorder_keeps_handshakes_out_of_the_round_trip_aggregate() -> None:
    """The last row aggregates round trips only; handshakes get their own aggregate row."""
    recorder = LatencyRecorder()
    recorder.record("WS", "/realtime", 0.2, False)
    recorder.record("WS", "/realtime", 0.4, False)
    recorder.record("WS connect", "/realtime", 9.0, False)
    recorder.record("WS connect", "/echo", 7.0, True)
    rows = recorder.rows()
    assert [(r["type"], r["name"]) for r in rows] == [
        ("WS", "/realtime"),
        ("WS connect", "/echo"),
        ("WS connect", "/realtime"),
        ("WS connect", "Aggregated"),
        ("", "Aggregated"),
    ]
    assert rows[-1]["requests"] == 2
    assert rows[-1]["max_us"] == 400
    assert rows[-2]["requests"] == 2
    assert rows[-2]["failures"] == 1


def test_recorder_table_never_shows_min_above_p50() -> None:
    """An exact min like 2528.6 µs is floored like the bucketed p50 (2528), not rounded up."""
    recorder = LatencyRecorder()
    recorder.record("WS connect", "/realtime", 2.5286, False)
    recorder.record("WS connect", "/realtime", 2.5286, False)
    line = next(x for x in recorder.table().splitlines() if x.startswith("WS connect   /realt"))
    cells = line.split()
    minimum, p50 = int(cells[-6]), int(cells[-5])
    assert minimum <= p50
    assert minimum == 2528
