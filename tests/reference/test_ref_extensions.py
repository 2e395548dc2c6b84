"""The 1.1 extension channel in the session core (reference/core/extensions.py; spec 15)."""

from __future__ import annotations

import json
from typing import Any

import msgpack
from wirebytes import binary, masked, server_frames

from reference.core.extensions import Extensions, negotiate
from reference.core.session import Limits, Mode, Session, SessionConfig, State

TEXT, BINARY, CLOSE, PING, PONG = 0x1, 0x2, 0x8, 0x9, 0xA
EOI = '{"type":"x-fal-message","action":"end-of-input"}'


def opened(
    config: SessionConfig, offer: str | None, now: float = 0.0, limits: Limits | None = None
) -> Session:
    query = {} if offer is None else {"rt_ext": offer}
    session = Session(
        config.with_extensions(negotiate(query, heartbeat_interval=1.0)), limits=limits
    )
    session.accept(now)
    return session


def feed(session: Session, *frames: bytes, now: float = 0.0) -> None:
    session.receive_data(b"".join(frames), now)


def text(value: str) -> bytes:
    return masked(TEXT, value.encode())


def sent(session: Session, now: float | None = None) -> list[Any]:
    """What the session wrote: decoded outputs, JSON text frames, ("close", code), (op, payload)."""
    items: list[Any] = []
    for opcode, payload in server_frames(b"".join(session.data_to_send(now))):
        if opcode == BINARY:
            items.append(msgpack.unpackb(payload))
        elif opcode == TEXT:
            items.append(json.loads(payload))
        elif opcode == CLOSE:
            items.append(("close", int.from_bytes(payload[:2], "big")))
        else:
            items.append((opcode, payload))
    return items


def echo(session: Session) -> None:
    while (work := session.next_work()) is not None:
        session.output({"output": ",".join(w["prompt"] for w in work)})


def actions(items: list[Any]) -> list[Any]:
    """Each item as its action, error code, output or close: a short view of a transcript."""
    out: list[Any] = []
    for item in items:
        if isinstance(item, dict) and item.get("type") == "x-fal-message":
            out.append(item["action"])
        elif isinstance(item, dict) and item.get("type") == "x-fal-error":
            out.append(item["error"])
        else:
            out.append(item)
    return out


# -- negotiation (spec 15.1) -----------------------------------------------------------------
def test_negotiate_keeps_known_tokens_in_the_clients_order() -> None:
    got = negotiate({"rt_ext": "heartbeat,,x-acme-thing,correlation,heartbeat, end-of-input"})
    assert got.channel
    assert got.enabled == ("heartbeat", "correlation", "end-of-input")


def test_negotiate_without_rt_ext_is_a_1_0_session() -> None:
    assert negotiate({"max_buffering": "3"}) == Extensions()
    assert negotiate({"rt_ext": ""}) == Extensions(channel=True)


def test_session_without_rt_ext_sends_nothing_on_accept() -> None:
    """RT-EXT-003: no hello, no frame of chapter 15 without the query parameter."""
    assert opened(SessionConfig(), None).data_to_send() == []


def test_hello_is_the_first_message_with_mode_and_limits() -> None:
    """RT-EXT-002/004: hello first, enabled tokens, mode and limits (max_buffering applied)."""
    config = SessionConfig(Mode.BIDI, buffering=8, session_timeout=2.0).with_max_buffering(3)
    session = opened(config, "heartbeat,end-of-output,x-unknown")
    [hello] = sent(session)
    assert hello == {
        "type": "x-fal-message",
        "action": "hello",
        "version": "1.1",
        "extensions": ["heartbeat", "end-of-output"],
        "mode": "bidirectional",
        "limits": {
            "max_message_bytes": 16 * 1024 * 1024,
            "session_timeout": 2.0,
            "buffering": 3,
            "max_batch_size": 1,
        },
        "heartbeat_interval": 1.0,
    }


# -- end-of-input (spec 15.2) ----------------------------------------------------------------
def test_end_of_input_ends_a_unary_session_after_its_inputs() -> None:
    """RT-EXT-011: the inputs before the frame are served, then the normal end, no idle wait."""
    session = opened(SessionConfig(), "end-of-input")
    sent(session)
    feed(session, binary({"prompt": "a"}), binary({"prompt": "b"}), text(EOI))
    assert session.state is State.ENDING
    echo(session)
    assert session.inputs_done
    session.end()
    assert actions(sent(session)) == [
        {"output": "a"},
        {"output": "b"},
        "TIMEOUT",  # end-of-output is off: the 1.0 end
        ("close", 1000),
    ]


