"""The inspector between real peers: the reference client and server, raw bytes (issue 11 s. 4).

Every test runs ``python -m conformance.inspect`` as a subprocess on 127.0.0.1 and reads what it
printed; the peers must still get exactly what they would without it.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import msgpack
from inspect_support import flags, free_port, inspector, raw_session

from conformance.frames import BINARY, client_frame, frame_header
from reference.client import realtime


def test_inspector_shows_a_reference_session_both_ways(tmp_path: Path, reference_url: str) -> None:
    """Handshake, decoded inputs and outputs, ping/pong and close pass through and are shown."""
    with inspector(tmp_path, reference_url) as (url, log):
        with realtime(f"{url}/realtime", key="sekrit-key:value", use_jwt=False) as conn:
            conn.send({"prompt": "hello"})
            assert conn.recv(timeout=5) == {"output": "hello"}
            conn.send({"prompt": "again"})
            assert conn.recv(timeout=5) == {"output": "again"}
        text = log.wait_for("connection #1 closed")
    assert "C->S GET /realtime HTTP/1.1" in text
    assert "Authorization: Key <masked, 16 chars>" in text
    assert "sekrit" not in text
    assert "S->C HTTP/1.1 101 Switching Protocols" in text
    assert "C->S BINARY 14 B masked fin {'prompt': 'hello'}" in text
    assert "S->C BINARY 14 B unmasked fin {'output': 'hello'}" in text
    assert "C->S CLOSE 2 B masked fin code=1000" in text
    assert "S->C CLOSE 2 B unmasked fin code=1000" in text
    assert flags(text) == []


def test_inspector_flags_a_client_text_frame(tmp_path: Path, reference_url: str) -> None:
    """A TEXT input is flagged RT-MSG-002 as it passes; the server's error frame is shown."""
    with inspector(tmp_path, reference_url) as (url, log):
        raw_session(url, [client_frame(1, b'{"prompt": "hi"}')])
        text = log.wait_for("x-fal-error")
    assert flags(text)[:1] == ["RT-MSG-002"]
    assert "A client MUST NOT send text messages on a realtime endpoint, other than" in text
    assert "'error': 'INVALID_INPUT'" in text


def test_inspector_flags_an_unmasked_client_frame_and_sees_1002(
    tmp_path: Path, reference_url: str
) -> None:
    """An unmasked frame is flagged; the reference closes 1002, so RT-LIFE-022 is not flagged."""
    payload = msgpack.packb({"prompt": "x"})
    with inspector(tmp_path, reference_url) as (url, log):
        raw_session(url, [frame_header(BINARY, len(payload)) + payload])
        text = log.wait_for("code=1002")
    assert "C->S BINARY 10 B unmasked fin" in text
    assert flags(text) == ["RFC6455"]


def test_inspector_flags_a_non_map_input_and_bad_msgpack(
    tmp_path: Path, reference_url: str
) -> None:
    """An array input is RT-MSG-001; bytes that are not msgpack are RT-CONV-001 (hex shown)."""
    with inspector(tmp_path, reference_url) as (url, log):
        raw_session(url, [client_frame(2, msgpack.packb([1, 2])), client_frame(2, b"\xc1")])
        text = log.wait_for("hex c1")
    assert flags(text) == ["RT-MSG-001", "RT-CONV-001"]


def test_inspector_relays_plain_http(tmp_path: Path, reference_url: str) -> None:
    """A POST / (chapter 10) passes unchanged; its heads are printed."""
    with inspector(tmp_path, reference_url) as (url, log):
        base = url.replace("ws://", "http://")
        request = urllib.request.Request(
            f"{base}/",
            data=json.dumps({"prompt": "hi"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read()) == {"output": "hi"}
        text = log.wait_for("not a WebSocket upgrade")
    assert "C->S POST / HTTP/1.1" in text
    assert "S->C HTTP/1.1 200" in text


def test_inspector_masks_the_jwt_query_parameter(tmp_path: Path, reference_url: str) -> None:
    """`fal_jwt_token` (chapter 03) is never printed."""
    with inspector(tmp_path, reference_url) as (url, log):
        with realtime(f"{url}/realtime", token="jwt-value-123") as conn:
            conn.send({"prompt": "t"})
            assert conn.recv(timeout=5) == {"output": "t"}
        text = log.wait_for("connection #1 closed")
    assert "fal_jwt_token=<masked, 13 chars>" in text
    assert "jwt-value-123" not in text


def test_inspector_refuses_a_non_loopback_listen_address() -> None:
    """`--listen 0.0.0.0:PORT` is a usage error unless --allow-non-loopback is given."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance.inspect",
            "--listen",
            "0.0.0.0:0",
            "--upstream",
            "ws://127.0.0.1:9",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "refusing to listen on 0.0.0.0: not a loopback address" in proc.stderr


def test_inspector_answers_502_when_the_upstream_is_down(tmp_path: Path) -> None:
    """An unreachable upstream is a 502 for the client and one line in the output, no crash."""
    with inspector(tmp_path, f"ws://127.0.0.1:{free_port()}") as (url, log):
        host, port = url.removeprefix("ws://").split(":")
        for _ in range(2):  # the relay keeps serving after a failed upstream connect
            with socket.create_connection((host, int(port)), timeout=10) as sock:
                sock.sendall(b"GET /realtime HTTP/1.1\r\nHost: x\r\n\r\n")
                assert sock.recv(100).startswith(b"HTTP/1.1 502 Bad Gateway")
        text = log.wait_for("#2 -- upstream")
    assert "unreachable" in text


def test_inspector_survives_a_head_that_is_not_http(tmp_path: Path, reference_url: str) -> None:
    """A request line without a target is reported; the next client is served normally."""
    with inspector(tmp_path, reference_url) as (url, log):
        host, port = url.removeprefix("ws://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"HELLO\r\n\r\n")
            assert sock.recv(100) == b""
        with realtime(f"{url}/realtime") as conn:
            conn.send({"prompt": "ok"})
            assert conn.recv(timeout=5) == {"output": "ok"}
        text = log.wait_for("connection #2 closed")
    assert "#1 -- connection ended: ValueError" in text
