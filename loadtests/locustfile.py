"""Locust users for realtime endpoints: round trips over persistent connections (spec 04, 09, 10).

`locust -f loadtests` imports this file (Locust skips the `_*.py` helpers). Each user class is
one scenario; run one by naming it (`locust -f loadtests CapacityRealtimeUser`) or pick by tag
(`-T capacity`). With neither, only `PacedRealtimeUser` runs. See loadtests/README.md.

Targets host the conformance app (spec 13-conformance): `/realtime` answers {"prompt": s} with
{"output": s}, `/echo` echoes a binary frame, `POST /` answers the same JSON. With
`--sample-input` (a user's own app) the realtime users send those inputs instead, at
`--realtime-path`, and a reply passes when it is one msgpack map (equal to the declared output
when the sample gives one).
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import gevent
from locust import User, events, tag, task

if importlib.util.find_spec("loadtests") is None:  # not installed, not run from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from loadtests import _locust_setup
from loadtests._clients import (
    HttpSession,
    Reply,
    RoundTripError,
    WsSession,
    check_echo_reply,
    check_realtime_reply,
    check_sample_reply,
    join_path,
    realtime_request,
    sample_request,
)

_locust_setup.install(events)

DEFAULT_HOST = "ws://127.0.0.1:8765"
KIB = 1024
MIB = 1024 * KIB
CONNECT_BACKOFF_S = 0.5
"""Least wait after a failed handshake before the next request of that user."""


class _TimedUser(User):
    """Reports requests to Locust and paces them: a fixed rate with a random start phase."""

    abstract = True
    host = DEFAULT_HOST

    def pacing_period(self) -> float:
        """Seconds between request starts (0 runs a closed loop): 1 / --rate-per-user."""
        return 1.0 / _option(self, "rate_per_user", 20.0)

    def on_start(self) -> None:
        self.reply_timeout = _option(self, "reply_timeout", 10.0)
        self._backoff = 0.0
        self._serial = itertools.count()
        self._tag = f"{os.getpid()}-{id(self):x}"
        self.prepare()
        self._period = self.pacing_period()
        if self._period > 0.0:
            # Users spawned together would otherwise fire in phase, in bursts (perf-anchors B4).
            gevent.sleep(random.uniform(0.0, self._period))
        self._next_start = time.perf_counter()

    def prepare(self) -> None:
        """Open what the user keeps for its lifetime (before the random start phase)."""

    def wait_time(self) -> float:
        """Wait until the next slot of a fixed schedule; never burst to catch up."""
        backoff, self._backoff = self._backoff, 0.0
        if self._period == 0.0:
            return backoff
        now = time.perf_counter()
        self._next_start += self._period
        if self._next_start < now - self._period:
            self._next_start = now  # fell more than a period behind: skip the missed slots
        return max(backoff, self._next_start - now)

    def realtime_input(self, size: int = 0) -> tuple[bytes, Callable[[Reply], None]]:
        """The next realtime input and the check its reply must pass.

        The conformance app's input carries a prompt unique to this request; a user's own
        app gets its sample inputs in turn (`--sample-input`), each checked against its
        declared output when it has one.
        """
        _, samples = _locust_setup.workload(self.environment.parsed_options)
        if not samples:
            prompt = self.next_prompt(size)
            return realtime_request(prompt), lambda reply: check_realtime_reply(reply, prompt)
        sample = samples[next(self._serial) % len(samples)]
        return sample_request(sample.input, size), lambda reply: check_sample_reply(
            reply, sample.output
        )

    def next_prompt(self, size: int = 0) -> str:
        """A prompt unique to this request (a stale reply cannot pass for the right one)."""
        prompt = f"{self._tag}-{next(self._serial)}"
        return prompt + "x" * (size - len(prompt)) if size > len(prompt) else prompt

    def fire(
        self,
        request_type: str,
        name: str,
        elapsed_ms: float,
        length: int = 0,
        exception: BaseException | None = None,
    ) -> None:
        """Report one request to Locust's statistics (and so to the latency recorder)."""
        self.environment.events.request.fire(
            request_type=request_type,
            name=name,
            response_time=elapsed_ms,
            response_length=length,
            exception=exception,
            context={},
        )


class _PersistentWsUser(_TimedUser):
    """One WebSocket opened in on_start and reused for every request."""

    abstract = True
    endpoint = "/realtime"
    realtime = True
    """False for a raw endpoint, which keeps its own path whatever --realtime-path says."""

    def prepare(self) -> None:
        if self.realtime:
            self.endpoint = _locust_setup.workload(self.environment.parsed_options)[0]
        url = join_path(self.host or DEFAULT_HOST, self.endpoint)
        self.session = WsSession(url, self.reply_timeout)
        self.ensure_connected()

    def on_stop(self) -> None:
        session: WsSession | None = getattr(self, "session", None)
        if session is not None:  # None when stopped before on_start got that far
            session.close()

    def ensure_connected(self) -> bool:
        """(Re)connect when needed, reporting the handshake as its own request."""
        if self.session.connected:
            return True
        started = time.perf_counter_ns()
        try:
            elapsed_ns = self.session.connect()
        except RoundTripError as exc:
            self.fire("WS connect", self.endpoint, (time.perf_counter_ns() - started) / 1e6, 0, exc)
            self._backoff = CONNECT_BACKOFF_S  # a closed loop must not spin on a dead server
            return False
        self.fire("WS connect", self.endpoint, elapsed_ns / 1e6)
        return True

    def realtime_round_trip(self, suffix: str = "", size: int = 0) -> None:
        """Send one input and time it until its output arrives (named `<path><suffix>`)."""
        if not self.ensure_connected():
            return
        name = self.endpoint + suffix
        frame, check = self.realtime_input(size)
        started = time.perf_counter_ns()
        try:
            reply = self.session.round_trip(frame)
            check(reply)
        except RoundTripError as exc:
            if exc.connection_lost:
                self.session.abort()
            self.fire("WS", name, (time.perf_counter_ns() - started) / 1e6, 0, exc)
            return
        self.fire("WS", name, reply.elapsed_ms, len(reply.payload))