def test_end_of_input_ends_a_client_stream_at_once() -> None:
    """RT-EXT-011: the handler's input stream ends; end-of-output says why (RT-EXT-020)."""
    session = opened(
        SessionConfig(Mode.CLIENT_STREAMING, session_timeout=30.0),
        "end-of-input,end-of-output",
        limits=Limits(ping_interval=0),  # no keepalive deadline either (RT-SEC-050)
    )
    sent(session)
    feed(session, binary({"prompt": "a"}), text(EOI), now=0.1)
    assert session.next_work() == [{"prompt": "a"}]
    assert session.next_work() is None
    assert session.inputs_done
    assert session.deadline() is None  # the idle timeout no longer applies
    session.output({"output": "a"})
    session.stream_finished(0.2)
    assert actions(sent(session)) == [{"output": "a"}, "end-of-output", ("close", 1000)]


def test_end_of_output_reasons() -> None:
    """RT-EXT-020: end-of-input, idle-timeout and complete, in place of TIMEOUT."""
    session = opened(SessionConfig(Mode.CLIENT_STREAMING), "end-of-input,end-of-output")
    feed(session, text(EOI))
    session.stream_finished(0.0)
    assert sent(session)[1]["reason"] == "end-of-input"

    session = opened(SessionConfig(session_timeout=1.0), "end-of-output")
    session.tick(1.0)
    assert session.next_work() is None
    assert session.inputs_done
    session.end()
    assert sent(session)[1] == {
        "type": "x-fal-message",
        "action": "end-of-output",
        "reason": "idle-timeout",
    }

    session = opened(SessionConfig(Mode.SERVER_STREAMING), "end-of-input,end-of-output")
    feed(session, binary({"prompt": "p"}))
    assert session.next_work() == [{"prompt": "p"}]
    feed(session, text(EOI))  # after the request it changes nothing
    assert session.state is State.OPEN
    session.stream_finished(0.0)
    session.tick(1.0)  # the linger ends
    assert sent(session)[1]["reason"] == "complete"


def test_end_of_input_in_the_same_read_as_the_request_ends_the_stream_complete() -> None:
    """RT-EXT-011/022: the request arrived first, so end-of-input after it changes nothing.

    Bug fixed (found in the spec 15 review): end-of-input read together with a server
    stream's request moved the session to ENDING before the request was taken, and the
    stream's linger was only timed in OPEN, so the session never ended.
    """
    session = opened(SessionConfig(Mode.SERVER_STREAMING), "end-of-input,end-of-output")
    sent(session)
    feed(session, binary({"prompt": "p"}), text(EOI))  # one TCP read holds both
    assert session.next_work() == [{"prompt": "p"}]
    session.output({"output": "p-0"})
    session.stream_finished(0.0)
    session.tick(1.0)  # past the linger
    assert actions(sent(session)) == [{"output": "p-0"}, "end-of-output", ("close", 1000)]


def test_text_frames_that_are_not_end_of_input_stay_rejected_inputs() -> None:
    """RT-EXT-012: another text frame, or a second end-of-input, is a rejected input."""
    session = opened(SessionConfig(Mode.BIDI), "end-of-input")
    sent(session)
    feed(session, text('{"type":"x-fal-message","action":"other"}'), text(EOI), text(EOI))
    assert session.next_work() is None
    reasons = [f["reason"] for f in sent(session)]
    assert reasons == [
        "text frames are not inputs; send each input as a binary msgpack map",
        "end-of-input was already received on this session",
    ]


def test_end_of_input_without_the_extension_is_a_rejected_text_frame() -> None:
    """RT-EXT-006: a peer that did not negotiate end-of-input gets 1.0's answer."""
    session = opened(SessionConfig(Mode.BIDI), "correlation")
    sent(session)
    feed(session, text(EOI))
    assert session.state is State.OPEN
    session.next_work()
    [frame] = sent(session)
    assert frame["error"] == "INVALID_INPUT"
    assert frame["input_index"] == 0


