"""The 1.1 extension channel, without I/O (spec chapter 15-extensions).

A client opts in with the query parameter `rt_ext` (RT-EXT-001); the server answers with a
`hello` x-fal-message as its first message (RT-EXT-002/004) that names the extensions it
enabled: the offered tokens it implements, in the client's order. With no `rt_ext` nothing of
this module reaches the wire (RT-EXT-003), so a 1.0 session stays byte for byte 1.0's. This
module holds the negotiation and the frame texts; `Session` decides when to send them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reference.core.frames import MESSAGE_TYPE

if TYPE_CHECKING:
    from reference.core.session import SessionConfig

#: The protocol version a `hello` announces (RT-EXT-004, spec 15.6).
VERSION = "1.1"
#: The query parameter that opts in (RT-EXT-001).
QUERY_PARAMETER = "rt_ext"

END_OF_INPUT = "end-of-input"
END_OF_OUTPUT = "end-of-output"
CORRELATION = "correlation"
HEARTBEAT = "heartbeat"
#: The extension tokens the reference implements (the registry of spec 15.7).
TOKENS = (END_OF_INPUT, END_OF_OUTPUT, CORRELATION, HEARTBEAT)

#: A server's default `heartbeat_interval` in seconds (spec 15.5: at least 1; 15 is a good value).
HEARTBEAT_INTERVAL = 15.0

#: The `reason` values of an end-of-output frame (spec 15.3).
COMPLETE = "complete"
IDLE_TIMEOUT = "idle-timeout"
ENDED_BY_INPUT = "end-of-input"


def _compact(obj: dict[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class Extensions:
    """What one session negotiated; `Extensions()` (the default) is a 1.0 session.

    Attributes:
        channel: the handshake carried `rt_ext`, so a `hello` is owed (RT-EXT-002).
        enabled: the tokens on for the session, in the client's order (RT-EXT-004).
        heartbeat_interval: seconds between heartbeats when `heartbeat` is on (RT-EXT-040).
    """

    channel: bool = False
    enabled: tuple[str, ...] = ()
    heartbeat_interval: float = HEARTBEAT_INTERVAL

    @property
    def end_of_input(self) -> bool:
        return END_OF_INPUT in self.enabled

    @property
    def end_of_output(self) -> bool:
        return END_OF_OUTPUT in self.enabled

    @property
    def correlation(self) -> bool:
        return CORRELATION in self.enabled

    @property
    def heartbeat(self) -> bool:
        return HEARTBEAT in self.enabled


OFF = Extensions()


def negotiate(query: dict[str, str], heartbeat_interval: float = HEARTBEAT_INTERVAL) -> Extensions:
    """The extensions of a session from its handshake query (RT-EXT-001/005).

    No `rt_ext` means no channel at all (RT-EXT-003). Unknown tokens, empty items and
    repeats are ignored, never refused (RT-EXT-005); the known ones keep the client's order.
    """
    raw = query.get(QUERY_PARAMETER)
    if raw is None:
        return OFF
    enabled: list[str] = []
    for item in raw.split(","):
        token = item.strip()
        if token in TOKENS and token not in enabled:
            enabled.append(token)
    return Extensions(True, tuple(enabled), heartbeat_interval)


#: Spec 15.1 spells the modes with hyphens (and `bidirectional`).
MODE_NAMES = {
    "unary": "unary",
    "server_streaming": "server-streaming",
    "client_streaming": "client-streaming",
    "bidi": "bidirectional",
}


def hello_frame(negotiated: Extensions, config: SessionConfig, max_message: int) -> str:
    """The `hello` x-fal-message for a session of `config` (RT-EXT-004, table of 15.1)."""
    hello: dict[str, Any] = {
        "type": MESSAGE_TYPE,
        "action": "hello",
        "version": VERSION,
        "extensions": list(negotiated.enabled),
        "mode": MODE_NAMES[config.mode.value],
        "limits": {
            "max_message_bytes": max_message,
            "session_timeout": config.session_timeout,
            "buffering": config.buffering,  # max_buffering applied, if sent
            "max_batch_size": config.max_batch_size,
        },
    }
    if negotiated.heartbeat:
        hello["heartbeat_interval"] = negotiated.heartbeat_interval
    return _compact(hello)


def end_of_output_frame(reason: str) -> str:
    """The normal end of a session with `end-of-output` on (RT-EXT-020)."""
    return _compact({"type": MESSAGE_TYPE, "action": END_OF_OUTPUT, "reason": reason})


def output_frame(inputs: list[int]) -> str:
    """The tag sent right before an output with `correlation` on (RT-EXT-031)."""
    return _compact({"type": MESSAGE_TYPE, "action": "output", "inputs": inputs})


def dropped_frame(inputs: list[int]) -> str:
    """The notice for inputs dropped under `buffering` with `correlation` on (RT-EXT-032)."""
    return _compact({"type": MESSAGE_TYPE, "action": "dropped", "inputs": inputs})


#: Reasons of INVALID_INPUT after end-of-input (RT-LIFE-009, RT-EXT-012).
AFTER_END_OF_INPUT = "the input stream ended (end-of-input); open a new session for more inputs"
SECOND_END_OF_INPUT = "end-of-input was already received on this session"

HEARTBEAT_FRAME = _compact({"type": MESSAGE_TYPE, "action": HEARTBEAT})
END_OF_INPUT_FRAME = _compact({"type": MESSAGE_TYPE, "action": END_OF_INPUT})


def is_end_of_input(text: str) -> bool:
    """Whether a text message is an end-of-input frame (RT-EXT-012): a JSON object whose
    `type` is x-fal-message and whose `action` is end-of-input (whitespace and member order free).
    """
    if "end-of-input" not in text:  # the common rejected text frame costs no JSON parse
        return False
    try:
        obj = json.loads(text)
    except ValueError:
        return False
    return (
        type(obj) is dict and obj.get("type") == MESSAGE_TYPE and obj.get("action") == END_OF_INPUT
    )
