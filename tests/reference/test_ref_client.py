"""The reference client against the reference server (reference/client; spec chapters 04, 05)."""

from __future__ import annotations

import asyncio
import socket

import pytest
from refhelpers import DEADLINE, Running

from reference.client import (
    RealtimeError,
    RecvTimeout,
    build_url,
    realtime,
    realtime_async,
    ws_connect,
    ws_connect_async,
)


def test_client_round_trips_in_order(server: Running) -> None:
    with realtime(server.url + "/realtime") as conn:
        for p in ("a", "b"):
            conn.send({"prompt": p})
        assert [conn.recv(timeout=DEADLINE) for _ in range(2)] == [{"output": "a"}, {"output": "b"}]


def test_client_defaults_an_empty_path_to_realtime(server: Running) -> None:
    with realtime(server.url) as conn:
        conn.send({"prompt": "default"})
        assert conn.recv(timeout=DEADLINE) == {"output": "default"}


def test_client_app_id_form_with_base_url(server: Running) -> None:
    with realtime("owner/app", base_url=server.url, token="t", max_buffering=2) as conn:
        conn.send({"prompt": "gw"})
        assert conn.recv(timeout=DEADLINE) == {"output": "gw"}


def test_client_raises_typed_error_and_session_goes_on(server: Running) -> None:
    with realtime(server.url + "/realtime") as conn:
        conn.send({"nope": 1})
        with pytest.raises(RealtimeError) as info:
            conn.recv(timeout=DEADLINE)
        assert info.value.code == "INVALID_INPUT"
        assert "prompt" in info.value.reason
        conn.send({"prompt": "still here"})
        assert conn.recv(timeout=DEADLINE) == {"output": "still here"}


def test_client_returns_none_after_timeout_frame(server: Running) -> None:
    with realtime(server.url + "/realtime/stream") as conn:
        conn.send({"prompt": "s", "count": 2})
        assert conn.recv(timeout=DEADLINE) == {"output": "s-0"}
        assert conn.recv(timeout=DEADLINE) == {"output": "s-1"}
        assert conn.recv(timeout=DEADLINE) is None
        assert conn.recv(timeout=DEADLINE) is None


def test_client_skips_messages_and_unknown_text_frames(server: Running) -> None:
    with realtime(server.url + "/chatty") as conn:
        assert conn.recv(timeout=DEADLINE) == {"output": "ok"}
        assert conn.recv(timeout=DEADLINE) is None


def test_client_recv_timeout_says_what_to_do(server: Running) -> None:
    with realtime(server.url + "/realtime") as conn:
        conn.send({"prompt": "slow", "delay_ms": 2000})
        with pytest.raises(RecvTimeout, match="larger timeout"):
            conn.recv(timeout=0.05)


def test_client_explains_refusals(server: Running, keyed_server: Running) -> None:
    with pytest.raises(RealtimeError) as info, realtime(keyed_server.url):
        pass
    assert info.value.code == "HTTP_401"
    assert "key=" in info.value.reason
    with pytest.raises(RealtimeError, match="check the path"), realtime(server.url + "/nowhere"):
        pass
    with realtime(keyed_server.url, key="sekrit") as conn:
        conn.send({"prompt": "k"})
        assert conn.recv(timeout=DEADLINE) == {"output": "k"}


def test_client_explains_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"ws://127.0.0.1:{port}/realtime"
    with pytest.raises(ConnectionError, match="is the server running"), realtime(url):
        pass


def test_ws_connect_echo(server: Running) -> None:
    with ws_connect("owner/app", base_url=server.url, path="/echo") as conn:
        conn.send("m")
        assert [conn.recv(DEADLINE) for _ in range(3)] == ["m-0", "m-1", "m-2"]
        assert conn.recv(DEADLINE) is None
        assert conn.close_code == 1000


def test_ws_connect_async_echo(server: Running) -> None:
    """The asyncio twin of `ws_connect`: text echo then close 1000; binary echoed as is."""

    async def main() -> tuple[list[object], int | None, object]:
        async with ws_connect_async("owner/app", base_url=server.url, path="/echo") as conn:
            await conn.send("m")
            texts: list[object] = [await conn.recv(DEADLINE) for _ in range(4)]
            code = conn.close_code
        async with ws_connect_async(server.url + "/echo") as conn:
            await conn.send(b"\x00bin")
            echoed = await conn.recv(DEADLINE)
        return texts, code, echoed

    assert asyncio.run(main()) == (["m-0", "m-1", "m-2", None], 1000, b"\x00bin")


def test_ws_connect_async_explains_refusals(server: Running, keyed_server: Running) -> None:
    async def open_(url: str, key: str | None = None) -> None:
        async with ws_connect_async(url, key=key):
            pass

    with pytest.raises(RealtimeError) as info:
        asyncio.run(open_(keyed_server.url + "/echo"))
    assert info.value.code == "HTTP_401"
    with pytest.raises(RealtimeError, match="check the path"):
        asyncio.run(open_(server.url + "/nowhere"))
    asyncio.run(open_(keyed_server.url + "/echo", key="sekrit"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConnectionError, match="is the server running"):
        asyncio.run(open_(f"ws://127.0.0.1:{port}/echo"))


def test_ws_connect_async_recv_timeout_says_what_to_do(server: Running) -> None:
    async def main() -> None:
        async with ws_connect_async(server.url + "/echo") as conn:
            await conn.recv(timeout=0.05)  # nothing sent: nothing comes

    with pytest.raises(RecvTimeout, match="larger timeout"):
        asyncio.run(main())


def test_realtime_async_round_trip(server: Running) -> None:
    async def main() -> list[object]:
        async with realtime_async(server.url + "/realtime") as conn:
            await conn.send({"prompt": "async"})
            first = await conn.recv(timeout=DEADLINE)
            await conn.send_raw(b"\xc1")
            try:
                await conn.recv(timeout=DEADLINE)
            except RealtimeError as exc:
                return [first, exc.code]
            return [first]

    assert asyncio.run(main()) == [{"output": "async"}, "INVALID_INPUT"]


@pytest.mark.parametrize(
    ("target", "kwargs", "expected"),
    [
        ("fal-ai/app", {}, "wss://fal.run/fal-ai/app/realtime"),
        ("fal-ai/app/realtime", {}, "wss://fal.run/fal-ai/app/realtime"),
        ("123-app", {}, "wss://fal.run/123/app/realtime"),
        ("o/a", {"path": "/custom"}, "wss://fal.run/o/a/custom"),
        ("o/a", {"base_url": "http://127.0.0.1:9"}, "ws://127.0.0.1:9/o/a/realtime"),
        (
            "o/a",
            {"token": "t k", "max_buffering": 5},
            "wss://fal.run/o/a/realtime?fal_jwt_token=t+k&max_buffering=5",
        ),
        ("ws://h:1", {}, "ws://h:1/realtime"),
        ("ws://h:1/x?a=1", {"token": "t"}, "ws://h:1/x?a=1&fal_jwt_token=t"),
    ],
)
def test_build_url_rules(target: str, kwargs: dict[str, object], expected: str) -> None:
    assert build_url(target, **kwargs) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("target", "kwargs", "message"),
    [
        ("app", {}, "<owner>/<app>"),
        ("o/a", {"max_buffering": 61}, "between 1 and 60"),
        ("http://h/realtime", {}, "use ws://"),
    ],
)
def test_build_url_errors_say_what_to_do(
    target: str, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build_url(target, **kwargs)  # type: ignore[arg-type]
