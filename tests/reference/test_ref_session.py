"""The server's session core (reference/core/session.py; spec 06, 07, 08): bytes in, bytes out."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from wirebytes import binary, masked, readable

from reference.core.session import (
    EXTRA_STREAM_INPUT,
    TRANSITIONS,
    InvalidInput,
    Mode,
    Session,
    SessionConfig,
    State,
)

TEXT, BINARY, CLOSE, PING = 0x1, 0x2, 0x8, 0x9


def opened(config: SessionConfig, now: float = 0.0, **kw: Any) -> Session:
    session = Session(config, **kw)
    session.accept(now)
    return session


def feed(session: Session, *frames: bytes, now: float = 0.0) -> None:
    session.receive_data(b"".join(frames), now)


def echo_all(session: Session) -> list[Any]:
    """Serve every queued unit of work with an echo handler; return what went out."""
    while (work := session.next_work()) is not None:
        session.output({"prompts": [w["prompt"] for w in work]})
    return readable(session.data_to_send())


def prompt(p: str) -> bytes:
    return binary({"prompt": p})


def test_session_opens_on_accept() -> None:
    session = Session(SessionConfig())
    before = session.state
    session.accept(0.0)
    assert (before, session.state) == (State.CONNECTING, State.OPEN)


def test_refused_handshake_closes_without_opening() -> None:
    session = Session(SessionConfig())
    session.refuse()
    assert session.state is State.CLOSED


def test_unbounded_fifo_serves_every_input_in_order() -> None:
    session = opened(SessionConfig())
    feed(session, *(prompt(p) for p in "abcdef"))
    assert echo_all(session) == [{"prompts": [p]} for p in "abcdef"]


def test_buffering_keeps_the_latest_inputs() -> None:
    session = opened(SessionConfig(buffering=2))
    feed(session, *(prompt(p) for p in "abcde"))
    assert echo_all(session) == [{"prompts": ["d"]}, {"prompts": ["e"]}]


def test_rejections_go_out_in_input_order() -> None:
    session = opened(SessionConfig())
    feed(session, prompt("a"), masked(BINARY, b"\xc1"), masked(TEXT, b"hello"), prompt("b"))
    assert echo_all(session) == [
        {"prompts": ["a"]},
        ("error", "INVALID_INPUT"),
        ("error", "INVALID_INPUT"),
        {"prompts": ["b"]},
    ]


def test_buffering_never_drops_rejections() -> None:
    session = opened(SessionConfig(buffering=1))
    feed(session, prompt("a"), masked(BINARY, b"\xc1"), prompt("b"))
    assert echo_all(session) == [("error", "INVALID_INPUT"), {"prompts": ["b"]}]


def test_batches_stop_at_the_limit_and_at_a_rejection() -> None:
    session = opened(SessionConfig(max_batch_size=3))
    feed(session, *(prompt(p) for p in "abcde"), masked(BINARY, b"\xc1"), prompt("f"))
    assert echo_all(session) == [
        {"prompts": ["a", "b", "c"]},
        {"prompts": ["d", "e"]},
        ("error", "INVALID_INPUT"),
        {"prompts": ["f"]},
    ]


def test_validation_hook_rejections_carry_its_reason() -> None:
    def validate(value: dict[str, Any]) -> Any:
        if "prompt" not in value:
            raise InvalidInput("prompt: Field required")
        return value

    session = opened(SessionConfig(), validate=validate)
    feed(session, binary({"x": 1}))
    assert session.next_work() is None
    assert b"prompt: Field required" in b"".join(session.data_to_send())


def test_idle_timeout_serves_owed_work_then_times_out_and_closes_1000() -> None:
    session = opened(SessionConfig(session_timeout=1.0), now=10.0)
    feed(session, prompt("a"), now=10.5)
    assert session.deadline() == 11.5
    session.tick(11.0)
    before = session.state
    session.tick(11.5)
    assert (before, session.state) == (State.OPEN, State.ENDING)
    assert echo_all(session) == [{"prompts": ["a"]}]
    assert session.inputs_done
    session.end()
    assert readable(session.data_to_send()) == [("error", "TIMEOUT"), ("close", 1000)]
    closing = session.state
    feed(session, masked(CLOSE, (1000).to_bytes(2, "big")))
    assert (closing, session.state) == (State.CLOSING, State.CLOSED)


def test_inputs_after_the_timeout_are_rejected_not_lost() -> None:
    session = opened(SessionConfig(session_timeout=1.0))
    session.tick(2.0)
    feed(session, prompt("late"), now=2.1)
    assert session.next_work() is None
    assert readable(session.data_to_send()) == [("error", "INVALID_INPUT")]


def test_server_streaming_takes_one_input_and_rejects_the_rest_after_a_linger() -> None:
    session = opened(SessionConfig(mode=Mode.SERVER_STREAMING))
    feed(session, prompt("a"), prompt("b"))
    assert session.next_work() == [{"prompt": "a"}]
    feed(session, prompt("c"))
    session.output({"chunk": 1})
    session.stream_finished(5.0)
    assert session.deadline() == pytest.approx(5.02)
    session.tick(5.01)
    feed(session, prompt("d"), now=5.01)
    session.tick(5.02)
    assert readable(session.data_to_send()) == [
        {"chunk": 1},
        *[("error", "INVALID_INPUT")] * 3,
        ("error", "TIMEOUT"),
        ("close", 1000),
    ]
    assert EXTRA_STREAM_INPUT


def test_streaming_handler_failure_sends_internal_error_then_closes_1000() -> None:
    session = opened(SessionConfig(mode=Mode.BIDI))
    session.handler_failed(RuntimeError("boom"))
    assert readable(session.data_to_send()) == [("error", "INTERNAL_ERROR"), ("close", 1000)]
    assert session.state is State.CLOSING


def test_unary_handler_failure_keeps_the_session_open() -> None:
    session = opened(SessionConfig())
    session.handler_failed(RuntimeError(""))
    assert readable(session.data_to_send()) == [("error", "INTERNAL_ERROR")]
    assert session.state is State.OPEN


def test_peer_close_is_answered_and_discards_pending_work() -> None:
    session = opened(SessionConfig())
    feed(session, prompt("a"), masked(CLOSE, (1000).to_bytes(2, "big") + b"bye"))
    assert session.state is State.CLOSED
    assert session.next_work() is None
    assert readable(session.data_to_send()) == [("close", 1000), "eof"]
    feed(session, prompt("b"))
    assert session.next_work() is None


def test_ping_is_answered_with_the_same_payload() -> None:
    session = opened(SessionConfig())
    feed(session, masked(PING, b"abc"))
    assert readable(session.data_to_send()) == [(0xA, b"abc")]


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (bytes.fromhex("8203") + b"abc", 1002),  # unmasked
        (masked(CLOSE, (1005).to_bytes(2, "big")), 1002),
        (masked(0x3, b""), 1002),  # reserved opcode
        (masked(TEXT, b"\xff"), 1007),
        (masked(PING, b"", fin=False), 1002),
        (masked(0x0, b"x"), 1002),  # continuation without a start
    ],
)
def test_framing_violations_close_with_their_code(frame: bytes, code: int) -> None:
    session = opened(SessionConfig())
    feed(session, frame)
    assert readable(session.data_to_send()) == [("close", code), "eof"]
    assert session.state is State.CLOSING


def test_fragmented_message_is_one_input() -> None:
    session = opened(SessionConfig())
    data = bytes(msgpack.packb({"prompt": "frag"}))
    feed(session, masked(BINARY, data[:3], fin=False), masked(PING, b""), masked(0x0, data[3:]))
    assert session.next_work() == [{"prompt": "frag"}]


def test_shutdown_closes_1001() -> None:
    session = opened(SessionConfig())
    session.shutdown()
    assert readable(session.data_to_send()) == [("close", 1001)]
    assert session.state is State.CLOSING


@pytest.mark.parametrize(("app", "client", "expected"), [(None, 2, None), (8, 2, 2), (2, 8, 2)])
def test_max_buffering_only_tightens_a_declared_buffer(
    app: int | None, client: int, expected: int | None
) -> None:
    assert SessionConfig(buffering=app).with_max_buffering(client).buffering == expected


def test_closed_is_terminal_in_the_transition_table() -> None:
    assert all(state is not State.CLOSED for state, _ in TRANSITIONS)