class PacedRealtimeUser(_PersistentWsUser):
    """Steady latency: `--rate-per-user` round trips per second on one persistent connection."""

    @tag("paced", "latency")
    @task
    def paced_round_trip(self) -> None:
        self.realtime_round_trip()


class CapacityRealtimeUser(_PersistentWsUser):
    """Closed-loop capacity: the next input goes as soon as the previous output is in."""

    def pacing_period(self) -> float:
        return 0.0

    @tag("capacity")
    @task
    def closed_loop_round_trip(self) -> None:
        self.realtime_round_trip(" closed loop")


class LargePayloadUser(_PersistentWsUser):
    """64 KiB and 1 MiB prompts (echoed back), `--payload-rate` round trips per second."""

    def pacing_period(self) -> float:
        return 1.0 / _option(self, "payload_rate", 2.0)

    @tag("payload", "payload-64k")
    @task
    def round_trip_64k(self) -> None:
        self.realtime_round_trip(" 64 KiB", 64 * KIB)

    @tag("payload", "payload-1m")
    @task
    def round_trip_1m(self) -> None:
        self.realtime_round_trip(" 1 MiB", MIB)


class IdleConnectionUser(_PersistentWsUser):
    """Many mostly-idle connections: one round trip every `--idle-interval` seconds each."""

    def pacing_period(self) -> float:
        return _option(self, "idle_interval", 5.0)

    @tag("idle")
    @task
    def idle_round_trip(self) -> None:
        self.realtime_round_trip(" idle connection")


class NewConnectionPerRequestUser(_TimedUser):
    """Opens a connection for every request (handshake + round trip), to compare with persistent."""

    @tag("newconn")
    @task
    def connect_and_round_trip(self) -> None:
        path = _locust_setup.workload(self.environment.parsed_options)[0]
        session = WsSession(join_path(self.host or DEFAULT_HOST, path), self.reply_timeout)
        name = f"{path} handshake + round trip"
        frame, check = self.realtime_input()
        started = time.perf_counter_ns()
        try:
            connect_ns = session.connect()
            reply = session.round_trip(frame)
            check(reply)
        except RoundTripError as exc:
            session.abort()
            self.fire("WS new conn", name, (time.perf_counter_ns() - started) / 1e6, 0, exc)
            return
        self.fire("WS new conn", name, (connect_ns + reply.elapsed_ns) / 1e6, len(reply.payload))
        session.close()


class RawEchoUser(_PersistentWsUser):
    """The raw WebSocket endpoint: a binary frame echoed once (spec 09-raw-websocket)."""

    endpoint = "/echo"
    realtime = False

    @tag("raw")
    @task
    def echo_round_trip(self) -> None:
        if not self.ensure_connected():
            return
        frame = self.next_prompt(64).encode()
        started = time.perf_counter_ns()
        try:
            reply = self.session.round_trip(frame)
            check_echo_reply(reply, frame)
        except RoundTripError as exc:
            self.session.abort()
            self.fire("WS raw", "/echo binary", (time.perf_counter_ns() - started) / 1e6, 0, exc)
            return
        self.fire("WS raw", "/echo binary", reply.elapsed_ms, len(reply.payload))


class HttpPostUser(_TimedUser):
    """The HTTP endpoint: `POST /` with the same JSON input, on one keep-alive connection."""

    def prepare(self) -> None:
        self.http = HttpSession(self.host or DEFAULT_HOST, self.reply_timeout)

    def on_stop(self) -> None:
        http: HttpSession | None = getattr(self, "http", None)
        if http is not None:
            http.close()

    @tag("http")
    @task
    def post_round_trip(self) -> None:
        prompt = self.next_prompt()
        body = json.dumps({"prompt": prompt}).encode()
        started = time.perf_counter_ns()
        try:
            reply = self.http.post(body)
            _check_http_reply(reply, prompt)
        except RoundTripError as exc:
            self.fire("POST", "/", (time.perf_counter_ns() - started) / 1e6, 0, exc)
            return
        self.fire("POST", "/", reply.elapsed_ms, len(reply.payload))


def _option(user: User, name: str, default: float) -> float:
    value = getattr(user.environment.parsed_options, name, None)
    return default if value is None else float(value)


def _check_http_reply(reply: Reply, prompt: str) -> None:
    try:
        output = json.loads(reply.payload)
    except ValueError as exc:
        raise RoundTripError("response is not JSON", connection_lost=False) from exc
    if not isinstance(output, dict) or output.get("output") != prompt:
        raise RoundTripError("response is not {'output': prompt}", connection_lost=False)
