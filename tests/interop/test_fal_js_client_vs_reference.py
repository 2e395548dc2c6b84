"""The real `@fal-ai/client` 1.10.1 (Node) against the reference server (chapters 03, 05, 07, 14).

`interop/js/fal_js_driver.cjs` runs the published client with its own URL building, token call
(through its `proxyUrl` option to the reference's `POST /tokens/`), state machine, throttle and
queue; only the hosts are fenced to 127.0.0.1. One driver run per module serves the tests. The
"wire" frames are what the client wrote on its socket, timestamped in the client.

What these tests pin down is what chapter 14's JavaScript column states.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgpack
import pytest

from interop.js_client import (
    DRIVER,
    JsEnvError,
    ensure,
    run_js_driver,
    run_js_driver_with_ready_hook,
)
from interop.launch import ServerProcess, running_server

APP = "local/conformance-app"
KEY = "local-key"
#: The scenarios one driver run serves (`unauthorized` and `server_shutdown` need their own).
SHARED = [
    "connect",
    "throttle_default",
    "throttle_sync_burst",
    "throttle_custom",
    "throttle_off",
    "latest_wins_connecting",
    "latest_wins_connecting_throttled",
    "error_frames",
    "stream_end_and_reconnect",
    "idle_timeout_reconnect",
    "close",
    "max_buffering",
    "connection_key_reuse",
    "custom_text_encoder",
]
#: Node timers may fire up to 1 ms early after rounding; the throttle gap is checked with this.
TIMER_SLACK_MS = 2.0


@pytest.fixture(scope="module")
def node() -> str:
    try:
        return ensure()
    except JsEnvError as exc:
        pytest.fail(f"the JavaScript peer is required and could not be installed: {exc}")


def http_base(server: ServerProcess) -> str:
    return f"http://127.0.0.1:{server.port}"


@pytest.fixture(scope="module")
def observed(node: str, reference_server: ServerProcess) -> dict[str, Any]:
    """The driver's scenarios, run once against the (keyless) reference server."""
    return run_js_driver(
        reference_server.url, http_base(reference_server), app=APP, key=KEY, scenarios=SHARED
    )


def scenario(observed: dict[str, Any], name: str) -> dict[str, Any]:
    result: dict[str, Any] = observed["scenarios"][name]
    assert result["ok"], f"scenario {name} raised: {result.get('exception')}"
    return result


def outputs(result: dict[str, Any]) -> list[Any]:
    return [r["data"].get("output") for r in result["results"]]


def wire_prompts(socket: dict[str, Any], after: float = 0.0) -> list[tuple[float, str]]:
    """(time, prompt) of every binary frame the client wrote after `after` ms."""
    found = []
    for frame in socket["frames"]:
        assert "hex" in frame, f"the client wrote a text frame: {frame}"
        if frame["t"] >= after:
            found.append((frame["t"], msgpack.unpackb(bytes.fromhex(frame["hex"]))["prompt"]))
    return found


def burst_mark(result: dict[str, Any]) -> float:
    [mark] = [m["t"] for m in result["marks"] if m["mark"] == "burst"]
    return float(mark)


# -- connect and the token call ------------------------------------------------------------
def test_js_client_connects_on_the_gateway_path_with_a_token_from_the_reference(
    observed: dict[str, Any], reference_server: ServerProcess
) -> None:
    result = scenario(observed, "connect")
    [socket] = result["sockets"]
    url = urlsplit(socket["url"])
    assert socket["requested"].startswith(f"wss://fal.run/{APP}/realtime?")  # as built by fal
    assert f"{url.scheme}://{url.netloc}" == reference_server.url
    assert url.path == f"/{APP}/realtime"
    token = parse_qs(url.query)["fal_jwt_token"]
    assert token
    assert token != [KEY]
    assert outputs(result) == ["hello", "p1", "p2"]


def test_js_client_asks_the_token_endpoint_for_the_alias_with_its_key(
    observed: dict[str, Any], reference_server: ServerProcess
) -> None:
    [call] = scenario(observed, "connect")["fetches"]
    assert call["url"] == f"{http_base(reference_server)}/tokens/"
    assert call["method"] == "POST"
    assert call["status"] in (200, 201)
    assert call["headers"]["authorization"] == f"Key {KEY}"
    assert call["headers"]["x-fal-target-url"] == "https://rest.fal.ai/tokens/"
    assert call["headers"]["user-agent"] == "@fal-ai/client/1.10.1"
    assert call["body"] == {"allowed_apps": ["conformance-app"], "token_expiration": 120}


def test_js_client_puts_max_buffering_in_the_query(observed: dict[str, Any]) -> None:
    result = scenario(observed, "max_buffering")
    [socket] = result["sockets"]
    assert parse_qs(urlsplit(socket["url"]).query)["max_buffering"] == ["2"]
    assert outputs(result) == ["mb"]


