"""Self-test helpers: run `pytest conformance` as a subprocess, serve tiny targets (spec 13)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
import pytest
from websockets.asyncio.server import ServerConnection, serve

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 120


@dataclass
class SuiteRun:
    """One finished subprocess run of the suite."""

    returncode: int
    output: str
    report: dict[str, Any] | None

    def verdict(self, req_id: str) -> str:
        """The report's verdict for one requirement."""
        assert self.report is not None, self.output[-2000:]
        return str(self.report["requirements"][req_id]["verdict"])


# Variables of the caller's environment a self-test run must not inherit.
UNINHERITED = (
    "RT_CONFORMANCE_TARGET",
    "RT_CONFORMANCE_KEY",
    "PYTEST_ADDOPTS",
    "GITHUB_STEP_SUMMARY",
)


def run_suite(
    tmp_path: Path,
    *args: str,
    paths: tuple[str, ...] = ("conformance/checks",),
    env: dict[str, str] | None = None,
) -> SuiteRun:
    """`python -m pytest <paths> <args> --conformance-report ...` from the repo root."""
    report = tmp_path / "report.json"
    env = {**{k: v for k, v in os.environ.items() if k not in UNINHERITED}, **(env or {})}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *paths,
            "-p",
            "no:cacheprovider",
            "-q",
            "--conformance-report",
            str(report),
            *args,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=env,
        check=False,
    )
    data = json.loads(report.read_text()) if report.exists() else None
    return SuiteRun(proc.returncode, proc.stdout + proc.stderr, data)


class TinyTarget:
    """A deliberately small server on 127.0.0.1 for option tests (not the broken-server catalogue).

    Modes: "fal-like" answers bad input with INTERNAL_ERROR then close 1000 (breaks only robust
    SHOULDs); "text-outputs" sends outputs as TEXT JSON (breaks RT-MSG-020, a MUST).
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    async def _handler(self, ws: ServerConnection) -> None:
        async for message in ws:
            try:
                if isinstance(message, str):
                    raise ValueError("text input")
                value = msgpack.unpackb(message, raw=False)
                output = {"output": value["prompt"]}
            except Exception:  # every bad input: fal's behaviour
                error = {"type": "x-fal-error", "error": "INTERNAL_ERROR", "reason": "bad input"}
                await ws.send(json.dumps(error))
                await ws.close(1000)
                return
            if self.mode == "text-outputs":
                await ws.send(json.dumps(output))
            else:
                await ws.send(msgpack.packb(output))

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        async with serve(self._handler, "127.0.0.1", 0, compression=None) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            self.url = f"ws://127.0.0.1:{port}"
            self._ready.set()
            await self._stop.wait()

    def _run(self) -> None:
        self._loop.run_until_complete(self._main())

    def __enter__(self) -> TinyTarget:
        self._thread.start()
        assert self._ready.wait(timeout=10), "the tiny target did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)


class SuiteRunner:
    """Runs the suite as a subprocess, writing its report under a temporary directory."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path

    def __call__(
        self,
        *args: str,
        paths: tuple[str, ...] = ("conformance/checks",),
        env: dict[str, str] | None = None,
    ) -> SuiteRun:
        return run_suite(self.tmp_path, *args, paths=paths, env=env)


@pytest.fixture
def suite(tmp_path: Path) -> SuiteRunner:
    """Run `pytest conformance/checks ARGS` and read its JSON report."""
    return SuiteRunner(tmp_path)


@pytest.fixture
def fal_like_target() -> Iterator[TinyTarget]:
    """A target that closes the session after a rejected input (robust SHOULDs fail)."""
    with TinyTarget("fal-like") as target:
        yield target


@pytest.fixture
def text_output_target() -> Iterator[TinyTarget]:
    """A target that sends outputs as TEXT (a MUST fails)."""
    with TinyTarget("text-outputs") as target:
        yield target


REFERENCE_KEY = "selftest-key-5b1e"


@dataclass(frozen=True)
class KeyedServer:
    """A server that requires `key`."""

    url: str
    key: str


@pytest.fixture
def keyed_reference() -> Iterator[KeyedServer]:
    """`python -m reference serve --key REFERENCE_KEY` on a free loopback port."""
    serve = ["serve", "--host", "127.0.0.1", "--port", "0", "--key", REFERENCE_KEY]
    proc = subprocess.Popen(
        [sys.executable, "-m", "reference", *serve],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()  # the server prints its URL when ready
        assert url.startswith("ws://127.0.0.1:"), url
        yield KeyedServer(url, REFERENCE_KEY)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
