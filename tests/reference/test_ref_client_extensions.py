"""The reference client's side of the extension channel (reference/client; spec 15)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator

import pytest
from refhelpers import DEADLINE, Running
from websockets.sync.server import ServerConnection
from websockets.sync.server import serve as sync_serve

from reference.client import RealtimeError, build_url, realtime, realtime_async
from reference.core.client import ClientSession, Ended, Failed, Output
from reference.core.codec import encode

HELLO = {
    "type": "x-fal-message",
    "action": "hello",
    "version": "1.1",
    "extensions": ["correlation", "end-of-output"],
    "mode": "unary",
    "limits": {
        "max_message_bytes": 1,
        "session_timeout": None,
        "buffering": None,
        "max_batch_size": 1,
    },
}


def test_url_carries_rt_ext_once_per_token() -> None:
    """RT-EXT-001: `rt_ext`, comma-separated (sent as %2C), each token at most once."""
    url = build_url("ws://h/realtime", extensions=["end-of-input", "correlation", "end-of-input"])
    assert url == "ws://h/realtime?rt_ext=end-of-input%2Ccorrelation"
    assert build_url("ws://h/realtime", extensions=[]) == "ws://h/realtime?rt_ext="
    assert build_url("ws://h/realtime") == "ws://h/realtime"


def test_session_enables_only_what_both_sides_named() -> None:
    session = ClientSession(["end-of-output", "heartbeat"])
    assert session.receive_message(json.dumps(HELLO)) is None
    assert session.enabled == ("end-of-output",)


def test_session_ignores_a_hello_that_is_not_the_first_message() -> None:
    """RT-EXT-007: the first message decides; a later hello turns nothing on."""
    session = ClientSession(["correlation", "end-of-output"])
    assert session.receive_message(encode({"output": "a"})) == Output({"output": "a"})
    assert session.receive_message(json.dumps(HELLO)) is None
    assert session.enabled == ()
    end = '{"type":"x-fal-message","action":"end-of-output","reason":"complete"}'
    assert session.receive_message(end) is None  # off: skipped as 1.0 skips it (RT-EXT-006)
    assert not session.ended


def test_session_pairs_outputs_and_errors_with_their_inputs() -> None:
    """RT-EXT-033: output tags, input_index and dropped notices reach the caller."""
    session = ClientSession(["correlation", "end-of-output"])
    session.receive_message(json.dumps(HELLO))
    assert (
        session.receive_message('{"type":"x-fal-message","action":"output","inputs":[1]}') is None
    )
    assert session.receive_message(encode({"output": "x"})) == Output({"output": "x"}, (1,))
    assert session.receive_message(encode({"output": "y"})) == Output({"output": "y"})
    error = '{"type":"x-fal-error","error":"INVALID_INPUT","reason":"r","input_index":0}'
    failed = session.receive_message(error)
    assert isinstance(failed, Failed)
    assert failed.input_index == 0
    assert (
        session.receive_message('{"type":"x-fal-message","action":"dropped","inputs":[2]}') is None
    )
    assert session.dropped == [2]
    end = '{"type":"x-fal-message","action":"end-of-output","reason":"complete"}'
    assert session.receive_message(end) == Ended("complete")  # RT-EXT-021: not an error


def test_session_without_opt_in_never_reads_a_hello() -> None:
    session = ClientSession()
    session.receive_message(json.dumps(HELLO))
    assert session.enabled == ()
    assert session.end_of_input() is None


def test_end_input_ends_a_client_stream_without_the_idle_wait(server: Running) -> None:
    """RT-EXT-010/011: the result comes, then end-of-output says why (RT-EXT-020/021)."""
    tokens = ["end-of-input", "end-of-output"]
    with realtime(server.url + "/realtime/collect", extensions=tokens) as conn:
        assert conn.send({"prompt": "a"}) == 0
        assert conn.send({"prompt": "b"}) == 1
        assert conn.end_input() is True
        assert conn.extensions == ("end-of-input", "end-of-output")
        assert conn.recv(timeout=DEADLINE) == {"output": "a b"}
        assert conn.recv(timeout=DEADLINE) is None
        assert conn.end_reason == "end-of-input"  # not "idle-timeout": no idle wait
        with pytest.raises(RuntimeError, match="RT-EXT-010"):
            conn.send({"prompt": "late"})


def test_correlated_errors_and_outputs_name_their_inputs(server: Running) -> None:
    with realtime(server.url + "/realtime", extensions=["correlation"]) as conn:
        bad = conn.send({})
        good = conn.send({"prompt": "x"})
        with pytest.raises(RealtimeError) as err:
            conn.recv(timeout=DEADLINE)
        assert err.value.input_index == bad
        assert conn.recv(timeout=DEADLINE) == {"output": "x"}
        assert conn.last_inputs == (good,)


def test_async_end_input_on_a_bidi_stream(server: Running) -> None:
    async def main() -> list[object]:
        tokens = ["end-of-input", "end-of-output", "correlation"]
        async with realtime_async(server.url + "/realtime/bidi", extensions=tokens) as conn:
            await conn.send({"prompt": "a"})
            assert await conn.end_input() is True
            got = [await conn.recv(timeout=DEADLINE), await conn.recv(timeout=DEADLINE)]
            assert conn.end_reason == "end-of-input"
            return got

    assert asyncio.run(main()) == [{"output": "a"}, None]


def test_end_input_is_off_against_a_server_without_the_channel(server: Running) -> None:
    """RT-EXT-007: the first message is no hello; the output read meanwhile is kept."""
    with realtime(server.url + "/chatty", extensions=["end-of-input"]) as conn:
        assert conn.end_input(hello_wait=DEADLINE) is False
        assert conn.extensions == ()
        assert conn.recv(timeout=DEADLINE) == {"output": "ok"}


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A server that says hello with a 1 s heartbeat and then never sends again."""
    hello = dict(HELLO, extensions=["heartbeat"], heartbeat_interval=1)

    def handler(ws: ServerConnection) -> None:
        ws.send(json.dumps(hello))
        time.sleep(5)

    with sync_serve(handler, "127.0.0.1", 0, ping_interval=None) as srv:
        thread = threading.Thread(target=srv.serve_forever, daemon=True)
        thread.start()
        yield f"ws://127.0.0.1:{srv.socket.getsockname()[1]}/realtime"
        srv.shutdown()


def test_client_reports_heartbeat_lost_after_twice_the_interval(silent_server: str) -> None:
    """RT-EXT-042: silence for 2 x heartbeat_interval is an error of the session."""
    with realtime(silent_server, extensions=["heartbeat"]) as conn:
        with pytest.raises(RealtimeError) as err:
            conn.recv(timeout=DEADLINE)
        assert err.value.code == "HEARTBEAT_LOST"