# -- throttle ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "interval", "last"), [("throttle_default", 128, "p9"), ("throttle_custom", 300, "p4")]
)
def test_js_client_throttle_sends_the_first_and_the_latest_of_a_burst(
    observed: dict[str, Any], name: str, interval: int, last: str
) -> None:
    result = scenario(observed, name)
    [socket] = result["sockets"]
    burst = wire_prompts(socket, after=burst_mark(result))
    sent = [s["input"]["prompt"] for s in result["sent"] if s["t"] >= burst_mark(result)]
    assert sent[-1] == last, sent
    # The first goes out at once and the latest sent is the last written, however the burst
    # spread out in time on a loaded machine (a timing-exact p-number would be flaky).
    # Observed on 2026-12-02: in about one run in three under load, @fal-ai/client 1.10.1 wrote
    # only p0 and never released the waiting latest input (its throttle timer was replaced and
    # not re-armed). That is the client's behaviour, recorded here, not the server's fault.
    assert burst[0][1] == "p0", burst
    assert burst[-1][1] in ("p0", sent[-1]), burst
    # Inside one interval only the latest waits; the others are never written (dropped).
    assert [p for _, p in burst] == sorted({p for _, p in burst}, key=sent.index)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(burst)]
    assert all(gap >= interval - TIMER_SLACK_MS for gap in gaps), (gaps, burst)
    span = result["sent"][-1]["t"] - burst_mark(result)
    assert len(burst) <= 2 + span // interval, (burst, span)
    # Every frame written was answered, in order.
    assert outputs(result)[1:] == [p for _, p in burst]


def test_js_client_throttle_keeps_only_the_last_of_a_synchronous_burst(
    observed: dict[str, Any],
) -> None:
    result = scenario(observed, "throttle_sync_burst")
    [socket] = result["sockets"]
    # After an idle spell the next send waits for a timer tick, so ten sends in one loop
    # replace one another and only the last is written.
    assert [p for _, p in wire_prompts(socket, after=burst_mark(result))] == ["p9"]
    assert outputs(result) == ["warm", "p9"]


def test_js_client_without_throttle_writes_every_input(observed: dict[str, Any]) -> None:
    result = scenario(observed, "throttle_off")
    [socket] = result["sockets"]
    expected = ["warm", *(f"b{i}" for i in range(10))]
    assert [p for _, p in wire_prompts(socket)] == expected
    assert outputs(result) == expected


# -- latest wins while connecting ------------------------------------------------------------
def test_js_client_keeps_only_the_latest_input_while_connecting(
    observed: dict[str, Any],
) -> None:
    result = scenario(observed, "latest_wins_connecting")
    [socket] = result["sockets"]
    assert socket["opened_at"] > result["sent"][-1]["t"]  # all five before the socket
    assert [p for _, p in wire_prompts(socket)] == ["c4"]
    assert outputs(result) == ["c4"]


def test_js_client_throttled_sends_while_connecting_deliver_first_and_last(
    observed: dict[str, Any],
) -> None:
    result = scenario(observed, "latest_wins_connecting_throttled")
    [socket] = result["sockets"]
    wire = wire_prompts(socket)
    prompts = [p for _, p in wire]
    # c0 passes the throttle at once and waits in the queue; later sends replace one another
    # and the latest (c4) is released an interval later. On an idle machine the wire shows
    # ["c0", "c4"] or ["c4"]; on a loaded one the five sends may spread over more than one
    # interval, so the rule checked is the throttle's: the latest is written last, in send
    # order, at most one frame per interval (plus the first), each one answered.
    # Or the client loses the latest: its throttle timer sends only when Date.now() says a whole
    # interval has passed and is not re-armed otherwise, so a timer that fires early (Node's
    # timers start from the loop's cached time) drops c4 for good; about one run in three under
    # load (spec chapter 14, RT-FLOW-030). That is the client's behaviour, recorded here.
    assert prompts[-1:] == ["c4"] or prompts == ["c0"], wire
    assert prompts == sorted(set(prompts)), wire
    sent = result["sent"]
    span = sent[-1]["t"] - sent[0]["t"]
    assert len(prompts) <= 2 + span // 128, (wire, span)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(wire)]
    assert all(gap >= 128 - TIMER_SLACK_MS for gap in gaps[1:]), (gaps, wire)
    assert outputs(result) == prompts


# -- error frames, session end, reconnect, close -----------------------------------------------
def test_js_client_reports_error_frames_and_keeps_the_socket(observed: dict[str, Any]) -> None:
    result = scenario(observed, "error_frames")
    assert len(result["sockets"]) == 1
    invalid, internal, closed = result["errors"]
    assert invalid["name"] == "ApiError"
    assert invalid["status"] == 400
    assert invalid["message"].startswith("INVALID_INPUT: ")
    assert invalid["body"]["type"] == "x-fal-error"
    assert "prompt" in invalid["body"]["reason"]
    assert internal["status"] == 400
    assert internal["message"] == "INTERNAL_ERROR: requested failure"
    assert outputs(result) == ["ok1", "after"]  # the same socket served the input after both
    assert closed["status"] == 1005  # its own close() (below)


