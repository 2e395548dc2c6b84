"""The inspector flags each broken rule by ID, as the frame passes (issue 11 section 4).

The servers here are scripted on raw sockets, each broken in one way; the client is a raw
socket too, so every byte is explicit. A websockets echo server shows permessage-deflate.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgpack
import pytest
from inspect_support import flags, inspector, raw_session, scripted_server, server_frame
from websockets.sync.client import connect
from websockets.sync.server import ServerConnection, serve

from conformance.frames import BINARY, CLOSE, TEXT, client_frame, close_payload, frame_header

INPUT = msgpack.packb({"prompt": "hi"})
OUTPUT = server_frame(BINARY, msgpack.packb({"output": "hi"}))
ERROR = json.dumps({"type": "x-fal-error", "error": "INVALID_INPUT", "reason": "bad"}).encode()


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (server_frame(BINARY, msgpack.packb(["not", "a", "map"])), ["RT-MSG-020"]),
        (
            server_frame(BINARY, msgpack.packb({"type": "x-fal-error", "error": "X"})),
            ["RT-CTRL-002"],
        ),
        (server_frame(TEXT, b'{"type": "hello"}'), ["RT-CTRL-004"]),
        (server_frame(TEXT, b'{"status": "error", "error": "x"}'), ["RT-CTRL-040"]),
        (server_frame(BINARY, bytes.fromhex("81a16fca3fc00000")), ["RT-CONV-004"]),
        (server_frame(BINARY, bytes.fromhex("81a16fc7")), ["RT-CONV-001"]),
        (server_frame(TEXT, ERROR) + server_frame(CLOSE, close_payload(1011)), ["RT-LIFE-020"]),
        (server_frame(TEXT, ERROR) + server_frame(CLOSE, close_payload(1000)), []),
    ],
    ids=[
        "output-not-a-map",
        "control-as-binary",
        "unknown-text-type",
        "legacy-error",
        "float32",
        "truncated-msgpack",
        "close-1011-after-error",
        "close-1000-after-error",
    ],
)
def test_inspector_flags_what_a_server_breaks(
    tmp_path: Path, reply: bytes, expected: list[str]
) -> None:
    """Each broken server reply is flagged with the requirement it breaks, and only that."""
    with scripted_server([reply]) as upstream, inspector(tmp_path, upstream) as (url, log):
        raw_session(url, [client_frame(BINARY, INPUT)])
        text = log.wait_for("#1 S->C")
        text = log.wait_for("TCP closed")
    assert flags(text) == expected, text


def test_inspector_flags_a_server_that_accepts_unmasked_frames(tmp_path: Path) -> None:
    """A server answering an unmasked client frame with an output breaks RT-LIFE-022."""
    with scripted_server([OUTPUT]) as upstream, inspector(tmp_path, upstream) as (url, log):
        raw_session(url, [frame_header(BINARY, len(INPUT)) + INPUT])
        text = log.wait_for("S->C BINARY")
    assert flags(text) == ["RFC6455", "RT-LIFE-022"], text
    assert "answered an unmasked client frame with BINARY" in text


def test_inspector_treats_raw_paths_as_raw(tmp_path: Path) -> None:
    """On a raw endpoint (chapter 09: `*/echo` by default) text frames break nothing."""
    reply = server_frame(TEXT, b"m-0")
    with scripted_server([reply]) as upstream, inspector(tmp_path, upstream) as (url, log):
        raw_session(url, [client_frame(TEXT, b"m")], path="/echo")
        text = log.wait_for("S->C TEXT")
    assert "raw (no message rules)" in text
    assert flags(text) == []


@contextmanager
def deflate_echo_server() -> Iterator[str]:
    """A websockets server (permessage-deflate on, its default) that echoes every message."""

    def echo(ws: ServerConnection) -> None:
        for message in ws:
            ws.send(message)

    with serve(echo, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
        server.shutdown()
        thread.join(10)


def test_inspector_inflates_permessage_deflate(tmp_path: Path) -> None:
    """Compressed messages are shown decoded, both ways, across several messages (context)."""
    payload = msgpack.packb({"prompt": "a" * 2000})
    with deflate_echo_server() as upstream, inspector(tmp_path, upstream) as (url, log):
        with connect(f"{url}/realtime") as ws:
            for _ in range(3):
                ws.send(payload)
                assert ws.recv() == payload
        text = log.wait_for("TCP closed")
    assert "permessage-deflate" in text
    shown = [line for line in text.splitlines() if "deflated, 2011 B inflated" in line]
    assert len(shown) == 6, text
    assert all("{'prompt': 'aaaa" in line for line in shown)
    assert flags(text) == []
