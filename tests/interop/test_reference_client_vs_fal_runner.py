"""Our client (`reference.client`) against the real fal 1.83.0 runner (spec chapters 04, 08, 13).

The runner hosts the conformance app written as a `fal.App` (`interop/fal_conformance_app.py`)
with `FAL_APP_ROOT_PATH=/local/conformance-app`, so both `/realtime` and the gateway form
`/local/conformance-app/realtime` reach it. Where fal's behaviour is a documented quirk
(reordered stream outputs, a session closed after one bad input) the test says so.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from interop.launch import ServerProcess
from reference.client import (
    RealtimeConnection,
    RealtimeError,
    realtime,
    realtime_async,
    ws_connect,
    ws_connect_async,
)

APP = "local/conformance-app"
RECV_TIMEOUT = 10.0


def drain(conn: RealtimeConnection, limit: int = 50) -> list[Any]:
    """Outputs until the session ends (recv returns None), bounded."""
    outputs: list[Any] = []
    for _ in range(limit):
        item = conn.recv(timeout=RECV_TIMEOUT)
        if item is None:
            return outputs
        outputs.append(item)
    raise AssertionError(f"session did not end after {limit} outputs: {outputs}")


def test_client_round_trips_on_runner_path(fal_runner: ServerProcess) -> None:
    with realtime(f"{fal_runner.url}/realtime") as conn:
        for prompt in ("a", "b", "c"):
            conn.send({"prompt": prompt})
        got = [conn.recv(timeout=RECV_TIMEOUT) for _ in range(3)]
    assert got == [{"output": "a"}, {"output": "b"}, {"output": "c"}]


def test_client_round_trips_by_app_id_with_token_and_max_buffering(
    fal_runner: ServerProcess,
) -> None:
    # The gateway form, as fal_client connects; the runner ignores both query parameters.
    with realtime(APP, base_url=fal_runner.url, token="local-jwt", max_buffering=5) as conn:
        conn.send({"prompt": "gateway", "extra": [1, 2]})
        assert conn.recv(timeout=RECV_TIMEOUT) == {"output": "gateway"}


def test_client_realtime_async_round_trips(fal_runner: ServerProcess) -> None:
    async def run() -> list[Any]:
        async with realtime_async(APP, base_url=fal_runner.url) as conn:
            outputs = []
            for prompt in ("x", "y"):
                await conn.send({"prompt": prompt, "delay_ms": 5})
                outputs.append(await conn.recv(timeout=RECV_TIMEOUT))
            return outputs

    assert asyncio.run(run()) == [{"output": "x"}, {"output": "y"}]


def test_client_raises_fal_internal_error_then_sees_the_close(fal_runner: ServerProcess) -> None:
    with realtime(f"{fal_runner.url}/realtime") as conn:
        conn.send({"prompt": 123})
        with pytest.raises(RealtimeError) as caught:
            conn.recv(timeout=RECV_TIMEOUT)
        # fal reports validation failures as INTERNAL_ERROR and closes with 1000.
        assert caught.value.code == "INTERNAL_ERROR"
        assert "prompt" in caught.value.reason
        assert conn.recv(timeout=RECV_TIMEOUT) is None


def test_client_raises_for_a_failing_handler(fal_runner: ServerProcess) -> None:
    with realtime(f"{fal_runner.url}/realtime") as conn:
        conn.send({"prompt": "boom", "fail": True})
        with pytest.raises(RealtimeError) as caught:
            conn.recv(timeout=RECV_TIMEOUT)
    assert (caught.value.code, caught.value.reason) == ("INTERNAL_ERROR", "requested failure")


def test_client_reads_a_server_stream_to_its_timeout_end(fal_runner: ServerProcess) -> None:
    with realtime(f"{fal_runner.url}/realtime/stream") as conn:
        conn.send({"prompt": "s", "count": 5})
        outputs = drain(conn)
    # fal can reorder a stream (its 2-slot send queue overflows into direct sends): compare
    # as a multiset. The TIMEOUT frame that ends the stream is not an error for our client.
    assert sorted(o["output"] for o in outputs) == [f"s-{i}" for i in range(5)]


def test_client_bidi_session_ends_after_idle_timeout(fal_runner: ServerProcess) -> None:
    with realtime(f"{fal_runner.url}/realtime/bidi") as conn:
        conn.send({"prompt": "one"})
        assert conn.recv(timeout=RECV_TIMEOUT) == {"output": "one"}
        conn.send({"prompt": "two"})
        assert drain(conn) == [{"output": "two"}]


def test_client_streaming_collects_until_idle(fal_runner: ServerProcess) -> None:
    with realtime(APP, path="/realtime/collect", base_url=fal_runner.url) as conn:
        for word in ("a", "b", "c"):
            conn.send({"prompt": word})
        assert drain(conn) == [{"output": "a b c"}]


def test_client_session_timeout_ends_cleanly(fal_runner: ServerProcess) -> None:
    with realtime(f"{fal_runner.url}/realtime/timeout") as conn:
        conn.send({"prompt": "t"})
        assert drain(conn) == [{"output": "t"}]


def test_client_batching_gets_one_output_per_batch(fal_runner: ServerProcess) -> None:
    with realtime(f"{fal_runner.url}/realtime/batch") as conn:
        conn.send({"prompt": "solo"})
        assert conn.recv(timeout=RECV_TIMEOUT) == {"output": "solo"}


def test_ws_connect_echoes_text_then_closes_1000(fal_runner: ServerProcess) -> None:
    with ws_connect(APP, path="/echo", base_url=fal_runner.url) as conn:
        conn.send("m")
        got = [conn.recv(timeout=RECV_TIMEOUT) for _ in range(4)]
        assert got == ["m-0", "m-1", "m-2", None]
        assert conn.close_code == 1000


def test_ws_connect_async_echoes_text_and_binary(fal_runner: ServerProcess) -> None:
    async def main() -> tuple[list[object], int | None, object]:
        async with ws_connect_async(APP, path="/echo", base_url=fal_runner.url) as conn:
            await conn.send("m")
            got: list[object] = [await conn.recv(timeout=RECV_TIMEOUT) for _ in range(4)]
            code = conn.close_code
        async with ws_connect_async(f"{fal_runner.url}/echo") as conn:
            await conn.send(b"\x00\xffbin")
            echoed = await conn.recv(timeout=RECV_TIMEOUT)
        return got, code, echoed

    assert asyncio.run(main()) == (["m-0", "m-1", "m-2", None], 1000, b"\x00\xffbin")


def test_ws_connect_echoes_binary(fal_runner: ServerProcess) -> None:
    with ws_connect(f"{fal_runner.url}/echo") as conn:
        conn.send(b"\x00\xffbin")
        assert conn.recv(timeout=RECV_TIMEOUT) == b"\x00\xffbin"
