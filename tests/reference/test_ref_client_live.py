"""The reference client's opt-in JS send rules over real sockets (reference/client/live.py).

The rules are those @fal-ai/client 1.10.1 was observed to follow (tests/interop/
test_fal_js_client_vs_reference.py). The assertions are the rules (the latest is written
last, in send order, at most one frame per interval), never one timing-exact outcome, so
they hold on a loaded machine. Each frame the /realtime endpoint gets is answered, so the
outputs are the frames the client wrote.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import msgpack
import pytest
from refhelpers import DEADLINE, Running
from websockets.sync.server import Server, ServerConnection, serve

from reference.client import (
    JS_THROTTLE_INTERVAL,
    AsyncLiveConnection,
    LiveConnection,
    RealtimeError,
    realtime,
    realtime_async,
)

INTERVAL = 0.1
#: asyncio may run a timer up to its clock resolution early; Python's threads never do.
SLACK = 0.005


def record_writes(conn: LiveConnection | AsyncLiveConnection) -> list[float]:
    """Wrap the socket's send: the monotonic time of each frame written."""
    times: list[float] = []
    ws: Any = conn.websocket
    send = ws.send

    def timed(message: Any) -> Any:
        times.append(time.monotonic())
        return send(message)

    ws.send = timed
    return times


def outputs_until(recv: Callable[[], Any], last: str) -> list[str]:
    seen: list[str] = []
    while not seen or seen[-1] != last:
        seen.append(recv()["output"])
    return seen


def check_throttle_rules(
    sent: list[str], written: list[str], times: list[float], span: float
) -> None:
    assert (written[0], written[-1]) == (sent[0], sent[-1]), written  # first at once, latest last
    assert written == sorted(set(written), key=sent.index), written  # send order, no repeats
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= INTERVAL - SLACK for gap in gaps), gaps  # at most one per interval
    assert len(written) <= 2 + span / INTERVAL, (written, span)


def test_sync_throttle_writes_the_first_and_the_latest_of_a_burst(server: Running) -> None:
    sent = [f"p{i}" for i in range(10)]
    with realtime(server.url + "/realtime", throttle_interval=INTERVAL) as conn:
        assert isinstance(conn, LiveConnection)
        times = record_writes(conn)
        start = time.monotonic()
        for prompt in sent:
            conn.send({"prompt": prompt})
            time.sleep(0.02)
        span = time.monotonic() - start
        written = outputs_until(lambda: conn.recv(timeout=DEADLINE), "p9")
    check_throttle_rules(sent, written, times, span)
    assert len(written) < len(sent)  # 10 sends 20 ms apart cannot all pass a 100 ms throttle


def test_async_throttle_writes_the_first_and_the_latest_of_a_burst(server: Running) -> None:
    sent = [f"p{i}" for i in range(10)]

    async def main() -> tuple[list[str], list[float], float]:
        async with realtime_async(server.url + "/realtime", throttle_interval=INTERVAL) as conn:
            assert isinstance(conn, AsyncLiveConnection)
            times = record_writes(conn)
            start = time.monotonic()
            for prompt in sent:
                await conn.send({"prompt": prompt})
                await asyncio.sleep(0.02)
            span = time.monotonic() - start
            written: list[str] = []
            while not written or written[-1] != "p9":
                written.append((await conn.recv(timeout=DEADLINE))["output"])
            return written, times, span

    written, times, span = asyncio.run(main())
    check_throttle_rules(sent, written, times, span)
    assert len(written) < len(sent)