def test_data_after_end_of_input_is_answered_not_served() -> None:
    """RT-LIFE-008/009: a late input gets INVALID_INPUT before the end."""
    session = opened(SessionConfig(), "end-of-input")
    sent(session)
    feed(session, text(EOI), binary({"prompt": "late"}))
    assert session.next_work() is None
    session.end()
    assert actions(sent(session)) == ["INVALID_INPUT", "TIMEOUT", ("close", 1000)]


# -- correlation (spec 15.4) -----------------------------------------------------------------
def test_correlation_numbers_every_data_message_but_not_end_of_input() -> None:
    """RT-EXT-030/031: outputs are tagged, rejections carry input_index."""
    session = opened(SessionConfig(), "correlation,end-of-input")
    sent(session)
    feed(session, binary({"prompt": "a"}), text("hi"), b"", binary({"prompt": "b"}))
    feed(session, masked(BINARY, b"\xc1"), text(EOI), binary({"prompt": "c"}))
    echo(session)
    items = sent(session)
    assert [
        (i.get("action") or i.get("error"), i.get("inputs", i.get("input_index")))
        for i in items
        if "type" in i
    ] == [
        ("output", [0]),
        ("INVALID_INPUT", 1),
        ("output", [2]),
        ("INVALID_INPUT", 3),
        ("INVALID_INPUT", 4),  # after end-of-input: answered, not served (RT-LIFE-009)
    ]


def test_correlation_tags_a_batch_with_all_its_inputs() -> None:
    """RT-EXT-031 (table of 15.4): a batch's output lists the batch's inputs in order."""
    session = opened(SessionConfig(max_batch_size=4), "correlation")
    sent(session)
    feed(session, binary({"prompt": "a"}), binary({"prompt": "b"}))
    echo(session)
    assert sent(session) == [
        {"type": "x-fal-message", "action": "output", "inputs": [0, 1]},
        {"output": "a,b"},
    ]


def test_correlation_gives_each_failed_batch_input_its_error_frame() -> None:
    """RT-EXT-030: each INTERNAL_ERROR names one input."""
    session = opened(SessionConfig(max_batch_size=4), "correlation")
    sent(session)
    feed(session, binary({"prompt": "a"}), binary({"prompt": "b"}))
    assert session.next_work() is not None
    session.handler_failed(RuntimeError("boom"))
    assert [(f["error"], f["input_index"]) for f in sent(session)] == [
        ("INTERNAL_ERROR", 0),
        ("INTERNAL_ERROR", 1),
    ]


def test_correlation_tags_bidi_outputs_with_no_inputs() -> None:
    """Table of 15.4: a bidirectional handler does not tie outputs to inputs: `[]`."""
    session = opened(SessionConfig(Mode.BIDI), "correlation")
    sent(session)
    feed(session, binary({"prompt": "p"}))
    assert session.next_work() == [{"prompt": "p"}]
    session.output({"output": "p"})
    assert sent(session)[0] == {"type": "x-fal-message", "action": "output", "inputs": []}


def test_server_stream_output_names_the_request_index() -> None:
    """Table of 15.4: every output of a server stream names the request."""
    session = opened(SessionConfig(Mode.SERVER_STREAMING), "correlation")
    sent(session)
    feed(session, text("junk"), binary({"prompt": "p"}))
    assert session.next_work() == [{"prompt": "p"}]
    session.output({"output": "p-0"})
    items = sent(session)
    assert items[0]["input_index"] == 0
    assert items[1] == {"type": "x-fal-message", "action": "output", "inputs": [1]}


def test_correlation_reports_inputs_dropped_under_buffering() -> None:
    """RT-EXT-032: a dropped frame when the input is dropped; never an error frame."""
    session = opened(SessionConfig(buffering=1), "correlation")
    sent(session)
    feed(session, binary({"prompt": "a"}), binary({"prompt": "b"}), binary({"prompt": "c"}))
    echo(session)
    assert actions(sent(session)) == ["dropped", "dropped", "output", {"output": "c"}]


# -- heartbeat (spec 15.5) -------------------------------------------------------------------
def test_heartbeat_after_an_interval_without_messages() -> None:
    """RT-EXT-040/041: a heartbeat frame and a ping once nothing was sent for the interval."""
    session = opened(SessionConfig(), "heartbeat")
    sent(session, now=0.0)
    assert session.deadline() == 1.0
    session.tick(0.9)
    assert sent(session, now=0.9) == []
    session.tick(1.0)
    items = sent(session, now=1.0)
    assert items[0] == {"type": "x-fal-message", "action": "heartbeat"}
    assert items[1][0] == PING


