"""Realtime endpoints over real sockets (spec chapters 04, 05, 06, 07, 08)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import msgpack
import pytest
from refhelpers import (
    DEADLINE,
    Running,
    frames_until_close,
    is_error,
    open_ws,
    pack,
    recv,
)
from websockets.asyncio.client import connect as async_connect
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosedError
from websockets.uri import parse_uri


def test_server_answers_inputs_in_order(server: Running) -> None:
    with open_ws(server.url + "/realtime") as ws:
        for p in ("a", "b", "c"):
            ws.send(pack({"prompt": p, "extra": [1, 2]}))
        assert [recv(ws) for _ in range(3)] == [{"output": p} for p in "abc"]


def test_server_rejects_bad_input_and_keeps_the_session(server: Running) -> None:
    with open_ws(server.url + "/realtime") as ws:
        ws.send(pack({"prompt": "slow", "delay_ms": 100}))
        ws.send(pack({"prompt": "b"}))
        ws.send(bytes.fromhex("c1"))
        ws.send(pack({"nope": 1}))
        ws.send("a text frame")
        ws.send(pack({"prompt": "after"}))
        frames = [recv(ws) for _ in range(6)]
    assert frames[:2] == [{"output": "slow"}, {"output": "b"}]
    assert all(is_error(f, "INVALID_INPUT") for f in frames[2:5])
    assert "prompt" in frames[3]["reason"]
    assert "Traceback" not in frames[3]["reason"]
    assert frames[5] == {"output": "after"}


def test_server_reports_handler_failure_and_keeps_the_session(server: Running) -> None:
    with open_ws(server.url + "/realtime") as ws:
        ws.send(pack({"prompt": "x", "fail": True}))
        ws.send(pack({"prompt": "y", "delay_ms": 5, "fail": True}))
        ws.send(pack({"prompt": "z"}))
        first, second, third = recv(ws), recv(ws), recv(ws)
    assert is_error(first, "INTERNAL_ERROR")
    assert first["reason"] == "requested failure"
    assert is_error(second, "INTERNAL_ERROR")
    assert third == {"output": "z"}


def test_server_runs_sync_handlers(server: Running) -> None:
    with open_ws(server.url + "/realtime/sync") as ws:
        ws.send(pack({"prompt": "up"}))
        assert recv(ws) == {"output": "UP"}


def test_server_keeps_order_under_backpressure(server: Running) -> None:
    # asyncio client: websockets' sync client holds its lock while a send blocks, so a sync
    # sender and reader on two threads deadlock against any server that pushes back.
    big = "x" * 50_000
    count = 300  # ~15 MB each way, far over the socket buffers

    async def main() -> list[str]:
        async with async_connect(
            server.url + "/realtime", compression=None, max_size=None, max_queue=1
        ) as ws:

            async def flood() -> None:
                for i in range(count):
                    await ws.send(pack({"prompt": f"{i}:{big}"}))

            sender = asyncio.create_task(flood())
            outputs = []
            for i in range(count):
                if i < 20:
                    await asyncio.sleep(0.01)  # a slow reader: the server waits, in order
                message = await asyncio.wait_for(ws.recv(), DEADLINE)
                outputs.append(msgpack.unpackb(message)["output"])
            await asyncio.wait_for(sender, DEADLINE)
            return outputs

    outputs = asyncio.run(main())
    assert [o.split(":")[0] for o in outputs] == [str(i) for i in range(count)]


def test_server_stops_reading_from_a_client_that_does_not_read(server: Running) -> None:
    """RT-FLOW-021: a client that never reads sees its sends stall (bounded server memory)."""
    client = ClientProtocol(parse_uri(server.url + "/realtime"))
    host, port = server.url.removeprefix("ws://").split(":")
    with socket.create_connection((host, int(port)), timeout=DEADLINE) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
        client.send_request(client.connect())
        sock.sendall(b"".join(client.data_to_send()))
        while not client.events_received():
            client.receive_data(sock.recv(65536))
        client.send_binary(pack({"prompt": "y" * (1 << 20)}))
        frame = b"".join(client.data_to_send())
        sock.settimeout(1.0)
        sent = 0
        stalled = False
        while sent < 64 and not stalled:
            try:
                sock.sendall(frame)
            except TimeoutError:  # a send blocked for a second: the server pushes back
                stalled = True
            sent += 1
    assert stalled, f"the server read {sent} MiB from a client that reads nothing"


def test_server_streams_outputs_in_order_then_ends(server: Running) -> None:
    with open_ws(server.url + "/realtime/stream") as ws:
        ws.send(pack({"prompt": "p", "count": 1000}))
        frames = frames_until_close(ws)
        assert ws.close_code == 1000
    assert frames[:-1] == [{"output": f"p-{i}"} for i in range(1000)]
    assert is_error(frames[-1], "TIMEOUT")


def test_server_rejects_extra_inputs_of_a_stream_before_the_end(server: Running) -> None:
    with open_ws(server.url + "/realtime/stream") as ws:
        ws.send(pack({"prompt": "p", "count": 1000}) + b"")
        ws.send(pack({"prompt": "q", "count": 1}))
        frames = frames_until_close(ws)
    # The second input either arrives during the stream (rejected before the end) or after.
    assert frames[:1000] == [{"output": f"p-{i}"} for i in range(1000)]
    assert is_error(frames[-1], "TIMEOUT")
    assert all(is_error(f, "INVALID_INPUT") for f in frames[1000:-1])


def test_server_reports_a_failing_stream_then_closes_normally(server: Running) -> None:
    with open_ws(server.url + "/realtime/boomstream") as ws:
        ws.send(pack({"prompt": "p"}))
        frames = frames_until_close(ws)
        assert ws.close_code == 1000
    assert frames[0] == {"output": "first"}
    assert is_error(frames[1], "INTERNAL_ERROR")


def test_server_bidi_answers_each_input_then_times_out(server: Running) -> None:
    with open_ws(server.url + "/realtime/bidi") as ws:
        ws.send(pack({"prompt": "a"}))
        assert recv(ws) == {"output": "a"}
        ws.send(pack({"prompt": 5}))
        assert is_error(recv(ws), "INVALID_INPUT")
        ws.send(pack({"prompt": "b"}))
        assert recv(ws) == {"output": "b"}
        frames = frames_until_close(ws)
        assert ws.close_code == 1000
    assert len(frames) == 1
    assert is_error(frames[0], "TIMEOUT")


def test_server_collects_client_stream_until_idle(server: Running) -> None:
    with open_ws(server.url + "/realtime/collect") as ws:
        for p in ("a", "b", "c"):
            ws.send(pack({"prompt": p}))
        frames = frames_until_close(ws)
    assert frames[0] == {"output": "a b c"}
    assert is_error(frames[1], "TIMEOUT")


def test_server_ends_idle_session_with_timeout(server: Running) -> None:
    with open_ws(server.url + "/realtime/timeout") as ws:
        ws.send(pack({"prompt": "late", "delay_ms": 1200}))
        frames = frames_until_close(ws)
        assert ws.close_code == 1000
    assert frames[0] == {"output": "late"}  # queued work is served before the end
    assert is_error(frames[1], "TIMEOUT")


def test_server_buffering_keeps_the_latest(server: Running) -> None:
    with open_ws(server.url + "/realtime/latest") as ws:
        ws.send(pack({"prompt": "slow", "delay_ms": 300}))
        time.sleep(0.05)  # not synchronisation: makes "slow" the in-flight input
        for i in range(5):
            ws.send(pack({"prompt": f"f{i}"}))
        outputs = [recv(ws)["output"] for _ in range(3)]
    assert outputs == ["slow", "f3", "f4"]


def test_server_batches_queued_inputs(server: Running) -> None:
    with open_ws(server.url + "/realtime/batch") as ws:
        ws.send(pack({"prompt": "busy", "delay_ms": 300}))
        time.sleep(0.05)
        for i in range(10):
            ws.send(pack({"prompt": str(i)}))
        outputs = [recv(ws)["output"] for _ in range(4)]
    assert outputs == ["busy", "0,1,2,3", "4,5,6,7", "8,9"]


def test_server_assembles_fragmented_messages(server: Running) -> None:
    data = pack({"prompt": "fragmented"})
    with open_ws(server.url + "/realtime") as ws:
        ws.send([data[:3], data[3:7], data[7:]])
        assert recv(ws) == {"output": "fragmented"}
        ws.ping().wait(DEADLINE)


def test_server_closes_1009_on_oversized_message(server: Running) -> None:
    with open_ws(server.url + "/realtime") as ws:
        ws.send(b"\x00" * (16 * 1024 * 1024 + 1))
        with pytest.raises(ConnectionClosedError):
            ws.recv(DEADLINE)
        assert ws.close_code == 1009


def test_server_accepts_a_16_mib_message(server: Running) -> None:
    prompt = "y" * (16 * 1024 * 1024 - 64)
    with open_ws(server.url + "/realtime") as ws:
        ws.send(msgpack.packb({"prompt": prompt}))
        assert recv(ws) == {"output": prompt}


def test_server_declines_compression(server: Running) -> None:
    with open_ws(server.url + "/realtime", compression="deflate") as ws:
        assert ws.response is not None
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
        ws.send(pack({"prompt": "plain"}))
        assert recv(ws) == {"output": "plain"}


@pytest.mark.parametrize(
    "path",
    [
        "/realtime?fal_jwt_token=t&max_buffering=5&unknown=1",
        "/someone/some-app/realtime?max_buffering=99",
        "/o/a/realtime/",
    ],
)
def test_server_routes_aliases_and_ignores_query_params(server: Running, path: str) -> None:
    with open_ws(server.url + path) as ws:
        ws.send(pack({"prompt": "q"}))
        assert recv(ws) == {"output": "q"}


def test_server_does_not_log_a_client_leaving_mid_reply(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="reference.server")
    with open_ws(server.url + "/realtime") as ws:
        for _ in range(20):
            ws.send(pack({"prompt": "gone", "delay_ms": 50}))
    deadline = time.monotonic() + DEADLINE
    while server.connection_count() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.connection_count() == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
