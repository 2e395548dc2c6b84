"""The spec's language-neutral vectors, run against the server (spec/vectors/README.md).

Every `msgpack-input` case is sent as one binary message to `/realtime`; every
`websocket-control` case as one frame after the handshake; every `session` case is replayed
step by step with its timing bounds (spec 06-lifecycle 6.2.1). Each check is marked with the
case's own requirement IDs, so a failure is blamed on the rule the vector exercises.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from conformance.failures import ConformanceFailure, requirement
from conformance.plugin import NA_PREFIX
from conformance.requirements import data_path, load_requirements
from conformance.wire import Conn, Received, Target

UNREPLAYABLE_KEYS = ("delay_ms", "fail")  # inputs whose answer is not a plain echo


# Rules on what a sender encodes: an input vector exercises the server as a receiver only.
SENDER_RULES = frozenset(
    {"RT-CONV-001", "RT-CONV-002", "RT-CONV-003", "RT-CONV-004", "RT-CONV-012"}
)


def _server_reqs(case: dict[str, Any]) -> list[str]:
    """The case's requirements that bind a server receiving it (no sender's rules)."""
    known = load_requirements()
    return [
        r for r in case["requirements"] if known[r].applies_to_server() and r not in SENDER_RULES
    ]


def _server_blame(case: dict[str, Any]) -> tuple[str, ...]:
    """The case's server requirements at the case's own level."""
    known = load_requirements()
    level = case.get("level", "MUST")
    blame = tuple(r for r in _server_reqs(case) if known[r].level == level)
    return blame or tuple(_server_reqs(case)) or tuple(case["requirements"])


def _vector_cases(*names: str) -> list[Any]:
    params = []
    for name in names:
        data = json.loads(data_path("vectors", name).read_text("utf-8"))
        for n, case in enumerate(data["cases"]):
            marks = [pytest.mark.req(*(_server_reqs(case) or case["requirements"]))]
            if case.get("feature"):
                marks.append(pytest.mark.feature(case["feature"]))
            if case.get("extensions") is not None:
                marks.append(pytest.mark.feature("extensions"))
            params.append(pytest.param(case, id=f"{name}[{n}]", marks=marks))
    return params


# --------------------------------------------------------------------------- msgpack inputs


@pytest.mark.req(  # the union of what the cases cite; each case also carries its own
    "RT-CONV-005", "RT-CONV-009", "RT-CONV-010", "RT-CONV-011", "RT-CONV-013", "RT-CONV-014"
)
@pytest.mark.parametrize("case", _vector_cases("msgpack-valid.json", "msgpack-invalid.json"))
def test_server_judges_msgpack_vector(target: Target, case: dict[str, Any]) -> None:
    """An accept case with a str prompt is echoed; a reject case gets an error frame."""
    value = case.get("value")
    if case["verdict"] == "accept" and not (
        isinstance(value, dict)
        and isinstance(value.get("prompt"), str)
        and not any(k in value for k in UNREPLAYABLE_KEYS)
    ):
        pytest.skip(NA_PREFIX + "the conformance app refuses this value, so it shows nothing")
    reqs = _server_blame(case)
    with target.connect() as conn:
        conn.send_bytes(bytes.fromhex(case["hex"]))
        with requirement(*reqs):  # no answer at all is the case's own failure
            frame = conn.recv_data()
    if case["verdict"] == "accept":
        assert isinstance(value, dict)
        with requirement(*reqs):
            assert frame.kind == "binary", f"{case['description']}: got {frame.summary()}"
            assert frame.value == {"output": value["prompt"]}, frame.summary()
        return
    if frame.kind == "binary" and case["description"].startswith("the key prompt given twice"):
        with requirement("RT-CONV-014"):  # accepted: the last value must win
            assert frame.value == {"output": "last"}, f"duplicate prompt answered {frame.value}"
    if case["level"] == "MAY":
        return  # either verdict is conformant
    with requirement(*reqs):
        assert frame.is_error_frame, (
            f"{case['description']} ({case['reason']}) was not rejected: got {frame.summary()}"
        )


# --------------------------------------------------------------------------- control frames


@pytest.mark.req("RT-LIFE-010", "RT-LIFE-022", "RT-LIFE-024", "RT-LIFE-026", "RT-LIFE-028")
@pytest.mark.parametrize("case", _vector_cases("websocket-control.json"))
def test_server_answers_control_vector(target: Target, case: dict[str, Any]) -> None:
    """The frame the case sends gets the frame the case expects."""
    raw = target.handshake("/realtime")
    try:
        if raw.status != 101:
            raise ConformanceFailure(f"handshake got HTTP {raw.status}", ("RT-TRANS-001",))
        raw.send_frame(case["send"]["opcode"], bytes.fromhex(case["send"]["payload"]))
        expect = case["expect"]
        with requirement(*_server_blame(case)):
            frame = raw.recv_frame()
            assert frame is not None, "the server dropped TCP without answering"
            assert frame.opcode == expect["opcode"], f"got {frame.name} {frame.payload.hex()}"
            if "payload" in expect:
                assert frame.payload.hex() == expect["payload"], f"payload {frame.payload.hex()}"
            if "close_code" in expect:
                assert frame.close_code == expect["close_code"], f"close {frame.close_code}"
    finally:
        raw.close()


# --------------------------------------------------------------------------- sessions


def _matches(frame: Received, expect: dict[str, Any]) -> str | None:
    """Why `frame` is not what `expect` describes (None when it is)."""
    kind = expect["kind"]
    if kind == "output":
        ok = frame.kind == "binary" and frame.value == expect["value"]
    elif kind == "error":
        ok = frame.is_error_frame and expect.get("code") in (None, frame.value.get("error"))
    elif kind == "message":
        ok = frame.is_message_frame and frame.value.get("action") == expect["action"]
    else:  # close
        ok = frame.kind == "close" and frame.code == expect["code"]
    members = expect.get("members", {})
    if ok and members and isinstance(frame.value, dict):
        ok = all(frame.value.get(k) == v for k, v in members.items())
    return None if ok else f"expected {expect}, got {frame.summary()}"


def _is_idle_end(expect: dict[str, Any]) -> bool:
    """Whether `expect` is the final frame of an idle end (TIMEOUT, or end-of-output's)."""
    if expect["kind"] == "error":
        return expect.get("code") == "TIMEOUT"
    members = expect.get("members", {})
    return expect["kind"] == "message" and bool(members.get("reason") == "idle-timeout")


def _expect(
    conn: Conn,
    step: dict[str, Any],
    raw: bool,
    target: Target,
    since: float,
    last_sent: float | None = None,
) -> None:
    """The step's message, within its bounds.

    The earliest bound of an idle end counts from the last data message sent (`last_sent`),
    where 6.2.1 starts the idle timer (RT-LIFE-001, RT-LIFE-004): an output that took its time
    within its own bound does not make a punctual TIMEOUT early.
    """
    expect, (earliest, latest) = step["expect"], step["within"]
    anchor = last_sent if last_sent is not None and _is_idle_end(expect) else since
    deadline = since + target.scale(latest)

    def next_frame() -> Received:
        wait = max(0.05, deadline - time.monotonic())
        return (
            conn.recv(timeout=wait / target.config.timeout_multiplier)
            if raw
            else (conn.recv_data(timeout=wait / target.config.timeout_multiplier))
        )

    if expect["kind"] == "close-or-open":
        try:
            frame = next_frame()
        except ConformanceFailure:
            return  # the session stayed open: allowed
        assert frame.kind == "close", f"expected a close or nothing, got {frame.summary()}"
        assert frame.code == expect["code"], f"closed with {frame.code}"
        return
    if expect["kind"] == "outputs":
        got = [next_frame() for _ in expect["values"]]
        values = [f.value if f.kind == "binary" else f.summary() for f in got]
        if expect["ordered"]:
            assert values == expect["values"], f"outputs {values}"
        else:
            key = json.dumps
            assert sorted(map(key, values)) == sorted(map(key, expect["values"])), values
    else:
        problem = _matches(next_frame(), expect)
        assert problem is None, problem
    elapsed = time.monotonic() - anchor
    after = "the last input" if anchor != since else "the previous step"
    assert elapsed >= 0.95 * earliest, (
        f"{expect['kind']} {elapsed:.2f}s after {after}, before {earliest}s"
    )


@pytest.mark.req(
    "RT-MSG-021",
    "RT-CTRL-019",
    "RT-LIFE-004",
    "RT-LIFE-007",
    "RT-STREAM-011",
    "RT-EXT-002",
    "RT-EXT-004",
    "RT-EXT-005",
    "RT-EXT-011",
    "RT-EXT-020",
    "RT-EXT-030",
    "RT-EXT-031",
)
@pytest.mark.parametrize("case", _vector_cases("session-sequences.json"))
def test_server_replays_session_vector(target: Target, case: dict[str, Any]) -> None:
    """Each step of the session happens, within its bounds."""
    extensions = case.get("extensions")
    query = {"rt_ext": ",".join(extensions)} if extensions is not None else None
    with requirement(*_server_blame(case)), target.connect(case["path"], query=query) as conn:
        since = time.monotonic()
        last_sent: float | None = None  # when the last data message went (6.2.1's idle anchor)
        client_closed = False
        for step in case["steps"]:
            if "send" in step:
                conn.send_msgpack(step["send"])
            elif "send_hex" in step:
                conn.send_bytes(bytes.fromhex(step["send_hex"]))
            elif "send_text" in step:
                conn.send_text(step["send_text"])
            elif "wait" in step:
                time.sleep(target.scale(step["wait"]))
            elif "close" in step:
                conn.close(step["close"])
                client_closed = True
            elif client_closed and step["expect"]["kind"] == "close":
                with requirement("RT-LIFE-024"):  # the answer to the client's own close
                    _expect(conn, step, extensions is not None, target, since)
            else:
                _expect(conn, step, extensions is not None, target, since, last_sent)
            since = time.monotonic()
            if any(key in step for key in ("send", "send_hex", "send_text")):
                last_sent = since
