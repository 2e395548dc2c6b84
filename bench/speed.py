"""Issue 14's benchmark: the reference server side by side with the asyncio TCP floor, one run.

    .venv/bin/python bench/speed.py [--rounds 3] [--duration 4] [--idle 100000] [--markdown]

Targets, started once and measured in interleaved rounds (medians): the TCP floor
(`floor_server.py`: asyncio streams, length-prefixed msgpack, the same codec work), a probe
doing only the conformance app's work per message on picows with no session at all
(`app_floor_server.py`: the lowest any Python server of this app could reach), the
reference on plain asyncio (`--transport asyncio`), the default `python -m reference serve`
(uvloop when installed), and the default with `--workers 2`. Every message is the conformance
app's `/realtime` round trip (validation on). Client: picows on uvloop (asyncio streams for
the floor).

Placement (Linux, `os.sched_setaffinity`, as `taskset -c`): one-process servers are pinned
to CPU 0 and the client to CPU 1. `--workers 2` needs both CPUs, so neither it nor its client
is pinned: on a 2-CPU machine its figure shows what a second core buys with the client
sharing the cores.

Per target and round: msgs/s and server CPU per message with `--conns` closed-loop
connections; the sequential p50 of one unloaded connection; p50/p99/p99.9 with the offered
rate held at 80 % of that target's measured msgs/s (paced sends over `--paced-conns`
connections, latency from each send); msgs/s for 64 KiB and 1 MiB messages (4 connections).
Then, on the default server only: `--idle` mostly idle WebSocket sessions opened from
127.0.0.2.. (25k per source address), the server's RSS per connection, and an active
connection's p50 before and meanwhile. Both sides raise their own file limit; if a limit
stops the run short, the largest count reached is printed.
Loopback only; every server is stopped by pid at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

import msgpack
from roundtrip import cpu_ns, pct, set_cpu, start, stop
from speedclients import Client, client_for, open_idle

from reference.server.serve import raise_file_limit

ROOT = Path(__file__).resolve().parent.parent
SMALL = {"request_id": "0f8e3c1a", "prompt": "hello", "seed": 42, "num_inference_steps": 4}
APP_FLOOR = "bench/app_floor_server.py"
#: The row of the default `python -m reference serve` (the idle phase runs on it).
DEFAULT = "reference, default (uvloop)"
SIZES = {"64 KiB": 64 * 1024, "1 MiB": 1024 * 1024}


def request(size: int | None = None) -> bytes:
    body = dict(SMALL)
    if size is not None:
        body["prompt"] = "x" * size
    return bytes(msgpack.packb(body))


async def closed_loop(url: str, data: bytes, conns: int, duration: float) -> int:
    """Round trips completed in `duration` by `conns` closed-loop connections (after 0.5 s)."""
    clients = [client_for(url, data) for _ in range(conns)]
    for client in clients:
        await client.open(url)
    counted = 0
    t_start = time.perf_counter() + 0.5
    t_end = t_start + duration

    async def loop(client: Client) -> None:
        nonlocal counted
        while (now := time.perf_counter()) < t_end:
            await client.rt()
            if now >= t_start:
                counted += 1

    await asyncio.gather(*(loop(c) for c in clients))
    for client in clients:
        await client.close()
    return counted


async def paced(url: str, rate: float, conns: int, duration: float) -> dict[str, float]:
    """Latency percentiles (us) with sends paced at `rate`/s in total; the rate reached too."""
    clients = [client_for(url, request()) for _ in range(conns)]
    for client in clients:
        await client.open(url)
    interval = conns / rate
    samples: list[int] = []
    t0 = time.perf_counter() + 0.2
    t_end = t0 + duration

    async def loop(i: int, client: Client) -> None:
        due = t0 + i * interval / conns
        clock = time.perf_counter_ns
        while due < t_end:
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = clock()
            await client.rt()
            samples.append(clock() - sent)
            due += interval

    await asyncio.gather(*(loop(i, c) for i, c in enumerate(clients)))
    for client in clients:
        await client.close()
    samples.sort()
    return {
        "p50": pct(samples, 50),
        "p99": pct(samples, 99),
        "p999": pct(samples, 99.9),
        "rate": len(samples) / duration,
    }


async def seq_p50(url: str, n: int) -> float:
    client = client_for(url, request())
    await client.open(url)
    samples = []
    for _ in range(n):
        t = time.perf_counter_ns()
        await client.rt()
        samples.append(time.perf_counter_ns() - t)
    await client.close()
    return statistics.median(samples) / 1000


def tree_cpu_ns(pid: int) -> int:
    """CPU of `pid` and its children (the workers of `--workers N`)."""
    kids = [
        int(c)
        for t in Path(f"/proc/{pid}/task").iterdir()
        for c in (t / "children").read_text().split()
    ]
    return cpu_ns(pid) + sum(cpu_ns(k) for k in kids)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def measure(
    args: argparse.Namespace, url: str, pid: int, pinned: bool, big: bool
) -> dict[str, float]:
    """One round on one target: the numbers of the table."""
    set_cpu(1 if pinned else None)
    import uvloop

    out: dict[str, float] = {}
    cpu0 = tree_cpu_ns(pid)
    count = uvloop.run(closed_loop(url, request(), args.conns, args.duration))
    out["rps"] = count / args.duration
    # includes the 0.5 s warm-up's messages in CPU but not in count: an upper bound
    out["cpu"] = (tree_cpu_ns(pid) - cpu0) / max(count, 1) / 1000
    out["seq_p50"] = uvloop.run(seq_p50(url, 5000))  # one connection, unloaded
    lat = uvloop.run(paced(url, 0.8 * out["rps"], args.paced_conns, args.duration))
    out.update(lat)
    if big:
        for name, size in SIZES.items():
            count = uvloop.run(closed_loop(url, request(size), 4, args.duration / 2))
            out[name] = count / (args.duration / 2)
    return out


async def idle_phase(url: str, target: int, pid: int) -> dict[str, float]:
    before_p50 = await seq_p50(url, 3000)
    rss0 = rss_kib(pid)
    held, error = await open_idle(url, target)
    rss1 = rss_kib(pid)
    during_p50 = await seq_p50(url, 3000)
    for transport in held:
        transport.close()
    print(f"idle: opened {len(held)} of {target} ({error or 'all opened'})", file=sys.stderr)
    return {
        "opened": len(held),
        "kib_per_conn": (rss1 - rss0) / max(len(held), 1),
        "p50_before": before_p50,
        "p50_during": during_p50,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=4.0)
    parser.add_argument("--conns", type=int, default=100)
    parser.add_argument("--paced-conns", type=int, default=50)
    parser.add_argument("--idle", type=int, default=100_000, help="0 leaves the phase out")
    args = parser.parse_args()
    fd_limit = raise_file_limit()
    py = sys.executable
    serve = [py, "-m", "reference", "serve", "--port", "0"]
    targets: list[tuple[str, list[str], bool]] = [
        ("TCP floor (asyncio streams)", [py, "bench/floor_server.py"], True),
        ("probe: the app's work only (picows, no session)", [py, APP_FLOOR], True),
        ("reference, --transport asyncio", [*serve, "--transport", "asyncio"], True),
        (DEFAULT, serve, True),
        ("reference, default, --workers 2", [*serve, "--workers", "2"], False),
    ]
    pinnable = hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1
    procs = []
    try:
        for name, cmd, pin in targets:
            procs.append(start(name, cmd, 0 if pin and pinnable else None))
        results: list[list[dict[str, float]]] = [[] for _ in targets]
        for rnd in range(args.rounds):
            for i, (name, _, pin) in enumerate(targets):
                proc, url = procs[i]
                got = measure(args, url, proc.pid, pin and pinnable, big=pin)
                results[i].append(got)
                print(f"round {rnd + 1}: {name}: {got}", file=sys.stderr, flush=True)
        idle = None
        if args.idle:
            proc, url = procs[[name for name, _, _ in targets].index(DEFAULT)]
            set_cpu(1 if pinnable else None)
            import uvloop

            # Each idle session is one fd here too (the server raised its own limit alike).
            target = min(args.idle, fd_limit - 256)
            if target < args.idle:
                print(f"idle: {target} (RLIMIT_NOFILE is {fd_limit} here)", file=sys.stderr)
            idle = uvloop.run(idle_phase(url, target, proc.pid))
            idle["limit"] = fd_limit
    finally:
        for proc, _ in procs:
            stop(proc)
    report(args, targets, results, idle)
    return 0


def _num(m: dict[str, float], key: str, fmt: str = ",.0f") -> str:
    return format(m[key], fmt) if key in m else "n/a"


def _ratio(m: dict[str, float], floor: dict[str, float], key: str) -> str:
    return f"{m[key] / floor[key]:.2f}" if key in m and key in floor else "n/a"


def report(
    args: argparse.Namespace,
    targets: list[tuple[str, list[str], bool]],
    results: list[list[dict[str, float]]],
    idle: dict[str, float] | None,
) -> None:
    med = [{k: statistics.median(r[k] for r in rs) for k in rs[0]} for rs in results]
    floor = med[0]
    load = os.getloadavg()
    print(f"\n{args.rounds} interleaved rounds, medians; load average {load[0]:.2f} {load[1]:.2f}")
    print(f"(1, 5 min) at the end; {args.conns} closed-loop connections, {args.duration:.0f} s.\n")
    print(
        "| target | msgs/s | x floor | server CPU us/msg | x floor | seq. p50 us | x floor "
        "| p50 us @80% | x floor | p99 us | p99.9 us | 64 KiB msgs/s | x floor "
        "| 1 MiB msgs/s | x floor |"
    )
    print("|---|" + "---:|" * 15)
    for (name, _, _pin), m in zip(targets, med, strict=True):
        print(
            f"| {name} | {_num(m, 'rps')} | {_ratio(m, floor, 'rps')} | {_num(m, 'cpu', '.1f')} "
            f"| {_ratio(m, floor, 'cpu')} | {_num(m, 'seq_p50')} | {_ratio(m, floor, 'seq_p50')} "
            f"| {_num(m, 'p50')} | {_ratio(m, floor, 'p50')} "
            f"| {_num(m, 'p99')} | {_num(m, 'p999')} | {_num(m, '64 KiB')} "
            f"| {_ratio(m, floor, '64 KiB')} | {_num(m, '1 MiB')} | {_ratio(m, floor, '1 MiB')} |"
        )
    if idle is not None:
        print(
            f"\nIdle sessions on the default server: {idle['opened']:,.0f} open "
            f"(RLIMIT_NOFILE {idle['limit']:,.0f}), "
            f"{idle['kib_per_conn']:.1f} KiB RSS each; an active connection's sequential p50 "
            f"{idle['p50_before']:.0f} us before, {idle['p50_during']:.0f} us meanwhile "
            f"({idle['p50_during'] / idle['p50_before']:.2f}x)."
        )


if __name__ == "__main__":
    sys.exit(main())
