"""The server's keepalive ping (RT-LIFE-012, RT-SEC-050; reference/core/keepalive.py).

The core tests drive the session's time forward by hand (it takes time in; nothing sleeps).
The loopback tests start `python -m reference serve` with 0.2 s intervals: a raw socket that
never answers pings gets a ping, close 1011 and the end of TCP, on a realtime and on a raw
endpoint; a client that answers pings (by hand, or the websockets library on its own) is still
served after several intervals.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import msgpack
import pytest
from refhelpers import DEADLINE, open_ws, pack, recv
from wirebytes import binary, handshake, masked, readable, server_frames

from reference.core.inputs import MAX_PENDING
from reference.core.session import Limits, Mode, Session, SessionConfig, State
from reference.server.limits import ServerLimits

TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA
INTERVAL = 0.2  # the loopback server's --ping-interval and --ping-timeout
SERVE = [sys.executable, "-m", "reference", "serve", "--host", "127.0.0.1", "--port", "0"]


def opened(limits: Limits, config: SessionConfig | None = None) -> Session:
    session = Session(config or SessionConfig(), limits=limits)
    session.accept(0.0)
    return session


def pings(session: Session) -> list[bytes]:
    """The payloads of the pings the session wrote; asserts it wrote nothing else."""
    items = readable(session.data_to_send())
    assert all(isinstance(i, tuple) and i[0] == PING for i in items), items
    return [i[1] for i in items]


# -- the core: time in, bytes out ----------------------------------------------------------
def test_defaults_are_the_spec_tables() -> None:
    """Spec 12.2: ping after 20 s, 20 s for the pong; the server's flags default to the same."""
    assert (Limits().ping_interval, Limits().ping_timeout) == (20.0, 20.0)
    server = ServerLimits()
    assert (server.ping_interval, server.ping_timeout) == (20.0, 20.0)
    assert server.session().ping_interval == 20.0


def test_a_silent_client_is_pinged_then_failed_with_1011() -> None:
    """RT-LIFE-012: a ping after `interval` of silence; close 1011 and EOF after `timeout`."""
    session = opened(Limits(ping_interval=2.0, ping_timeout=1.0))
    assert session.deadline() == 2.0
    session.tick(1.9)
    assert session.data_to_send() == []
    session.tick(2.0)
    (payload,) = pings(session)
    assert 0 < len(payload) <= 125  # a small payload (RFC 6455 5.5)
    assert session.deadline() == 3.0
    session.tick(2.9)
    assert session.data_to_send() == []
    session.tick(3.0)
    assert readable(session.data_to_send()) == [("close", 1011), "eof"]
    assert session.state is State.CLOSING
    assert session.deadline() is None  # the I/O layer's close linger drops TCP from here


def test_the_pong_keeps_the_session() -> None:
    session = opened(Limits(ping_interval=2.0, ping_timeout=1.0))
    session.tick(2.0)
    (payload,) = pings(session)
    session.receive_data(masked(PONG, payload), 2.5)
    session.tick(3.0)
    assert session.data_to_send() == []
    assert session.state is State.OPEN
    assert session.deadline() == 4.5  # the next ping: one interval after the pong
    session.tick(4.5)
    assert len(pings(session)) == 1


def test_any_byte_from_the_client_proves_it_alive() -> None:
    """Not only the pong: an input, or half a frame still coming, answers the ping too."""
    session = opened(Limits(ping_interval=2.0, ping_timeout=1.0))
    session.tick(2.0)
    pings(session)
    frame = binary({"prompt": "a"})
    session.receive_data(frame[:3], 2.9)  # half a frame, no pong
    session.tick(3.0)
    assert session.data_to_send() == []
    session.receive_data(frame[3:], 4.0)
    assert session.next_work() == [{"prompt": "a"}]
    session.tick(4.9)
    assert session.data_to_send() == []  # no ping: the client spoke at 4.0
    assert session.deadline() == 6.0


def test_a_client_that_sends_is_never_pinged() -> None:
    session = opened(Limits(ping_interval=2.0, ping_timeout=1.0))
    for step in range(1, 10):
        session.receive_data(binary({"prompt": str(step)}), step * 1.5)
        session.tick(step * 1.5 + 1.0)
    assert session.next_work() is not None
    while session.next_work() is not None:
        pass
    assert session.data_to_send() == []


def test_a_full_input_queue_is_not_silence() -> None:
    """RT-FLOW-021: the server stopped reading, so the client's pong waits in its buffers."""
    session = opened(Limits(ping_interval=2.0, ping_timeout=1.0))
    session.receive_data(b"".join(binary({"prompt": "x"}) for _ in range(MAX_PENDING)), 0.5)
    assert session.reading_held
    for now in (2.5, 3.5, 10.0, 30.0):
        session.tick(now)
        assert session.data_to_send() == []
    assert session.state is State.OPEN


def test_ping_timeout_zero_pings_but_never_closes() -> None:
    session = opened(Limits(ping_interval=1.0, ping_timeout=0))
    for now in (1.0, 2.0, 3.0):
        assert session.deadline() == now
        session.tick(now)
        assert len(pings(session)) == 1
    assert session.state is State.OPEN


def test_ping_interval_zero_turns_the_keepalive_off() -> None:
    session = opened(Limits(ping_interval=0))
    assert session.deadline() is None
    session.tick(1000.0)
    assert session.data_to_send() == []


