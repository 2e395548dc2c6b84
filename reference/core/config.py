"""What one session runs under: the endpoint's rules and the resource limits (spec 06-08, 12).

Plain data, kept apart from `session.py` so the rules of the state machine read on their own;
`reference.core.session` re-exports both names.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from reference.core import extensions as ext
from reference.core.codec import MAX_OBJECTS
from reference.core.inputs import MAX_PENDING, MAX_QUEUED_BYTES
from reference.core.keepalive import PING_INTERVAL, PING_TIMEOUT
from reference.core.states import Mode
from reference.core.websocket import MAX_FRAGMENTS
from reference.core.wsframes import MAX_MESSAGE


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """Per-endpoint rules (`@realtime(...)` arguments and the chosen mode)."""

    mode: Mode = Mode.UNARY
    buffering: int | None = None
    max_batch_size: int = 1
    session_timeout: float | None = None
    #: What the handshake negotiated (spec 15); the default is a 1.0 session.
    extensions: ext.Extensions = ext.OFF

    def with_extensions(self, negotiated: ext.Extensions) -> SessionConfig:
        """This endpoint's rules for a session that negotiated `negotiated` (RT-EXT-004)."""
        return self if negotiated is ext.OFF else replace(self, extensions=negotiated)

    def with_max_buffering(self, n: int | None) -> SessionConfig:
        """Apply a client's `max_buffering` as min(app buffering, n) (RT-FLOW-005, RT-TRANS-021).

        The parameter only tightens an app that declared `buffering`; an app with the
        default unbounded FIFO keeps it, so no input of a pipelining client is dropped.
        """
        if n is None or self.buffering is None or n >= self.buffering:
            return self
        return replace(self, buffering=n)


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits of one session; the seam for configurable limits."""

    max_message: int = MAX_MESSAGE  # RT-TRANS-042/044
    max_pending: int = MAX_PENDING  # RT-FLOW-021
    max_fragments: int = MAX_FRAGMENTS  # RT-SEC-011
    max_input_objects: int = MAX_OBJECTS  # RT-SEC-012 (the I/O layer's decoder applies it)
    max_queued_bytes: int = MAX_QUEUED_BYTES  # RT-SEC-013
    #: How long a finished server stream waits for inputs already in flight, so each gets
    #: its INVALID_INPUT before the end (RT-STREAM-003) instead of vanishing.
    stream_linger: float = 0.02
    #: Seconds without a byte from the client before a ping; 0: no keepalive (RT-SEC-050).
    ping_interval: float = PING_INTERVAL
    #: Seconds the ping waits for an answer before close 1011; 0: never close (RT-LIFE-012).
    ping_timeout: float = PING_TIMEOUT
