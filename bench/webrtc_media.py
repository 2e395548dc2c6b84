"""WebRTC media against WebSocket-msgpack frames through the reference server (not a test).

    .venv/bin/python bench/webrtc_media.py [--seconds 30] [--fps 30] [--width 640 --height 480]

Starts `python -m reference serve` (the conformance app plus `/realtime/invert`) on 127.0.0.1 and
streams solid-colour frames at FPS for SECONDS on each path in turn, changing the colour every
0.5 s:
- webrtc: `reference.client.webrtc` sends a video track to `/realtime/webrtc` (aiortc, VP8, host
  candidates on 127.0.0.1); the server returns every frame inverted, latest frame first.
- websocket: each frame is an input `{"frame": <rgb24 bin>}` on `/realtime/invert`, sent on
  the same schedule without waiting; each output is the inverted bytes.
Latency is colour change -> first returned frame showing the new inverse (p50, p99 over the
changes); fps is returned frames per second; dropped is sent - returned; server CPU per frame is
the server process's user+system CPU over the phase divided by the frames it returned.
Prints one table; needs the `[webrtc]` extra.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from av import VideoFrame

from reference.client import realtime_async
from reference.client.webrtc import FrameSource, webrtc_connect

REPO = Path(__file__).resolve().parent.parent
CHANGE_EVERY_S = 0.5
TOLERANCE = 24


@dataclass
class Phase:
    """What one path did: colour-change latencies and frame counts."""

    name: str
    sent: int = 0
    returned: int = 0
    latencies: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    seconds: float = 0.0

    def row(self) -> str:
        lat = sorted(self.latencies) or [float("nan")]
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        per_frame = self.cpu_s / self.returned * 1000 if self.returned else float("nan")
        return (
            f"| {self.name} | {statistics.median(lat) * 1000:.0f} | {p99 * 1000:.0f} | "
            f"{self.returned / self.seconds:.1f} | {self.sent} | {self.returned} | "
            f"{self.sent - self.returned} | {per_frame:.2f} |"
        )


class Colours:
    """The colour schedule: a new colour every CHANGE_EVERY_S, with the time of each change."""

    def __init__(self) -> None:
        self.rgb = (0, 0, 0)
        self.changed_at = time.monotonic()
        self.index = 0
        self.pending: dict[tuple[int, int, int], float] = {}

    def next(self) -> None:
        self.index += 1
        i = self.index
        self.rgb = ((i * 67) % 256, (i * 131 + 40) % 256, (i * 29 + 200) % 256)
        self.changed_at = time.monotonic()
        self.pending[inverse(self.rgb)] = self.changed_at

    def seen(self, rgb: tuple[int, int, int], phase: Phase) -> None:
        for want, since in list(self.pending.items()):
            if all(abs(a - b) <= TOLERANCE for a, b in zip(rgb, want, strict=True)):
                phase.latencies.append(time.monotonic() - since)
                del self.pending[want]


def inverse(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return (255 - rgb[0], 255 - rgb[1], 255 - rgb[2])


def solid(rgb: tuple[int, int, int], width: int, height: int) -> VideoFrame:
    frame = VideoFrame(width, height, "rgb24")
    frame.planes[0].update(bytes(rgb) * (frame.planes[0].line_size // 3 * height))
    return frame


def centre(data: bytes, width: int, height: int, stride: int) -> tuple[int, int, int]:
    offset = stride * (height // 2) + width // 2 * 3
    return data[offset], data[offset + 1], data[offset + 2]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _schedule(colours: Colours, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        await asyncio.sleep(CHANGE_EVERY_S)
        colours.next()


async def webrtc_phase(url: str, pid: int, args: argparse.Namespace) -> Phase:
    phase, colours = Phase("WebRTC (aiortc, VP8)"), Colours()
    source = FrameSource(lambda: solid(colours.rgb, args.width, args.height), fps=args.fps)
    async with webrtc_connect(url, source) as session:
        await session.recv_frame(timeout=10)  # media is up
        start_sent, cpu0, t0 = source.sent, cpu_seconds(pid), time.monotonic()
        schedule = asyncio.ensure_future(_schedule(colours, args.seconds))
        while not schedule.done():
            try:
                frame = await session.recv_frame(timeout=1)
            except TimeoutError:
                continue
            phase.returned += 1
            rgb = frame.to_rgb()
            plane = rgb.planes[0]
            colours.seen(centre(bytes(plane), rgb.width, rgb.height, plane.line_size), phase)
        phase.seconds, phase.cpu_s = time.monotonic() - t0, cpu_seconds(pid) - cpu0
        phase.sent = source.sent - start_sent
    return phase


async def websocket_phase(url: str, pid: int, args: argparse.Namespace) -> Phase:
    phase, colours = Phase("WebSocket msgpack (rgb24 bin)"), Colours()
    width, height, period = args.width, args.height, 1.0 / args.fps
    async with realtime_async(url, path="/realtime/invert") as conn:
        cpu0, t0 = cpu_seconds(pid), time.monotonic()

        async def send() -> None:
            start = time.monotonic()
            while time.monotonic() - start < args.seconds:
                await conn.send({"frame": bytes(colours.rgb) * (width * height)})
                phase.sent += 1
                await asyncio.sleep(max(0.0, start + phase.sent * period - time.monotonic()))

        sender = asyncio.ensure_future(send())
        schedule = asyncio.ensure_future(_schedule(colours, args.seconds))
        while phase.returned < phase.sent or not sender.done():
            try:
                out = await conn.recv(timeout=0.5)
            except TimeoutError:
                continue  # the sender may have just finished with nothing left in flight
            phase.returned += 1
            colours.seen(centre(out["frame"], width, height, width * 3), phase)
        await schedule
        phase.seconds, phase.cpu_s = time.monotonic() - t0, cpu_seconds(pid) - cpu0
    return phase


def start_server() -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "reference", "serve", "--host", "127.0.0.1", "--port", "0"]
    cmd += ["--app", "bench.invert_app:InvertApp"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("ws://"):
        proc.kill()
        raise SystemExit(f"the reference server did not start: {url!r}")
    return proc, url


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    args = parser.parse_args()
    proc, url = start_server()
    try:
        phases = [
            asyncio.run(webrtc_phase(url, proc.pid, args)),
            asyncio.run(websocket_phase(url, proc.pid, args)),
        ]
    finally:
        proc.terminate()
        proc.wait(10)
    print(f"{args.width}x{args.height} @ {args.fps:g} fps for {args.seconds:g} s per path")
    print(
        "| path | change latency p50 ms | p99 ms | fps back | sent | returned | dropped |"
        " server CPU ms/frame |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for phase in phases:
        print(phase.row())
    return 0


if __name__ == "__main__":
    sys.exit(main())
