"""Per-request-name latency recorder and its console, JSON and CSV reports (load tests).

One `LatencyRecorder` lives in every Locust process. It keeps a `LatencyHistogram` of the
successful round trips and a failure count per (request type, name). A worker hands the
samples it gathered since its last report to the master (`drain`), and the master adds them
up (`merge_wire`), so the master's percentiles are those of every sample of every worker.
This module imports nothing from Locust and has no side effects.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from loadtests._histogram import REPORTED_PERCENTILES, LatencyHistogram

Key = tuple[str, str]
"""(request type, request name), as in Locust's statistics table."""

AGGREGATED: Key = ("", "Aggregated")
"""Every round trip of every request name, handshakes left out (they are not round trips)."""
HANDSHAKE_TYPES = frozenset({"WS connect"})
"""Request types that time a connection's opening handshake, not an input's round trip."""
HANDSHAKES: Key = ("WS connect", "Aggregated")
"""Every handshake of every endpoint."""


@dataclass
class Entry:
    """Samples of one request name: a histogram of successes and a count of failures."""

    hist: LatencyHistogram = field(default_factory=LatencyHistogram)
    failures: int = 0

    def merge(self, other: Entry) -> None:
        """Add every sample and failure of `other`."""
        self.hist.merge(other.hist)
        self.failures += other.failures


class LatencyRecorder:
    """Round-trip samples per (type, name), with a drainable delta for worker reports."""

    def __init__(self) -> None:
        self.entries: dict[Key, Entry] = {}
        self._pending: dict[Key, Entry] = {}
        self.keep_pending = True
        """Whether to keep samples for `drain` too (a worker); off elsewhere to save the work."""
        self.version = 0
        """Bumped on every change, so a writer can tell whether a report is stale."""

    def record(self, request_type: str, name: str, response_time_ms: float, failed: bool) -> None:
        """Record one request as Locust reports it (`response_time` in float milliseconds)."""
        key = (request_type, name)
        books = (self.entries, self._pending) if self.keep_pending else (self.entries,)
        for book in books:
            entry = book.get(key)
            if entry is None:
                entry = book[key] = Entry()
            if failed:
                entry.failures += 1
            else:
                entry.hist.record(response_time_ms * 1000.0)
        self.version += 1

    def reset(self) -> None:
        """Forget every sample (a new run, or Locust's "reset stats")."""
        self.entries.clear()
        self._pending.clear()
        self.version += 1

    def drain(self) -> list[dict[str, object]]:
        """Return the samples recorded since the previous drain, in wire form, and forget them."""
        wire = [_entry_to_wire(key, entry) for key, entry in self._pending.items()]
        self._pending.clear()
        return wire

    def merge_wire(self, wire: object) -> None:
        """Add samples a worker drained (after Locust's msgpack transport)."""
        if not isinstance(wire, list):
            raise TypeError(f"latency report must be a list, got {type(wire).__name__}")
        for item in wire:
            key, entry = _entry_from_wire(item)
            self.entries.setdefault(key, Entry()).merge(entry)
        if wire:
            self.version += 1

    def aggregated(self, *, handshakes: bool = False) -> Entry:
        """Return the round trips (or, with `handshakes`, the handshakes) merged into one entry."""
        total = Entry()
        for key, entry in self.entries.items():
            if (key[0] in HANDSHAKE_TYPES) == handshakes:
                total.merge(entry)
        return total

    def rows(self) -> list[dict[str, object]]:
        """One row per request name: round trips, then handshakes and their aggregate, then the
        round-trip aggregate (last, so a reader of the last row never gets connects mixed in).
        """
        trips = sorted(i for i in self.entries.items() if i[0][0] not in HANDSHAKE_TYPES)
        shakes = sorted(i for i in self.entries.items() if i[0][0] in HANDSHAKE_TYPES)
        keyed = [*trips, *shakes]
        if shakes:
            keyed.append((HANDSHAKES, self.aggregated(handshakes=True)))
        keyed.append((AGGREGATED, self.aggregated()))
        return [_row(key, entry) for key, entry in keyed]

    def to_json(self, meta: Mapping[str, object]) -> dict[str, object]:
        """Return the full report: metadata, summary rows and the histograms themselves."""
        return {
            "unit": "microseconds",
            "resolution": "exact to 1 µs below 10 ms, 4 significant digits above",
            "percentiles_over": "successful requests",
            "written_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **meta,
            "rows": self.rows(),
            "histograms": [_entry_to_wire(key, e) for key, e in sorted(self.entries.items())],
        }

    def write(self, prefix: str, meta: Mapping[str, object]) -> tuple[Path, Path]:
        """Write `<prefix>_latency_us.json` and `<prefix>_latency_us.csv`; return both paths."""
        json_path = Path(f"{prefix}_latency_us.json")
        csv_path = Path(f"{prefix}_latency_us.csv")
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(self.to_json(meta), indent=1) + "\n", encoding="utf-8")
        csv_path.write_text(self.csv_text(), encoding="utf-8", newline="")
        return json_path, csv_path

    def csv_text(self) -> str:
        """Return the summary rows as CSV (the columns of CSV_COLUMNS)."""
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(CSV_COLUMNS))
        writer.writeheader()
        for row in self.rows():
            writer.writerow({col: _csv_cell(row[key]) for col, key in CSV_COLUMNS.items()})
        return out.getvalue()

    def table(self) -> str:
        """Return the console table (microseconds), one line per request name."""
        head = f"{'Type':<12} {'Name':<34} {'# reqs':>8} {'# fails':>8}"
        head += "".join(f" {label:>8}" for label in ("min", "p50", "p90", "p99", "p99.9", "max"))
        lines = [
            "Round-trip latency in microseconds (successful requests; exact to 1 µs below 10 ms;"
            " the last Aggregated row is round trips only, handshakes are the WS connect rows)",
            head,
            "-" * len(head),
        ]
        for row in self.rows():
            line = f"{row['type']!s:<12} {row['name']!s:<34}"
            line += f" {row['requests']:>8} {row['failures']:>8}"
            for key in ("min_us", "p50_us", "p90_us", "p99_us", "p99.9_us", "max_us"):
                value = row[key]
                line += f" {_floored(value):>8}"
            lines.append(line)
        return "\n".join(lines)


