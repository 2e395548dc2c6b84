"""Check the load-test measurement: a paced Locust run against a direct asyncio probe.

    .venv/bin/python bench/locust_vs_probe.py [--url ws://127.0.0.1:PORT] [--users 10]
        [--rate 50] [--duration 10] [--repeats 3]

Both send conformance-app inputs to `/realtime` over persistent connections, USERS
connections each at RATE round trips per second per connection with a random start phase,
at the same time against the same server (so both see the same server load and the same
machine noise); both time send -> reply with a monotonic clock. The probe runs DURATION
seconds once Locust has spawned its users; Locust runs 2 s longer. The probe is an asyncio
`websockets` client (compression off) and keeps every sample; Locust's numbers are its
microsecond report (`loadtests/_recorder.py`).
Without --url the reference server is started on 127.0.0.1. With two or more CPUs the server
runs on CPU 0 and each load generator on CPU 1 (perf-anchors: split placement).
Prints both p50/p90/p99/p99.9 per round and exits 1 unless Locust's p50 is within 25 % of
the probe's (the median ratio over --repeats rounds).
This is a benchmark (prints a table), not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import msgpack
from websockets.asyncio.client import connect

REPO_ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 0.25
PERCENTILES = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999))


def pin_to(cpu: int | None) -> list[str]:
    """A `taskset` prefix that runs a command on one CPU (empty when not pinning)."""
    return [] if cpu is None else ["taskset", "-c", str(cpu)]


def start_reference(cpu: int | None) -> tuple[subprocess.Popen[str], str]:
    """Start `python -m reference serve --port 0` and return it with the URL it prints."""
    cmd = [*pin_to(cpu), sys.executable, "-m", "reference", "serve"]
    cmd += ["--host", "127.0.0.1", "--port", "0"]
    server = subprocess.Popen(
        cmd, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert server.stdout is not None
    url = server.stdout.readline().strip()  # the server prints its URL once it is ready
    if not url.startswith("ws://"):
        server.terminate()
        raise SystemExit(f"the reference server did not start (printed {url!r})")
    return server, url


async def probe_connection(
    url: str, period: float, end: float, samples: list[int], rng: random.Random
) -> None:
    """One paced connection: a random start phase, then one round trip per period."""
    async with connect(url + "/realtime", compression=None, max_size=None) as ws:
        next_start = time.perf_counter() + rng.uniform(0.0, period)
        serial = 0
        while next_start < end:
            await asyncio.sleep(max(0.0, next_start - time.perf_counter()))
            prompt = f"probe-{id(ws):x}-{serial}"
            frame = msgpack.packb({"prompt": prompt})
            started = time.perf_counter_ns()
            await ws.send(frame)
            reply = await ws.recv()
            elapsed = time.perf_counter_ns() - started
            if msgpack.unpackb(reply) != {"output": prompt}:
                raise SystemExit(f"probe got a wrong reply: {reply!r}")
            samples.append(elapsed)
            serial += 1
            next_start += period
            now = time.perf_counter()
            if next_start < now - period:
                next_start = now  # fell behind: skip missed slots, as the Locust user does


async def run_probe(url: str, users: int, rate: float, duration: float) -> list[int]:
    """Run USERS paced connections for DURATION seconds; return every round trip in ns."""
    samples: list[int] = []
    rng = random.Random(6)
    end = time.perf_counter() + duration
    await asyncio.gather(
        *(probe_connection(url, 1.0 / rate, end, samples, rng) for _ in range(users))
    )
    return samples


def exact_summary(samples_ns: Sequence[int]) -> dict[str, float]:
    """Nearest-rank percentiles in µs of raw samples."""
    ordered = sorted(samples_ns)
    out = {"requests": float(len(ordered))}
    for label, fraction in PERCENTILES:
        out[label] = ordered[max(1, math.ceil(fraction * len(ordered))) - 1] / 1000.0
    out["max"] = ordered[-1] / 1000.0
    return out


def start_locust(
    url: str, users: int, rate: float, run_time: float, cpu: int | None, workdir: Path
) -> tuple[subprocess.Popen[str], threading.Event, list[str]]:
    """Start the paced Locust scenario headless; the event is set once every user is spawned."""
    cmd = [*pin_to(cpu), str(Path(sys.executable).with_name("locust")), "-f", "loadtests"]
    cmd += ["--headless", "-u", str(users), "-r", str(users), "-t", f"{run_time:g}s"]
    cmd += ["--host", url, "--rate-per-user", f"{rate:g}", "--only-summary"]
    cmd += ["--latency-prefix", str(workdir / "locust"), "PacedRealtimeUser"]
    process = subprocess.Popen(
        cmd, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    spawned = threading.Event()
    log: list[str] = []

    def watch(stream: TextIO) -> None:
        for line in stream:
            log.append(line)
            if "All users spawned" in line:
                spawned.set()

    assert process.stderr is not None
    threading.Thread(target=watch, args=(process.stderr,), daemon=True).start()
    return process, spawned, log


def locust_summary(
    process: subprocess.Popen[str], log: list[str], workdir: Path
) -> dict[str, float]:
    """Wait for Locust to finish and return its µs summary of `/realtime`."""
    code = process.wait(timeout=120)
    if code != 0:
        raise SystemExit(f"locust failed ({code}):\n{''.join(log)[-3000:]}")
    report = json.loads((workdir / "locust_latency_us.json").read_text(encoding="utf-8"))
    row = next(r for r in report["rows"] if (r["type"], r["name"]) == ("WS", "/realtime"))
    if row["failures"]:
        raise SystemExit(f"locust counted {row['failures']} failed round trips")
    out = {"requests": float(row["requests"])}
    for label, _ in PERCENTILES:
        out[label] = float(row[f"{label}_us"])
    out["max"] = float(row["max_us"])
    return out


def one_round(
    url: str, args: argparse.Namespace, client_cpu: int | None
) -> tuple[dict[str, float], dict[str, float]]:
    """Run Locust and the probe together once; return (probe, locust) summaries."""
    with tempfile.TemporaryDirectory() as tmp:
        # Both run at the same time, so both see the same server and the same machine noise.
        run_time = args.duration + 2.0
        process, spawned, log = start_locust(
            url, args.users, args.rate, run_time, client_cpu, Path(tmp)
        )
        if not spawned.wait(timeout=60):
            process.kill()
            raise SystemExit("locust did not spawn its users:\n" + "".join(log)[-3000:])
        samples = asyncio.run(run_probe(url, args.users, args.rate, args.duration))
        locust = locust_summary(process, log, Path(tmp))
    return exact_summary(samples), locust


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="target base URL (default: start the reference server)")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--rate", type=float, default=50.0, help="round trips/s per user")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument("--repeats", type=int, default=3, help="rounds (verdict: the median)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to CPUs")
    args = parser.parse_args()
    pinning = not args.no_pin and (os.cpu_count() or 1) >= 2
    server_cpu, client_cpu = (0, 1) if pinning else (None, None)

    server = None
    url = args.url
    if url is None:
        server, url = start_reference(server_cpu)
    url = url.rstrip("/")
    rounds = []
    try:
        if client_cpu is not None:
            os.sched_setaffinity(0, {client_cpu})
        rounds = [one_round(url, args, client_cpu) for _ in range(args.repeats)]
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)

    print(
        f"target {url}: Locust and the probe at the same time, {args.users} connections each"
        f" x {args.rate:g}/s, {args.duration:g} s"
        + (f"; server on CPU {server_cpu}, load generator on CPU {client_cpu}" if pinning else "")
    )
    header = f"{'run':<32} {'requests':>9}" + "".join(
        f" {label + ' µs':>10}" for label in ("p50", "p90", "p99", "p99.9", "max")
    )
    print(header)
    print("-" * len(header))
    ratios = []
    for number, (probe, locust) in enumerate(rounds, 1):
        for name, stats in (("asyncio probe (websockets)", probe), ("Locust (loadtests)", locust)):
            label = f"{name} #{number}" if len(rounds) > 1 else name
            line = f"{label:<32} {stats['requests']:>9.0f}"
            line += "".join(f" {stats[k]:>10.0f}" for k in ("p50", "p90", "p99", "p99.9", "max"))
            print(line)
        ratios.append(locust["p50"] / probe["p50"])
    ratio = statistics.median(ratios)
    within = abs(ratio - 1.0) <= TOLERANCE
    verdict = "within" if within else "OUTSIDE"
    each = f" (rounds: {', '.join(f'{r:.2f}' for r in ratios)})" if len(ratios) > 1 else ""
    print(f"Locust p50 / probe p50 = {ratio:.2f}{each}: {verdict} ±{TOLERANCE:.0%}")
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())
