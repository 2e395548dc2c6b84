"""Round-trip benchmark: TCP floor vs the reference server vs the real fal runner.

    .venv/bin/python bench/roundtrip.py [--rounds 3] [--n 20000] [--duration 5] [--no-fal]

Prints a markdown table (medians over interleaved rounds, so the machine's drift hits every
target alike): sequential round-trip latency p50/p99/p99.9 on one persistent connection, and
msgs/s with 100 connections in a closed loop. Each round trip: the client msgpack-encodes a
~100-byte request `{"request_id", "prompt", "seed", ...}`, the server decodes it, runs the
conformance app's `/realtime` handler (validation on) and answers `{"output": prompt}`.

Targets: (1) an asyncio-streams TCP echo with length-prefixed msgpack (`floor_server.py`),
(2) the reference server (`python -m reference serve`, default transport), (2b) the same on
uvloop, (3) the real fal runner hosting the same app (`.venv-fal/bin/python -m
interop.serve_fal`; left out with a message if the fal venv is missing). The client is picows
on uvloop (a websockets client would add ~40 us per round trip and hide server differences);
the floor's client is asyncio streams on the same loop.

Placement (`--placement`, Linux): `same` pins every server and the client to CPU 0 for the
latency runs (the most stable figure on a 2-vCPU VM); throughput runs always put the client
on the other CPU. Servers are stopped by pid at the end. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgpack

ROOT = Path(__file__).resolve().parent.parent
REQUEST = msgpack.packb(
    {
        "request_id": "0f8e3c1a-5b7d-4e2a-9c11-7a6b5d4e3f21",
        "prompt": "hello",
        "seed": 42,
        "num_inference_steps": 4,
        "sync_mode": True,
    }
)
START_TIMEOUT = 90.0


# -- servers ------------------------------------------------------------------------------
def start(name: str, cmd: list[str], cpu: int | None) -> tuple[subprocess.Popen[str], str]:
    """Start a server that prints its URL on stdout; return (process, url)."""
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(proc.pid, {cpu})
    deadline = time.monotonic() + START_TIMEOUT
    assert proc.stdout is not None
    line = ""
    while time.monotonic() < deadline and proc.poll() is None:
        line = proc.stdout.readline().strip()
        if line.startswith(("ws://", "tcp://")):
            return proc, line
    proc.kill()
    raise RuntimeError(f"{name} did not print its URL within {START_TIMEOUT:.0f} s")


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- clients ------------------------------------------------------------------------------
class TcpClient:
    async def open(self, url: str) -> None:
        host, port = url.removeprefix("tcp://").split(":")
        self.reader, self.writer = await asyncio.open_connection(host, int(port))
        self.frame = len(REQUEST).to_bytes(4, "big") + REQUEST

    async def rt(self) -> bytes:
        self.writer.write(self.frame)
        size = int.from_bytes(await self.reader.readexactly(4), "big")
        return await self.reader.readexactly(size)

    async def close(self) -> None:
        self.writer.close()


class PicowsClient:
    async def open(self, url: str) -> None:
        from picows import WSListener, WSMsgType, ws_connect

        outer = self
        self.binary = WSMsgType.BINARY
        self.loop = asyncio.get_running_loop()
        self.future: asyncio.Future[bytes] | None = None

        class Listener(WSListener):
            def on_ws_frame(self, transport: Any, frame: Any) -> None:
                if frame.msg_type == WSMsgType.BINARY and outer.future is not None:
                    future, outer.future = outer.future, None
                    future.set_result(frame.get_payload_as_bytes())

        self.transport, _ = await ws_connect(Listener, url + "/realtime")

    async def rt(self) -> bytes:
        future = self.future = self.loop.create_future()
        self.transport.send(self.binary, REQUEST)
        data: bytes = await future
        return data

    async def close(self) -> None:
        self.transport.send_close()
        self.transport.disconnect()


def client_for(url: str) -> TcpClient | PicowsClient:
    return TcpClient() if url.startswith("tcp://") else PicowsClient()


def pct(sorted_ns: list[int], p: float) -> float:
    k = max(0, min(len(sorted_ns) - 1, math.ceil(p / 100 * len(sorted_ns)) - 1))
    return sorted_ns[k] / 1000


async def latency(url: str, n: int, warmup: int) -> dict[str, float]:
    client = client_for(url)
    await client.open(url)
    unpack = msgpack.unpackb
    for _ in range(warmup):
        unpack(await client.rt())
    samples = [0] * n
    clock = time.perf_counter_ns
    for i in range(n):
        t0 = clock()
        unpack(await client.rt())
        samples[i] = clock() - t0
    await client.close()
    samples.sort()
    return {"p50": pct(samples, 50), "p99": pct(samples, 99), "p999": pct(samples, 99.9)}


async def throughput(url: str, conns: int, duration: float) -> tuple[float, int]:
    clients = [client_for(url) for _ in range(conns)]
    for client in clients:
        await client.open(url)
    counted = 0
    t_start = time.perf_counter() + 0.5  # warm-up
    t_end = t_start + duration

    async def worker(client: TcpClient | PicowsClient) -> None:
        nonlocal counted
        while True:
            msgpack.unpackb(await client.rt())
            now = time.perf_counter()
            if now >= t_end:
                return
            if now >= t_start:
                counted += 1

    await asyncio.gather(*(worker(c) for c in clients))
    for client in clients:
        await client.close()
    return counted / duration, counted


def cpu_ns(pid: int) -> int:
    """CPU time of every thread of `pid` so far (ns, from /proc/PID/task/*/schedstat).

    Server CPU per message does not depend on what else the machine runs, unlike wall-clock
    latency on a shared VM, so the table reports it next to the timings.
    """
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    return total


def set_cpu(cpu: int | None) -> None:
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


# -- main -----------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=20000, help="sequential round trips per run")
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--conns", type=int, default=100)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per msgs/s run")
    parser.add_argument("--placement", choices=["same", "none"], default="same")
    parser.add_argument("--no-fal", action="store_true", help="leave out the fal runner")
    parser.add_argument("--no-uvloop-server", action="store_true")
    args = parser.parse_args()

    import uvloop

    pinned = args.placement == "same" and hasattr(os, "sched_setaffinity") and os.cpu_count() != 1
    server_cpu = 0 if pinned else None
    py = sys.executable
    targets: list[tuple[str, list[str]]] = [
        ("TCP floor (asyncio streams, length-prefixed msgpack)", [py, "bench/floor_server.py"]),
        (
            "reference (websockets sans-I/O, asyncio)",
            [py, "-m", "reference", "serve", "--port", "0"],
        ),
    ]
    if not args.no_uvloop_server:
        targets.append(
            (
                "reference + uvloop",
                [py, "-m", "reference", "serve", "--port", "0", "--transport", "websockets-uvloop"],
            )
        )
    fal_python = ROOT / ".venv-fal" / "bin" / "python"
    if args.no_fal:
        print("fal runner: left out (--no-fal)", file=sys.stderr)
    elif not fal_python.exists() or not (ROOT / "interop" / "serve_fal.py").exists():
        print(
            "fal runner: left out: .venv-fal or interop/serve_fal.py is missing; build it with "
            "`.venv/bin/python -m interop.fal_env --ensure`",
            file=sys.stderr,
        )
    else:
        targets.append(
            ("fal runner 1.83.0 (uvicorn)", [str(fal_python), "-m", "interop.serve_fal", "0"])
        )

    procs: list[subprocess.Popen[str]] = []
    urls: list[str] = []
    try:
        for name, cmd in targets:
            proc, url = start(name, cmd, server_cpu)
            procs.append(proc)
            urls.append(url)
        results: dict[int, list[dict[str, float]]] = {i: [] for i in range(len(targets))}
        for rnd in range(args.rounds):
            for i, url in enumerate(urls):
                set_cpu(server_cpu)
                pid = procs[i].pid
                cpu0 = cpu_ns(pid)
                lat = uvloop.run(latency(url, args.n, args.warmup))
                lat["cpu_lat"] = (cpu_ns(pid) - cpu0) / (args.n + args.warmup) / 1000
                set_cpu(1 if pinned else None)
                cpu0 = cpu_ns(pid)
                lat["rps"], count = uvloop.run(throughput(url, args.conns, args.duration))
                # includes the 0.5 s warm-up's messages in CPU but not in count: an upper bound
                lat["cpu_tp"] = (cpu_ns(pid) - cpu0) / max(count, 1) / 1000
                results[i].append(lat)
                print(f"round {rnd + 1}: {targets[i][0]}: {lat}", file=sys.stderr, flush=True)
    finally:
        for proc in procs:
            stop(proc)

    med = {i: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for i, rs in results.items()}
    floor = med[0]
    fal_rps = med[len(targets) - 1]["rps"] if targets[-1][0].startswith("fal") else None
    print(f"\n{args.rounds} interleaved rounds, medians; latency: {args.n} sequential round trips,")
    print(f"placement {args.placement}; msgs/s: {args.conns} connections, {args.duration:.0f} s.\n")
    print(
        "| target | p50 us | p99 us | p99.9 us | p50 x floor | msgs/s | x floor | x fal "
        "| server CPU us/msg (seq.) | (100 conns) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for i, (name, _) in enumerate(targets):
        m = med[i]
        vs_fal = f"{m['rps'] / fal_rps:.2f}" if fal_rps else "n/a"
        print(
            f"| {name} | {m['p50']:.0f} | {m['p99']:.0f} | {m['p999']:.0f} | "
            f"{m['p50'] / floor['p50']:.2f} | {m['rps']:,.0f} | "
            f"{m['rps'] / floor['rps']:.2f} | {vs_fal} | {m['cpu_lat']:.1f} | {m['cpu_tp']:.1f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
