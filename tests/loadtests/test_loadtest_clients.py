"""The load-test clients over real sockets: replies timed, failures named, and run options."""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import msgpack
import pytest
from loadtest_support import (
    free_port,
    reference_server,
    run_locust,
)
from websockets.sync.server import ServerConnection, serve

from loadtests import _locust_setup
from loadtests._clients import (
    HttpSession,
    RoundTripError,
    WsSession,
    check_echo_reply,
    check_realtime_reply,
    join_path,
    realtime_request,
)


@pytest.fixture(scope="module")
def reference_url() -> Iterator[str]:
    """The reference server, one per test module."""
    with reference_server() as url:
        yield url


def test_realtime_round_trip_returns_the_output(reference_url: str) -> None:
    session = WsSession(join_path(reference_url, "/realtime"), timeout_s=5)
    assert session.connect() > 0
    reply = session.round_trip(realtime_request("hello"))
    check_realtime_reply(reply, "hello")
    assert reply.elapsed_ns > 0
    session.close()
    assert not session.connected


def test_error_frame_fails_with_its_code_and_reason(reference_url: str) -> None:
    session = WsSession(join_path(reference_url, "/realtime"), timeout_s=5)
    session.connect()
    reply = session.round_trip(msgpack.packb({"prompt": "x", "fail": True}))
    with pytest.raises(RoundTripError, match=r"^x-fal-error INTERNAL_ERROR: ") as info:
        check_realtime_reply(reply, "x")
    assert info.value.connection_lost  # the user reconnects: a server may end the session
    session.close()


def test_missing_reply_fails_after_the_reply_timeout(reference_url: str) -> None:
    session = WsSession(join_path(reference_url, "/realtime"), timeout_s=0.2)
    session.connect()
    frame = msgpack.packb({"prompt": "slow", "delay_ms": 5000})
    with pytest.raises(RoundTripError, match=r"^no reply within 0.2 s$"):
        session.round_trip(frame)
    assert not session.connected  # a late reply must not pass for the next request's


@pytest.fixture
def closing_server() -> Iterator[str]:
    """A WebSocket server that reads one message, then closes with 1011 instead of replying."""

    def handler(ws: ServerConnection) -> None:
        ws.recv()
        ws.close(1011, "going away mid-request")

    with serve(handler, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        host, port = server.socket.getsockname()[:2]
        yield f"ws://{host}:{port}"
        server.shutdown()
        thread.join(timeout=10)


def test_server_close_fails_with_the_close_code(closing_server: str) -> None:
    session = WsSession(join_path(closing_server, "/realtime"), timeout_s=10)
    session.connect()
    with pytest.raises(
        RoundTripError,
        match=r"^closed by server before the reply: close 1011 going away mid-request$",
    ):
        session.round_trip(realtime_request("x"))
    assert not session.connected


def test_refused_handshake_fails_with_the_status(reference_url: str) -> None:
    session = WsSession(join_path(reference_url, "/no-such-endpoint"), timeout_s=5)
    with pytest.raises(RoundTripError, match=r"^handshake refused: HTTP 4\d\d$"):
        session.connect()


def test_raw_echo_and_http_round_trips(reference_url: str) -> None:
    raw = WsSession(join_path(reference_url, "/echo"), timeout_s=5)
    raw.connect()
    check_echo_reply(raw.round_trip(b"\x00\x01bytes"), b"\x00\x01bytes")
    raw.close()
    http = HttpSession(reference_url, timeout_s=5)
    reply = http.post(json.dumps({"prompt": "p"}).encode())
    assert json.loads(reply.payload) == {"output": "p"}
    with pytest.raises(RoundTripError, match=r"^HTTP 422$"):
        http.post(json.dumps({"no_prompt": 1}).encode())
    http.close()


def test_unreachable_target_counts_failures_with_the_reason(tmp_path: Path) -> None:
    """Nothing listens on the port: every connect is a failure Locust lists with its reason."""
    url = f"ws://127.0.0.1:{free_port()}"
    result = run_locust(
        ["--headless", "-u", "2", "-r", "2", "-t", "2s", "--host", url, "--csv", "out/run"],
        cwd=tmp_path,
    )
    assert result.returncode == 1  # Locust's exit code when requests failed
    with (tmp_path / "out/run_failures.csv").open(encoding="utf-8") as f:
        reasons = [row["Error"] for row in csv.DictReader(f)]
    assert reasons
    assert all("connect failed: ConnectionRefusedError" in reason for reason in reasons)
    report = json.loads((tmp_path / "out/run_latency_us.json").read_text(encoding="utf-8"))
    rows = {(row["type"], row["name"]): row for row in report["rows"]}
    handshakes = rows[("WS connect", "Aggregated")]  # every failure is a handshake
    assert handshakes["failures"] == handshakes["requests"] > 0
    assert rows[("", "Aggregated")]["requests"] == 0  # no round trip was ever attempted


def options(**overrides: object) -> SimpleNamespace:
    values: dict[str, object] = {
        "headless": True,
        "autostart": False,
        "run_time": None,
        "user_classes": [],
        "tags": None,
        "exclude_tags": None,
        "latency_prefix": None,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


class FakeUser:
    """Stands in for a Locust user class: a name and tasks with tag sets."""

    def __init__(self, name: str, *tags: str) -> None:
        self.__name__ = name
        self.tasks = [SimpleNamespace(locust_tag_set=set(tags))]


def test_headless_run_without_a_time_limit_gets_one() -> None:
    env = SimpleNamespace(parsed_options=options(), user_classes=[FakeUser("PacedRealtimeUser")])
    _locust_setup._on_init(environment=env, runner=None)
    assert env.parsed_options.run_time == _locust_setup.DEFAULT_RUN_TIME_S


def test_given_time_limit_is_kept() -> None:
    env = SimpleNamespace(parsed_options=options(run_time=3), user_classes=[])
    _locust_setup._on_init(environment=env, runner=None)
    assert env.parsed_options.run_time == 3


def test_scenario_choice_by_default_and_by_tag() -> None:
    every = [FakeUser("PacedRealtimeUser", "paced"), FakeUser("RawEchoUser", "raw")]
    default = SimpleNamespace(parsed_options=options(run_time=1), user_classes=list(every))
    _locust_setup._on_init(environment=default, runner=None)
    assert [c.__name__ for c in default.user_classes] == ["PacedRealtimeUser"]

    tagged = SimpleNamespace(parsed_options=options(run_time=1, tags=["raw"]), user_classes=every)
    _locust_setup._on_init(environment=tagged, runner=None)
    assert [c.__name__ for c in tagged.user_classes] == ["RawEchoUser"]
