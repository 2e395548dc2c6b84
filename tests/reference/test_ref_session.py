"""Session rules (reference/core/session.py; spec chapters 06, 07, 08). Times are passed in."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from reference.core.session import (
    EXTRA_STREAM_INPUT,
    TEXT_REJECTED,
    TRANSITIONS,
    InvalidInput,
    Mode,
    Rejected,
    Session,
    SessionConfig,
    State,
)


def packed(prompt: str) -> bytes:
    return bytes(msgpack.packb({"prompt": prompt}))


def drain(session: Session) -> list[Any]:
    out: list[Any] = []
    while (work := session.next_work()) is not None:
        out.append(work if isinstance(work, Rejected) else [w["prompt"] for w in work])
    return out


def test_unbounded_fifo_keeps_every_input_in_order() -> None:
    session = Session(SessionConfig())
    for p in "abcdef":
        session.receive_binary(packed(p), 0.0)
    assert drain(session) == [[p] for p in "abcdef"]


def test_buffering_keeps_the_latest_inputs() -> None:
    session = Session(SessionConfig(buffering=2))
    for p in "abcde":
        session.receive_binary(packed(p), 0.0)
    assert drain(session) == [["d"], ["e"]]


def test_rejection_is_queued_behind_earlier_inputs() -> None:
    session = Session(SessionConfig())
    session.receive_binary(packed("a"), 0.0)
    session.receive_binary(bytes.fromhex("c1"), 0.0)
    session.receive_text("hello", 0.0)
    session.receive_binary(packed("b"), 0.0)
    work = drain(session)
    assert work[0] == ["a"]
    assert isinstance(work[1], Rejected)
    assert work[2] == Rejected(TEXT_REJECTED)
    assert work[3] == ["b"]


def test_buffering_never_drops_rejections() -> None:
    session = Session(SessionConfig(buffering=1))
    session.receive_binary(packed("a"), 0.0)
    session.receive_binary(b"\xc1", 0.0)
    session.receive_binary(packed("b"), 0.0)
    work = drain(session)
    assert isinstance(work[0], Rejected)
    assert work[1] == ["b"]


def test_batches_stop_at_the_limit_and_at_a_rejection() -> None:
    session = Session(SessionConfig(max_batch_size=3))
    for p in "abcde":
        session.receive_binary(packed(p), 0.0)
    session.receive_binary(b"\xc1", 0.0)
    session.receive_binary(packed("f"), 0.0)
    work = drain(session)
    assert work[:2] == [["a", "b", "c"], ["d", "e"]]
    assert isinstance(work[2], Rejected)
    assert work[3] == ["f"]


def test_validation_hook_rejections_carry_its_reason() -> None:
    def validate(value: dict[str, Any]) -> Any:
        if "prompt" not in value:
            raise InvalidInput("prompt: Field required")
        return value

    session = Session(SessionConfig(), validate)
    session.receive_binary(msgpack.packb({"x": 1}), 0.0)
    assert session.next_work() == Rejected("prompt: Field required")


def test_idle_timeout_drains_then_finishes() -> None:
    session = Session(SessionConfig(session_timeout=1.0), now=10.0)
    session.receive_binary(packed("a"), 10.5)
    assert session.check_timeout(11.0) == 11.5
    assert session.check_timeout(11.5) is None
    draining = session.state
    assert draining is State.DRAINING
    finished_before = session.finished  # "a" is still queued
    assert drain(session) == [["a"]]
    assert (finished_before, session.finished) == (False, True)
    session.end()
    assert session.state is State.CLOSED


def test_inputs_after_the_timeout_are_rejected_not_lost() -> None:
    session = Session(SessionConfig(session_timeout=1.0))
    session.check_timeout(2.0)
    session.receive_binary(packed("late"), 2.1)
    work = session.next_work()
    assert isinstance(work, Rejected)


def test_server_streaming_takes_one_input_and_rejects_the_rest() -> None:
    session = Session(SessionConfig(mode=Mode.SERVER_STREAMING))
    session.receive_binary(packed("a"), 0.0)
    session.receive_binary(packed("b"), 0.0)
    assert session.next_work() == [{"prompt": "a"}]
    assert session.state is State.STREAMING
    session.receive_binary(packed("c"), 0.0)
    assert drain(session) == [Rejected(EXTRA_STREAM_INPUT)] * 2


def test_peer_close_discards_pending_work() -> None:
    session = Session(SessionConfig())
    session.receive_binary(packed("a"), 0.0)
    session.peer_closed()
    assert session.state is State.CLOSED
    assert session.next_work() is None
    session.receive_binary(packed("b"), 0.0)
    assert session.next_work() is None


@pytest.mark.parametrize(("app", "client", "expected"), [(None, 2, None), (8, 2, 2), (2, 8, 2)])
def test_max_buffering_only_tightens_a_declared_buffer(
    app: int | None, client: int, expected: int | None
) -> None:
    assert SessionConfig(buffering=app).with_max_buffering(client).buffering == expected


def test_closed_is_terminal_in_the_transition_table() -> None:
    assert all(state is not State.CLOSED for state, _ in TRANSITIONS)