CSV_COLUMNS: dict[str, str] = {
    "Type": "type",
    "Name": "name",
    "Requests": "requests",
    "Failures": "failures",
    "Min (us)": "min_us",
    "Mean (us)": "mean_us",
    **{f"{label} (us)": f"{label}_us" for label, _ in REPORTED_PERCENTILES},
    "Max (us)": "max_us",
}


def _floored(value: object) -> str:
    """A µs value for the console, floored like the percentiles (their bucket floors), so an
    exact min such as 2528.6 never shows above a p50 of 2528."""
    if isinstance(value, int | float):
        return str(math.floor(value))
    return "-"


def _csv_cell(value: object) -> object:
    return "" if value is None else value


def _row(key: Key, entry: Entry) -> dict[str, object]:
    stats = entry.hist.summary()
    return {
        "type": key[0],
        "name": key[1],
        "requests": entry.hist.count + entry.failures,
        "failures": entry.failures,
        **{k: v for k, v in stats.items() if k != "count"},
    }


def _entry_to_wire(key: Key, entry: Entry) -> dict[str, object]:
    return {
        "type": key[0],
        "name": key[1],
        "failures": entry.failures,
        "hist": entry.hist.to_wire(),
    }


def _entry_from_wire(item: object) -> tuple[Key, Entry]:
    if not isinstance(item, Mapping):
        raise TypeError(f"latency entry must be a map, got {type(item).__name__}")
    hist = item["hist"]
    if not isinstance(hist, Mapping):
        raise TypeError("latency entry has no histogram")
    key = (str(item["type"]), str(item["name"]))
    return key, Entry(hist=LatencyHistogram.from_wire(hist), failures=int(item["failures"]))