def test_async_throttle_after_a_quiet_spell_keeps_only_the_last_of_a_tight_loop(
    server: Running,
) -> None:
    """As in JS: a send after a quiet spell waits for the next timer tick, so ten sends with
    no await between them replace one another and only the last is written."""

    async def main() -> list[Any]:
        async with realtime_async(server.url + "/realtime", throttle_interval=INTERVAL) as conn:
            await conn.send({"prompt": "warm"})
            got = [await conn.recv(timeout=DEADLINE)]
            await asyncio.sleep(2 * INTERVAL)
            for i in range(10):
                await conn.send({"prompt": f"p{i}"})
            got.append(await conn.recv(timeout=DEADLINE))
            await asyncio.sleep(2 * INTERVAL)
            await conn.send({"prompt": "end"})  # nothing else came before this one's answer
            got.append(await conn.recv(timeout=DEADLINE))
            return [g["output"] for g in got]

    assert asyncio.run(main()) == ["warm", "p9", "end"]


def test_sync_throttle_after_a_quiet_spell_writes_the_last_of_a_tight_loop(
    server: Running,
) -> None:
    with realtime(server.url + "/realtime", throttle_interval=INTERVAL) as conn:
        conn.send({"prompt": "warm"})
        assert conn.recv(timeout=DEADLINE) == {"output": "warm"}
        time.sleep(2 * INTERVAL)
        start = time.monotonic()
        for i in range(10):
            conn.send({"prompt": f"p{i}"})
        span = time.monotonic() - start
        written = outputs_until(lambda: conn.recv(timeout=DEADLINE), "p9")
    assert written == sorted(set(written), key=lambda p: int(p[1:]))
    assert len(written) <= 1 + (1 + span / INTERVAL)  # the next tick, then one per interval


def test_js_default_interval_is_128_ms() -> None:
    assert JS_THROTTLE_INTERVAL == 0.128


def test_throttle_interval_must_not_be_negative(server: Running) -> None:
    with pytest.raises(ValueError, match="0 is off"), realtime(server.url, throttle_interval=-1):
        pass


def test_lazy_sync_reconnects_on_the_next_send_and_keeps_only_the_latest(
    server: Running,
) -> None:
    with realtime(server.url + "/realtime/stream", lazy=True) as conn:
        assert isinstance(conn, LiveConnection)
        conn.send({"prompt": "s", "count": 1})
        assert conn.recv(timeout=DEADLINE) == {"output": "s-0"}
        assert conn.recv(timeout=DEADLINE) is None  # TIMEOUT then close 1000: not an error
        first = conn.websocket
        for i in range(5):  # the first opens a connection; all wait in one slot
            conn.send({"prompt": f"c{i}", "count": 1})
        assert conn.recv(timeout=DEADLINE) == {"output": "c4-0"}
        assert conn.recv(timeout=DEADLINE) is None
        assert conn.connections == 2
        assert first.close_code == 1000
        conn.send({"prompt": "again", "count": 1})  # and again, lazily
        assert conn.recv(timeout=DEADLINE) == {"output": "again-0"}
        assert conn.connections == 3


def test_lazy_async_reconnects_on_the_next_send_and_keeps_only_the_latest(
    server: Running,
) -> None:
    async def main() -> tuple[list[Any], int]:
        async with realtime_async(server.url + "/realtime/stream", lazy=True) as conn:
            await conn.send({"prompt": "s", "count": 1})
            got = [await conn.recv(timeout=DEADLINE), await conn.recv(timeout=DEADLINE)]
            for i in range(5):
                await conn.send({"prompt": f"c{i}", "count": 1})
            got += [await conn.recv(timeout=DEADLINE), await conn.recv(timeout=DEADLINE)]
            assert isinstance(conn, AsyncLiveConnection)
            return got, conn.connections

    got, connections = asyncio.run(main())
    assert got == [{"output": "s-0"}, None, {"output": "c4-0"}, None]
    assert connections == 2


def test_lazy_with_throttle_writes_first_and_latest_after_the_reconnect(server: Running) -> None:
    with realtime(server.url + "/realtime/stream", lazy=True, throttle_interval=INTERVAL) as conn:
        conn.send({"prompt": "s", "count": 1})
        assert conn.recv(timeout=DEADLINE) == {"output": "s-0"}
        assert conn.recv(timeout=DEADLINE) is None
        for i in range(5):
            conn.send({"prompt": f"c{i}", "count": 1})
        seen: list[str] = []
        while not seen or seen[-1] != "c4-0":
            value = conn.recv(timeout=DEADLINE)
            if value is not None:
                seen.append(value["output"])
    assert seen[-1] == "c4-0"
    assert seen == sorted(set(seen))  # c0 (the next tick) at most, then the latest