def test_heartbeat_counts_from_the_last_message_sent() -> None:
    session = opened(SessionConfig(), "heartbeat")
    sent(session, now=0.0)
    feed(session, binary({"prompt": "a"}), now=0.5)
    echo(session)
    sent(session, now=0.7)
    session.tick(1.0)
    assert sent(session, now=1.0) == []
    assert session.deadline() == 1.7


def test_heartbeat_pong_keeps_the_session_and_a_missing_pong_fails_it() -> None:
    """RT-EXT-041: the pong answers; without it, close 1011 one interval after the ping."""
    session = opened(SessionConfig(), "heartbeat")
    sent(session, now=0.0)
    session.tick(1.0)
    ping = sent(session, now=1.0)[1][1]
    feed(session, masked(PONG, ping), now=1.5)
    session.tick(2.0)  # the next beat, with a new ping
    second = sent(session, now=2.0)[1][1]
    assert second != ping
    assert session.deadline() == 3.0  # still open: the next beat or the pong's deadline
    session.tick(3.0)
    assert sent(session, now=3.0)[-1] == ("close", 1011)
    assert session.state is State.CLOSING


def test_heartbeat_does_not_restart_the_idle_timer() -> None:
    """RT-LIFE-005: beats and pongs leave the idle deadline alone."""
    session = opened(SessionConfig(session_timeout=2.5), "heartbeat")
    sent(session, now=0.0)
    session.tick(1.0)
    ping = sent(session, now=1.0)[1][1]
    feed(session, masked(PONG, ping), now=1.1)
    session.tick(2.5)
    assert session.state is State.ENDING


def test_no_heartbeat_without_the_extension() -> None:
    """Without `heartbeat` only the keepalive runs: a ping after 20 s, no heartbeat frame."""
    session = opened(SessionConfig(), "")
    sent(session)
    assert session.deadline() == 20.0  # RT-SEC-050's default, not the 1 s heartbeat
    session.tick(20.0)
    assert [item[0] for item in sent(session, now=20.0)] == [PING]
    assert opened(SessionConfig(), "", limits=Limits(ping_interval=0)).deadline() is None


def test_a_full_input_queue_keeps_a_heartbeat_session() -> None:
    """RT-FLOW-021 with RT-EXT-041: while the server holds reading, the pong it has not read
    may wait in its buffers, so the ping's wait starts again, as the keepalive's does. Before,
    a client busy sending into a full queue was failed with 1011 one interval after a ping."""
    session = opened(SessionConfig(), "heartbeat", limits=Limits(max_pending=4))
    sent(session, now=0.0)
    session.tick(1.0)
    ping = sent(session, now=1.0)[1][1]
    feed(session, *(binary({"prompt": str(i)}) for i in range(4)), now=1.2)
    assert session.reading_held
    for now in (2.0, 2.5, 3.0, 6.0):
        session.tick(now)
        items = sent(session, now=now)
        assert ("close", 1011) not in items, (now, items)
        assert all(item[0] != PING for item in items if isinstance(item, tuple)), items
    assert session.state is State.OPEN
    echo(session)  # the queue drains, reading resumes, and the pong is read
    feed(session, masked(PONG, ping), now=6.1)
    session.tick(7.5)
    assert ("close", 1011) not in sent(session, now=7.5)
    assert session.state is State.OPEN


def test_after_the_hold_a_missing_pong_still_fails_a_heartbeat_session() -> None:
    """RT-EXT-041: the hold pauses the pong's wait; it does not excuse a pong that never comes."""
    session = opened(SessionConfig(), "heartbeat", limits=Limits(max_pending=4))
    sent(session, now=0.0)
    session.tick(1.0)
    sent(session, now=1.0)
    feed(session, *(binary({"prompt": str(i)}) for i in range(4)), now=1.2)
    session.tick(3.0)
    echo(session)  # released at 3.0; no pong arrives from here on
    sent(session, now=3.0)
    session.tick(4.0)
    assert ("close", 1011) in sent(session, now=4.0)