def test_js_client_ignores_timeout_after_a_stream_and_reconnects_with_a_new_token(
    observed: dict[str, Any],
) -> None:
    result = scenario(observed, "stream_end_and_reconnect")
    first, second = result["sockets"]
    assert urlsplit(first["url"]).path == f"/{APP}/realtime/stream"
    assert first["close_code"] == 1000
    assert second["close_code"] == 1000
    assert outputs(result) == ["s-0", "s-1", "t-0"]
    assert result["errors"] == []  # TIMEOUT end frame and close 1000 are silent in JS
    assert len(result["fetches"]) == 2  # each new socket after a close asks for a token
    assert second["opened_at"] > first["closed_at"]


def test_js_client_reconnects_lazily_after_the_idle_timeout(observed: dict[str, Any]) -> None:
    result = scenario(observed, "idle_timeout_reconnect")
    first, second = result["sockets"]
    assert first["close_code"] == 1000
    send_b = result["sent"][1]["t"]
    assert first["closed_at"] <= send_b < second["opened_at"]  # no socket until the next send
    assert outputs(result) == ["a", "b"]
    assert [f["t"] > first["closed_at"] for f in result["fetches"]] == [False, True]
    assert [e["status"] for e in result["errors"]] == [1005]  # only its own close() at the end


def test_js_client_close_reports_1005_and_a_later_send_reconnects(
    observed: dict[str, Any],
) -> None:
    result = scenario(observed, "close")
    first, _ = result["sockets"]
    assert first["close_code"] == 1005  # ws closes without a status code
    assert result["errors"][0]["status"] == 1005
    assert result["errors"][0]["message"] == "Error closing the connection: "
    assert outputs(result) == ["x", "y"]
    assert len(result["fetches"]) == 2


def test_js_client_shares_one_socket_per_connection_key_and_calls_the_latest_callbacks(
    observed: dict[str, Any],
) -> None:
    result = scenario(observed, "connection_key_reuse")
    [socket] = result["sockets"]
    assert len(result["fetches"]) == 1
    assert [p for _, p in wire_prompts(socket)] == ["k1", "k2", "k3"]
    # The second connect() replaced the callbacks: k3, sent on the first handle, goes there too.
    assert [(r["via"], r["data"]["output"]) for r in result["results"]] == [
        ("first", "k1"),
        ("second", "k2"),
        ("second", "k3"),
    ]


def test_js_client_with_a_string_encoder_writes_text_frames_which_the_reference_rejects(
    observed: dict[str, Any],
) -> None:
    result = scenario(observed, "custom_text_encoder")
    [socket] = result["sockets"]
    # The message queued while connecting is written once, not encoded a second time.
    assert socket["frames"] == [
        {"t": socket["frames"][0]["t"], "text": '{"prompt":"while-connecting"}'},
        {"t": socket["frames"][1]["t"], "text": '{"prompt":"when-open"}'},
    ]
    first, second, _ = result["errors"]
    for error in (first, second):  # RT-MSG-011: a rejected input, the session goes on
        assert error["status"] == 400
        assert error["body"]["error"] == "INVALID_INPUT"
    assert result["results"] == []


def test_js_client_reports_the_servers_shutdown_close_1001_as_an_error(node: str) -> None:
    cmd = [sys.executable, "-m", "reference", "serve", "--host", "127.0.0.1", "--port", "0"]
    with running_server(cmd) as server:
        observed = run_js_driver_with_ready_hook(
            server.url, http_base(server), "server_shutdown", server.stop
        )
    result = scenario(observed, "server_shutdown")
    [socket] = result["sockets"]
    assert outputs(result) == ["before shutdown"]
    assert socket["close_code"] == 1001  # RT-LIFE-021 on the reference side
    [error] = result["errors"]  # RT-LIFE-031: JS reports it (every code but 1000)
    assert error["status"] == 1001


# -- a server that requires a key --------------------------------------------------------------
def test_js_client_gets_a_token_with_the_right_key_and_connects(
    node: str, keyed_reference_server: ServerProcess, reference_key: str
) -> None:
    observed = run_js_driver(
        keyed_reference_server.url,
        http_base(keyed_reference_server),
        key=reference_key,
        scenarios=["connect"],
    )
    result = scenario(observed, "connect")
    assert outputs(result) == ["hello", "p1", "p2"]
    assert reference_key not in result["sockets"][0]["url"]


def test_js_client_with_a_wrong_key_drops_the_input_silently(
    node: str, keyed_reference_server: ServerProcess
) -> None:
    observed = run_js_driver(
        keyed_reference_server.url,
        http_base(keyed_reference_server),
        key="not-the-key",
        scenarios=["unauthorized"],
    )
    result = scenario(observed, "unauthorized")
    assert [f["status"] for f in result["fetches"]] == [403]
    assert result["sockets"] == []  # no handshake without a token
    assert result["results"] == []
    assert result["errors"] == []


# -- the loopback fence --------------------------------------------------------------------
def test_js_driver_refuses_a_target_that_is_not_loopback(node: str) -> None:
    done = subprocess.run(
        [node, str(DRIVER), "ws://192.0.2.1:9", "--rest", "http://192.0.2.1:9"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "only 127.0.0.1 is allowed" in done.stderr