def test_pongs_do_not_restart_the_idle_timer() -> None:
    """RT-LIFE-005: only data messages count for the idle timeout, not the keepalive's pong."""
    session = opened(
        Limits(ping_interval=1.0, ping_timeout=1.0), SessionConfig(session_timeout=2.5)
    )
    session.tick(1.0)
    (payload,) = pings(session)
    session.receive_data(masked(PONG, payload), 1.1)
    assert session.deadline() == 2.1  # the next ping, before the idle deadline at 2.5
    session.tick(2.1)
    pings(session)
    session.tick(2.5)
    assert session.state is State.ENDING


def test_a_heartbeat_session_is_not_pinged_twice() -> None:
    """Spec 15.5: with `heartbeat` on, its own ping (RT-EXT-041) replaces the keepalive's."""
    from reference.core.extensions import negotiate

    config = SessionConfig(Mode.UNARY).with_extensions(
        negotiate({"rt_ext": "heartbeat"}, heartbeat_interval=1.0)
    )
    session = opened(Limits(ping_interval=0.5, ping_timeout=0.5), config)
    session.data_to_send(0.0)  # the hello
    assert session.deadline() == 1.0  # the heartbeat's, not the keepalive's 0.5
    session.tick(0.5)
    assert session.data_to_send(0.5) == []
    session.tick(1.0)
    sent = server_frames(b"".join(session.data_to_send(1.0)))
    assert [op for op, _ in sent] == [TEXT, PING]  # the heartbeat frame and its one ping
    assert sent[1][1].startswith(b"rt-hb-")


def test_no_ping_once_the_session_is_closing() -> None:
    """After our close 1000 the close linger of the I/O layer bounds the wait, not pings."""
    session = opened(
        Limits(ping_interval=1.0, ping_timeout=1.0), SessionConfig(session_timeout=0.5)
    )
    session.tick(0.5)
    assert session.next_work() is None
    session.end()
    session.data_to_send()
    assert session.state is State.CLOSING
    assert session.deadline() is None
    session.tick(5.0)
    assert session.data_to_send() == []


# -- loopback: the real server, started with small intervals ---------------------------------
@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    proc = subprocess.Popen(
        [*SERVE, "--ping-interval", str(INTERVAL), "--ping-timeout", str(INTERVAL)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("ws://127.0.0.1:"), line
        yield line
    finally:
        proc.terminate()
        try:
            proc.wait(DEADLINE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Peer:
    """A raw socket after the 101 that reads server frames one by one (and unmasked)."""

    def __init__(self, url: str, path: str) -> None:
        host, port = url.removeprefix("ws://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=DEADLINE)
        handshake(self.sock, path)
        self._data = b""

    def frame(self) -> tuple[int, bytes] | None:
        """The next frame; None at EOF. A socket timeout (DEADLINE) fails the test."""
        while True:
            frame = self._parse()
            if frame is not None:
                return frame
            chunk = self.sock.recv(65536)
            if not chunk:
                assert not self._data, "TCP ended inside a frame"
                return None
            self._data += chunk

    def _parse(self) -> tuple[int, bytes] | None:
        data = self._data
        if len(data) < 2:
            return None
        size, head = data[1] & 0x7F, 2
        if size == 126:
            if len(data) < 4:
                return None
            size, head = int.from_bytes(data[2:4], "big"), 4
        if len(data) < head + size:
            return None
        self._data = data[head + size :]
        return data[0] & 0x0F, data[head : head + size]


@pytest.mark.parametrize("path", ["/realtime", "/echo"])
def test_a_client_that_never_answers_gets_close_1011(url: str, path: str) -> None:
    """RT-SEC-050: realtime and raw sessions alike; the server half-closes TCP after 1011."""
    peer = Peer(url, path)
    try:
        frames = []
        while (frame := peer.frame()) is not None:
            frames.append(frame)
    finally:
        peer.sock.close()
    assert [op for op, _ in frames] == [PING, CLOSE], frames
    assert int.from_bytes(frames[1][1][:2], "big") == 1011


def test_a_client_that_answers_pings_stays_open(url: str) -> None:
    """Several pings, each answered with its pong: the session still serves an input."""
    peer = Peer(url, "/realtime")
    try:
        for _ in range(4):
            opcode, payload = peer.frame() or (CLOSE, b"")
            assert opcode == PING
            peer.sock.sendall(masked(PONG, payload))
        peer.sock.sendall(binary({"prompt": "still here"}))
        while (frame := peer.frame()) is not None and frame[0] == PING:
            peer.sock.sendall(masked(PONG, frame[1]))
        assert frame is not None
        assert frame[0] == BINARY
        assert msgpack.unpackb(frame[1]) == {"output": "still here"}
    finally:
        peer.sock.close()


def test_the_websockets_library_answers_by_itself(url: str) -> None:
    """A real client library (its own pong, RT-LIFE-011) is served past many intervals."""
    with open_ws(url + "/realtime", ping_interval=None) as ws:
        time.sleep(8 * INTERVAL)  # idle: the server pings; websockets answers in its thread
        ws.send(pack({"prompt": "after"}))
        assert recv(ws) == {"output": "after"}
        with open_ws(url + "/echo", ping_interval=None) as raw:
            time.sleep(8 * INTERVAL)
            raw.send(b"raw after")
            assert raw.recv(DEADLINE) == b"raw after"
