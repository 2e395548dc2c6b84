"""Mergeable round-trip latency histograms with microsecond resolution (load tests).

Locust keeps its percentiles in whole-millisecond buckets below 100 ms, so a 130 µs loopback
round trip reads "0" in its console and CSV. These histograms keep every value below 10 ms
exact to the microsecond and every larger value to four significant digits (relative error
under 0.1 %), in a sparse dict of counts that a master merges from its workers by addition.
This module imports nothing from Locust and has no side effects.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

EXACT_BELOW_US = 10_000
"""Values under this many microseconds are kept exact to 1 µs."""

SIGNIFICANT_DIGITS = 4
"""Values at or above EXACT_BELOW_US keep this many significant digits."""

REPORTED_PERCENTILES: tuple[tuple[str, float], ...] = (
    ("p50", 0.50),
    ("p90", 0.90),
    ("p99", 0.99),
    ("p99.9", 0.999),
)


def bucket_us(value_us: int) -> int:
    """Return the bucket key (a lower bound, in µs) that holds `value_us`."""
    if value_us < EXACT_BELOW_US:
        return max(value_us, 0)
    step: int = 10 ** (len(str(value_us)) - SIGNIFICANT_DIGITS)
    return value_us - value_us % step


@dataclass
class LatencyHistogram:
    """Counts of round-trip times in microseconds, mergeable by addition.

    `min_us`, `max_us` and `total_us` are exact (not bucketed); percentiles are the bucket
    lower bound of the nearest-rank sample, so they are exact below 10 ms.
    """

    counts: dict[int, int] = field(default_factory=dict)
    count: int = 0
    total_us: float = 0.0
    min_us: float = math.inf
    max_us: float = 0.0

    def record(self, value_us: float) -> None:
        """Add one sample, given in (fractional) microseconds."""
        whole = int(value_us)
        key = whole if 0 <= whole < EXACT_BELOW_US else bucket_us(whole)
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1
        self.count += 1
        self.total_us += value_us
        if value_us < self.min_us:
            self.min_us = value_us
        if value_us > self.max_us:
            self.max_us = value_us

    def merge(self, other: LatencyHistogram) -> None:
        """Add every sample of `other` into this histogram."""
        for key, n in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n
        self.count += other.count
        self.total_us += other.total_us
        self.min_us = min(self.min_us, other.min_us)
        self.max_us = max(self.max_us, other.max_us)

    def percentile(self, fraction: float) -> int | None:
        """Return the nearest-rank percentile in µs (bucket lower bound), None when empty."""
        if self.count == 0:
            return None
        rank = max(1, math.ceil(fraction * self.count))
        seen = 0
        for key in sorted(self.counts):
            seen += self.counts[key]
            if seen >= rank:
                return key
        return max(self.counts)  # unreachable while counts and count agree

    def summary(self) -> dict[str, float | int | None]:
        """Return count, min, mean, p50, p90, p99, p99.9 and max in µs (None when empty)."""
        out: dict[str, float | int | None] = {"count": self.count}
        empty = self.count == 0
        out["min_us"] = None if empty else round(self.min_us, 1)
        out["mean_us"] = None if empty else round(self.total_us / self.count, 1)
        for label, fraction in REPORTED_PERCENTILES:
            out[f"{label}_us"] = self.percentile(fraction)
        out["max_us"] = None if empty else round(self.max_us, 1)
        return out

    def to_wire(self) -> dict[str, object]:
        """Return a msgpack/JSON-safe form (pairs, since JSON keys must be strings)."""
        return {
            "counts": sorted(self.counts.items()),
            "count": self.count,
            "total_us": self.total_us,
            "min_us": None if self.count == 0 else self.min_us,
            "max_us": self.max_us,
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, object]) -> LatencyHistogram:
        """Rebuild a histogram from `to_wire` output (after a msgpack or JSON round trip)."""
        pairs = data["counts"]
        assert isinstance(pairs, Iterable)
        hist = cls(counts={int(k): int(n) for k, n in pairs})
        hist.count = _as_int(data["count"])
        hist.total_us = _as_float(data["total_us"])
        min_us = data.get("min_us")
        hist.min_us = math.inf if min_us is None else _as_float(min_us)
        hist.max_us = _as_float(data["max_us"])
        return hist


def _as_int(value: object) -> int:
    if not isinstance(value, int):
        raise TypeError(f"expected an int, got {value!r}")
    return value


def _as_float(value: object) -> float:
    if not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)
