"""Fixtures: reference servers on 127.0.0.1 (free ports), run in a thread with their own loop."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from refhelpers import Running

from reference import App, WebSocket, endpoint, realtime
from reference.apps.conformance import ConformanceApp, Input, Output
from reference.server.serve import Server, serve


class ExtendedApp(ConformanceApp):
    """The conformance app plus routes that exercise failure paths."""

    @endpoint("/boom", is_websocket=True)
    async def boom(self, websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_data()
        raise RuntimeError("raw handler failed")

    @endpoint("/chatty", is_websocket=True)
    async def chatty(self, websocket: WebSocket) -> None:
        """Sends what a realtime client must skip, then one output."""
        await websocket.accept()
        await websocket.send_text('{"type":"x-fal-message","action":"timings","timing":0.01}')
        await websocket.send_text('{"type":"future-frame"}')
        await websocket.send_bytes(b"\x81\xa6output\xa2ok")
        await websocket.close()

    @realtime("/realtime/boomstream")
    async def boomstream(self, inp: Input) -> AsyncIterator[Output]:
        yield Output(output="first")
        raise RuntimeError("stream failed")

    @realtime("/realtime/slowstream")
    async def slowstream(self, inp: Input) -> AsyncIterator[Output]:
        """A server stream slow enough for a client to fill the input queue meanwhile."""
        for i in range(2):
            await asyncio.sleep(0.3)
            yield Output(output=f"{inp.prompt}-{i}")

    @realtime("/realtime/sync")
    def sync_unary(self, inp: Input) -> Output:
        return Output(output=inp.prompt.upper())


def _run(app: App, key: str | None) -> Iterator[Running]:
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: list[Server] = []

    def main() -> None:
        asyncio.set_event_loop(loop)
        holder.append(loop.run_until_complete(serve(app, "127.0.0.1", 0, key)))
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    assert ready.wait(10), "server did not start"
    server = holder[0]
    try:
        yield Running(server, loop, server.url)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="module")
def server() -> Iterator[Running]:
    yield from _run(ExtendedApp(), None)


@pytest.fixture(scope="module")
def keyed_server() -> Iterator[Running]:
    yield from _run(ConformanceApp(), "sekrit")


@pytest.fixture
def own_server() -> Iterator[Running]:
    """A server of one test's own, for tests that stop it (stop() twice is harmless)."""
    yield from _run(ConformanceApp(), None)


@pytest.fixture(scope="module")
def serve_app() -> Callable[[App, str | None], contextlib.AbstractContextManager[Running]]:
    """`with serve_app(app, key) as running:` serves a test module's own app."""
    return contextlib.contextmanager(_run)