def test_lazy_error_frames_are_raised_and_the_connection_goes_on(server: Running) -> None:
    with realtime(server.url + "/realtime", lazy=True) as conn:
        assert isinstance(conn, LiveConnection)
        conn.send({"nope": 1})
        with pytest.raises(RealtimeError) as info:
            conn.recv(timeout=DEADLINE)
        assert info.value.code == "INVALID_INPUT"
        conn.send({"prompt": "after"})
        assert conn.recv(timeout=DEADLINE) == {"output": "after"}
        assert conn.connections == 1


def stop(running: Running) -> None:
    asyncio.run_coroutine_threadsafe(running.server.stop(), running.loop).result(DEADLINE)


def test_lazy_reports_a_shutdown_close_1001_once(own_server: Running) -> None:
    """JS reports every close but 1000 (RT-LIFE-031); the default client returns None."""
    with realtime(own_server.url + "/realtime", lazy=True) as conn:
        conn.send({"prompt": "before"})
        assert conn.recv(timeout=DEADLINE) == {"output": "before"}
        stop(own_server)
        with pytest.raises(RealtimeError, match="code 1001") as info:
            conn.recv(timeout=DEADLINE)
        assert info.value.code == "CONNECTION_CLOSED"
        assert conn.recv(timeout=DEADLINE) is None  # reported once
        conn.send({"prompt": "nobody there"})  # reconnects, and the open fails
        with pytest.raises(ConnectionError, match="is the server running"):
            conn.recv(timeout=DEADLINE)


def test_lazy_async_reports_a_shutdown_close_1001(own_server: Running) -> None:
    async def main() -> str:
        async with realtime_async(own_server.url + "/realtime", lazy=True) as conn:
            await conn.send({"prompt": "before"})
            assert await conn.recv(timeout=DEADLINE) == {"output": "before"}
            await asyncio.to_thread(stop, own_server)
            try:
                await conn.recv(timeout=DEADLINE)
            except RealtimeError as exc:
                return exc.reason
            return "no error"

    assert "code 1001" in asyncio.run(main())


@pytest.fixture
def closes_without_status() -> Iterator[str]:
    """A WebSocket server that answers one input with one output, then closes with no status
    code (an empty close frame: the peer sees 1005), as the JS `close` scenario observed."""

    def handler(conn: ServerConnection) -> None:
        conn.recv(DEADLINE)
        conn.send(msgpack.packb({"output": "once"}))
        conn.close(code=None)  # type: ignore[arg-type]  # websockets sends an empty close

    server: Server = serve(handler, "127.0.0.1", 0, compression=None)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}/realtime"
    finally:
        server.shutdown()
        thread.join(DEADLINE)


def test_lazy_reports_a_close_without_status_1005_and_reconnects(
    closes_without_status: str,
) -> None:
    with realtime(closes_without_status, lazy=True) as conn:
        assert isinstance(conn, LiveConnection)
        conn.send({"prompt": "x"})
        assert conn.recv(timeout=DEADLINE) == {"output": "once"}
        with pytest.raises(RealtimeError, match="code 1005"):
            conn.recv(timeout=DEADLINE)
        conn.send({"prompt": "y"})  # a new connection, as JS after its close
        assert conn.recv(timeout=DEADLINE) == {"output": "once"}
        assert conn.connections == 2
    with realtime(closes_without_status) as plain:  # the default: a clean end
        plain.send({"prompt": "x"})
        assert plain.recv(timeout=DEADLINE) == {"output": "once"}
        assert plain.recv(timeout=DEADLINE) is None
