"""The raw WebSocket's Starlette surface over real sockets (reference/server/raw.py; ch. 09).

fal 1.83.0 hands an `is_websocket=True` handler a `starlette.websockets.WebSocket`; these
handlers use that surface the way fal apps do (the ASGI `receive()` dict, `receive_json`,
`iter_text`/`iter_bytes`/`iter_json`, `query_params`, case-insensitive `headers`,
`send_json(mode=...)`, ASGI `send`), so the app moves with only its imports changed.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from refhelpers import DEADLINE, Running, open_ws
from websockets.exceptions import ConnectionClosed

from reference import App, WebSocket, WebSocketDisconnect, endpoint

#: What the handlers saw at the end (disconnect messages, loop ends), per path.
SEEN: dict[str, list[Any]] = {}


class SurfaceApp(App):
    @endpoint("/messages", is_websocket=True)
    async def messages(self, websocket: WebSocket) -> None:
        """The loop of fal's own examples: `receive()` dicts until websocket.disconnect."""
        await websocket.accept()
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                SEEN.setdefault("/messages", []).append(message)
                try:
                    await websocket.receive()
                except RuntimeError:  # as Starlette: no receive after the disconnect
                    SEEN["/messages"].append("receive-after-disconnect-raised")
                return
            if message.get("text") is not None:
                await websocket.send_json({"text": message["text"]})
            else:
                await websocket.send_json({"bytes": message["bytes"].hex()})

    @endpoint("/json", is_websocket=True)
    async def json_echo(self, websocket: WebSocket) -> None:
        await websocket.accept()
        async for value in websocket.iter_json():
            await websocket.send_json(
                {
                    "got": value,
                    "x": websocket.query_params.get("x"),
                    "header": websocket.headers["X-Custom"],  # any case, as Starlette
                }
            )
        SEEN.setdefault("/json", []).append("iter_json ended")

    @endpoint("/text", is_websocket=True)
    async def text_upper(self, websocket: WebSocket) -> None:
        await websocket.accept()
        async for text in websocket.iter_text():
            await websocket.send_text(text.upper())
        SEEN.setdefault("/text", []).append("iter_text ended")

    @endpoint("/bytes", is_websocket=True)
    async def bytes_len(self, websocket: WebSocket) -> None:
        await websocket.accept()
        async for data in websocket.iter_bytes():
            await websocket.send_json({"len": len(data), "é": "ü"}, mode="binary")

    @endpoint("/json-binary", is_websocket=True)
    async def json_binary(self, websocket: WebSocket) -> None:
        await websocket.accept()
        value = await websocket.receive_json(mode="binary")
        await websocket.send_json(value)
        try:
            await websocket.receive_text()
        except WebSocketDisconnect as exc:
            SEEN.setdefault("/json-binary", []).append(exc.code)

    @endpoint("/asgi", is_websocket=True)
    async def asgi(self, websocket: WebSocket) -> None:
        await websocket.send({"type": "websocket.accept"})
        await websocket.send({"type": "websocket.send", "text": "hi"})
        await websocket.send({"type": "websocket.send", "bytes": b"\x00"})
        await websocket.send({"type": "websocket.close", "code": 4000, "reason": "done"})


@pytest.fixture(scope="module")
def surface(
    serve_app: Callable[[App, str | None], contextlib.AbstractContextManager[Running]],
) -> Iterator[Running]:
    with serve_app(SurfaceApp(), None) as running:
        yield running


def seen(path: str, count: int) -> list[Any]:
    """What the handler recorded once it finished (it runs on the server's thread)."""
    deadline = time.monotonic() + DEADLINE
    while len(SEEN.get(path, [])) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return SEEN.get(path, [])


def test_receive_gives_asgi_messages_then_one_disconnect(surface: Running) -> None:
    with open_ws(surface.url + "/messages") as ws:
        ws.send("hé")
        assert json.loads(ws.recv(DEADLINE)) == {"text": "hé"}
        ws.send(b"\x01\x02")
        assert json.loads(ws.recv(DEADLINE)) == {"bytes": "0102"}
        ws.close(4001)
    assert seen("/messages", 2) == [
        {"type": "websocket.disconnect", "code": 4001, "reason": ""},
        "receive-after-disconnect-raised",
    ]


def test_iter_json_with_query_params_and_case_insensitive_headers(surface: Running) -> None:
    url = surface.url + "/json?x=1&y=2"
    with open_ws(url, additional_headers={"x-custom": "v"}) as ws:
        for value in ({"a": 1}, [1, "two"]):
            ws.send(json.dumps(value))
            assert json.loads(ws.recv(DEADLINE)) == {"got": value, "x": "1", "header": "v"}
    assert seen("/json", 1) == ["iter_json ended"]  # the loop ends when the client closes


def test_iter_text_ends_on_close(surface: Running) -> None:
    with open_ws(surface.url + "/text") as ws:
        ws.send("abc")
        assert ws.recv(DEADLINE) == "ABC"
    assert seen("/text", 1) == ["iter_text ended"]


def test_iter_bytes_and_binary_json_written_as_starlette_does(surface: Running) -> None:
    with open_ws(surface.url + "/bytes") as ws:
        ws.send(b"12345")
        reply = ws.recv(DEADLINE)
    assert reply == '{"len":5,"é":"ü"}'.encode()  # compact, UTF-8 as is (ensure_ascii=False)


def test_receive_json_binary_and_the_disconnect_code(surface: Running) -> None:
    with open_ws(surface.url + "/json-binary") as ws:
        ws.send(b'{"k": [1, 2]}')
        assert json.loads(ws.recv(DEADLINE)) == {"k": [1, 2]}
        ws.close(1001)
    assert seen("/json-binary", 1)[:1] == [1001]


def test_asgi_send_messages(surface: Running) -> None:
    with open_ws(surface.url + "/asgi") as ws:
        assert ws.recv(DEADLINE) == "hi"
        assert ws.recv(DEADLINE) == b"\x00"
        with pytest.raises(ConnectionClosed):
            ws.recv(DEADLINE)
        assert (ws.close_code, ws.close_reason) == (4000, "done")


def test_a_dropped_connection_is_a_disconnect_with_code_1006(surface: Running) -> None:
    before = len(SEEN.get("/json-binary", []))
    with open_ws(surface.url + "/json-binary") as ws:
        ws.send(b'{"k": 1}')
        assert json.loads(ws.recv(DEADLINE)) == {"k": 1}
        ws.socket.close()  # no close frame: the TCP connection just ends
        assert seen("/json-binary", before + 1)[before:] == [1006]
