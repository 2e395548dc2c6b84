"""fal's other `@fal.realtime` arguments on the reference (`reference/app.py`, spec chapter 14).

`input_modal`, `output_modal`, `content_type`, `encode_message` and `decode_message` raised
TypeError before; a fal app that uses them now moves over with its imports changed. These
tests run a server with endpoints that use each one, over real sockets.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
from pydantic import BaseModel
from refhelpers import Running, is_error, open_ws, pack, recv

from reference import App, realtime
from reference.app import RouteSpec, message_codec
from reference.server.serve import Server, serve


class Prompt(BaseModel):
    prompt: str


class Reply(BaseModel):
    output: str


def json_encode(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class OptionsApp(App):
    @realtime("/json", encode_message=json_encode, decode_message=json.loads)
    def json_codec(self, inp: Prompt) -> Reply:
        return Reply(output=inp.prompt)

    @realtime("/modal", input_modal=Prompt, output_modal=Reply, content_type="application/x-test")
    def modal(self, inp: Any) -> dict[str, Any]:
        return {"output": f"{type(inp).__name__}:{inp.prompt}"}

    @realtime("/raw-input", input_modal=None)
    def raw_input(self, inp: Prompt) -> dict[str, Any]:
        keys: Any = inp  # a dict: not validated, not converted, despite the annotation
        return {"output": ",".join(sorted(keys))}

    @realtime("/text-encoder", encode_message=json.dumps)  # type: ignore[arg-type]
    def text_encoder(self, inp: Prompt) -> Reply:
        return Reply(output=inp.prompt)


@pytest.fixture(scope="module")
def server() -> Iterator[Running]:
    loop = asyncio.new_event_loop()
    started: list[Server] = []
    ready = threading.Event()

    def main() -> None:
        asyncio.set_event_loop(loop)
        started.append(loop.run_until_complete(serve(OptionsApp(), "127.0.0.1", 0, None)))
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    assert ready.wait(10), "server did not start"
    try:
        yield Running(started[0], loop, started[0].url)
    finally:
        asyncio.run_coroutine_threadsafe(started[0].stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_server_uses_the_endpoints_own_codec_both_ways(server: Running) -> None:
    with open_ws(server.url + "/json") as ws:
        ws.send(b'{"prompt":"hi"}')
        assert ws.recv(timeout=5) == b'{"output":"hi"}'


def test_server_rejects_bytes_the_custom_decoder_refuses_and_goes_on(server: Running) -> None:
    with open_ws(server.url + "/json") as ws:
        ws.send(b"not json")
        ws.send(b'{"nope":1}')
        ws.send(b'{"prompt":"after"}')
        refused, invalid = (json.loads(ws.recv(timeout=5)) for _ in range(2))
        assert ws.recv(timeout=5) == b'{"output":"after"}'
    assert is_error(refused, "INVALID_INPUT")
    assert "decode_message" in refused["reason"]
    assert is_error(invalid, "INVALID_INPUT")  # decoded, then validated with the model
    assert "prompt" in invalid["reason"]


def test_server_validates_with_input_modal_instead_of_the_annotation(server: Running) -> None:
    with open_ws(server.url + "/modal") as ws:
        ws.send(pack({"prompt": "m"}))
        ws.send(pack({"other": 1}))
        first, second = recv(ws), recv(ws)
    assert first == {"output": "Prompt:m"}  # the handler got a Prompt, not a dict
    assert is_error(second, "INVALID_INPUT")


def test_server_passes_the_decoded_map_as_is_with_input_modal_none(server: Running) -> None:
    with open_ws(server.url + "/raw-input") as ws:
        ws.send(pack({"b": 1, "a": [2]}))
        assert recv(ws) == {"output": "a,b"}


def test_output_modal_and_content_type_are_recorded_and_keep_msgpack(server: Running) -> None:
    spec: RouteSpec = OptionsApp.modal._reference_route  # type: ignore[attr-defined]
    assert spec.output_model is Reply
    assert spec.content_type == "application/x-test"
    with open_ws(server.url + "/modal") as ws:
        ws.send(pack({"prompt": "wire"}))
        data = ws.recv(timeout=5)
    assert isinstance(data, bytes)
    assert msgpack.unpackb(data) == {"output": "Prompt:wire"}


def test_server_reports_an_encoder_that_returns_text_and_goes_on(server: Running) -> None:
    with open_ws(server.url + "/text-encoder") as ws:
        ws.send(pack({"prompt": "x"}))
        error = recv(ws)
        ws.send(pack({"prompt": "y"}))
        again = recv(ws)
    assert is_error(error, "INTERNAL_ERROR")
    assert "must return bytes" in error["reason"]
    assert is_error(again, "INTERNAL_ERROR")  # each output fails the same way; no crash


def test_default_endpoints_keep_the_msgpack_profile() -> None:
    codec = message_codec(OptionsApp.modal)
    assert codec.encode({"output": b"\x00"}) == msgpack.packb({"output": b"\x00"})
    with pytest.raises(ValueError, match="trailing bytes"):
        codec.decode(pack({"prompt": "a"}) + b"\xc0")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_modal": int}, "input_modal must be a pydantic model class or None"),
        ({"encode_message": "msgpack"}, "encode_message must be a callable"),
        ({"decode_message": 3}, "decode_message must be a callable"),
    ],
)
def test_realtime_refuses_options_it_cannot_honour(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError, match=message):
        realtime("/x", **kwargs)
