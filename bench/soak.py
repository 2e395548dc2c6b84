"""Soak: mixed load with bad inputs mixed in, against a reference server subprocess (issue 12).

    .venv/bin/python bench/soak.py [--minutes 10] [--users 20] [--bad 0.1] [--json FILE]

`--users` asyncio clients (default 20) each hold a `/realtime` session and loop: a good input
`{"prompt": "u3-17"}` whose output must come back exactly and in order, or (with probability
`--bad`) a bad one: undecodable bytes, a non-map, a text frame, a map without `prompt`, input
nested 2,000 deep, or a message over 16 MiB by header only (the session then ends with 1009
and the user reconnects). One user in five also drives a `/realtime/stream` (count 5) or
`/echo` round trip, or a `POST /` call, every tenth step. The server's VmRSS is sampled every
10 s. At the end it prints: steps, good round trips, outputs lost (a good input without its
output), unexpected errors (anything the spec does not predict: an error frame for a good
input, a close that was not asked for, a wrong echo), round-trip p50/p99, and the RSS series.
Exit status 1 when anything was lost or unexpected. Loopback only; bounded in users and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import msgpack
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_EVERY_S = 10.0
WAIT_S = 30.0
_DEEP = bytes.fromhex("82 a6 70726f6d7074 a1 78 a1 61") + b"\x91" * 2000 + b"\xc0"
BAD_INPUTS: list[tuple[str, bytes | str]] = [
    ("undecodable", b"\xc1"),
    ("non-map", msgpack.packb([1, 2, 3])),
    ("text", '{"prompt": "x"}'),
    ("no-prompt", msgpack.packb({"nope": 1})),
    ("deep", _DEEP),
]


@dataclass
class Tally:
    """What the whole run saw."""

    steps: int = 0
    good: int = 0
    bad: int = 0
    oversize: int = 0
    side: int = 0
    lost: int = 0
    unexpected: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    rss: list[tuple[float, float]] = field(default_factory=list)

    def flag(self, what: str) -> None:
        if len(self.unexpected) < 50:
            self.unexpected.append(what)
        else:
            self.unexpected[-1] = f"... and more (last: {what})"


def start_server(stderr: IO[bytes]) -> tuple[subprocess.Popen[str], str]:
    """`python -m reference serve` on a free loopback port (stderr to a file: never blocks)."""
    cmd = [sys.executable, "-m", "reference", "serve", "--host", "127.0.0.1", "--port", "0"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("ws://"):
        proc.kill()
        raise SystemExit(f"the server did not start: {url!r}")
    return proc, url


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _open(url: str, path: str = "/realtime") -> ClientConnection:
    return await connect(url + path, max_size=None, ping_interval=None, open_timeout=WAIT_S)


async def _good(ws: ClientConnection, word: str, tally: Tally) -> None:
    start = time.perf_counter()
    await ws.send(msgpack.packb({"prompt": word}))
    try:
        reply = await asyncio.wait_for(ws.recv(), WAIT_S)
    except TimeoutError:
        tally.lost += 1
        return
    if isinstance(reply, bytes) and msgpack.unpackb(reply) == {"output": word}:
        tally.good += 1
        tally.latencies.append(time.perf_counter() - start)
    else:
        tally.lost += 1
        tally.flag(f"good input {word}: answered {reply[:80]!r}")


async def _bad(ws: ClientConnection, rng: random.Random, tally: Tally) -> None:
    name, payload = rng.choice(BAD_INPUTS)
    await ws.send(payload)
    reply = await asyncio.wait_for(ws.recv(), WAIT_S)
    tally.bad += 1
    ok = isinstance(reply, str) and json.loads(reply).get("error") == "INVALID_INPUT"
    if not ok:
        tally.flag(f"bad input {name}: answered {reply[:80]!r}")


async def _oversize(ws: ClientConnection, tally: Tally) -> None:
    """A frame header announcing 16 MiB + 1: the server closes 1009 (RT-TRANS-044)."""
    header = b"\x82\xff" + struct.pack("!Q", 16 * 2**20 + 1) + b"\0\0\0\0"
    ws.transport.write(header)  # below the library: only the header is ever sent
    try:
        await asyncio.wait_for(ws.recv(), WAIT_S)
        tally.flag("an oversize header was answered with data")
    except ConnectionClosed as exc:
        tally.oversize += 1
        if exc.rcvd is None or exc.rcvd.code != 1009:
            tally.flag(f"oversize: closed with {exc.rcvd}")


async def _side_trip(url: str, rng: random.Random, tally: Tally, word: str) -> None:
    """A /realtime/stream, /echo or POST / round trip on its own connection."""
    kind = rng.choice(["stream", "echo", "http"])
    if kind == "http":
        host, port = url.removeprefix("ws://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        body = json.dumps({"prompt": word}).encode()
        writer.write(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT_S)
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        data = await asyncio.wait_for(reader.readexactly(length), WAIT_S)
        writer.close()  # by the client: the reference keeps the connection despite `close`
        if not head.startswith(b"HTTP/1.1 200") or json.loads(data) != {"output": word}:
            tally.flag(f"POST / answered {head[:40]!r} {data[:80]!r}")
    else:
        async with await _open(url, "/realtime/stream" if kind == "stream" else "/echo") as ws:
            if kind == "stream":
                await ws.send(msgpack.packb({"prompt": word, "count": 5}))
                got = [msgpack.unpackb(await asyncio.wait_for(ws.recv(), WAIT_S)) for _ in range(5)]
                if got != [{"output": f"{word}-{i}"} for i in range(5)]:
                    tally.flag(f"stream answered {got}")
            else:
                await ws.send(word.encode())
                if await asyncio.wait_for(ws.recv(), WAIT_S) != word.encode():
                    tally.flag("echo answered something else")
    tally.side += 1


async def user(url: str, uid: int, bad: float, deadline: float, tally: Tally) -> None:
    rng = random.Random(uid)
    ws = await _open(url)
    n = 0
    try:
        while time.monotonic() < deadline:
            n += 1
            tally.steps += 1
            word = f"u{uid}-{n}"
            try:
                roll = rng.random()
                if roll < bad * 0.05:
                    await _oversize(ws, tally)
                    ws = await _open(url)
                elif roll < bad:
                    await _bad(ws, rng, tally)
                else:
                    await _good(ws, word, tally)
                if uid % 5 == 0 and n % 10 == 0:
                    await _side_trip(url, rng, tally, word)
            except (ConnectionClosed, OSError, TimeoutError) as exc:
                tally.flag(f"user {uid} step {n}: {exc!r}")
                ws = await _open(url)
    finally:
        await ws.close()


async def sampler(pid: int, started: float, deadline: float, tally: Tally) -> None:
    while True:
        tally.rss.append((time.monotonic() - started, rss_mb(pid)))
        print(f"  t={tally.rss[-1][0]:6.0f}s  RSS {tally.rss[-1][1]:7.1f} MB  steps {tally.steps}")
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(min(SAMPLE_EVERY_S, max(0.0, deadline - time.monotonic())))


async def soak(url: str, pid: int, args: argparse.Namespace) -> Tally:
    tally = Tally()
    started = time.monotonic()
    deadline = started + args.minutes * 60
    users = [user(url, uid, args.bad, deadline, tally) for uid in range(args.users)]
    results = await asyncio.gather(
        sampler(pid, started, deadline, tally), *users, return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            tally.flag(f"a user task failed: {result!r}")
    tally.rss.append((time.monotonic() - started, rss_mb(pid)))
    return tally


def report(tally: Tally, stderr: list[str]) -> dict[str, Any]:
    lat = sorted(tally.latencies) or [float("nan")]
    return {
        "steps": tally.steps,
        "good_round_trips": tally.good,
        "bad_inputs": tally.bad,
        "oversize_closes": tally.oversize,
        "side_trips": tally.side,
        "outputs_lost": tally.lost,
        "unexpected_errors": len(tally.unexpected),
        "unexpected_examples": tally.unexpected[:10],
        "p50_ms": round(statistics.median(lat) * 1000, 2),
        "p99_ms": round(lat[int(len(lat) * 0.99) - 1 if len(lat) > 1 else 0] * 1000, 2),
        "rss_mb": [[round(t), round(mb, 1)] for t, mb in tally.rss],
        "server_stderr_lines": len(stderr),
        "server_stderr_kinds": sorted(
            {
                line[:90]
                for line in stderr
                if "Error" in line or line.startswith(("WARNING", "ERROR"))
            }
        )[:5],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--bad", type=float, default=0.1, help="share of bad inputs (0..1)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--server-log", type=Path, default=None, help="keep the server's stderr")
    args = parser.parse_args(argv)
    if not (1 <= args.users <= 200 and 0 < args.minutes <= 120 and 0 <= args.bad <= 1):
        parser.error("bounded runs only: 1-200 users, up to 120 minutes, --bad in 0..1")
    with tempfile.TemporaryFile() as stderr:
        proc, url = start_server(stderr)
        print(f"soak: {args.users} users, {args.minutes} min, {args.bad:.0%} bad inputs, {url}")
        try:
            tally = asyncio.run(soak(url, proc.pid, args))
        finally:
            proc.terminate()  # by its own pid
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        stderr.seek(0)
        err = stderr.read().decode("utf-8", "replace")
    if args.server_log is not None:
        args.server_log.write_text(err)
    figures = report(tally, [line for line in err.splitlines() if line.strip()])
    print(json.dumps(figures, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 1 if figures["outputs_lost"] or figures["unexpected_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
