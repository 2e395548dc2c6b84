"""The session states of spec 6.1 and the events that move a session between them.

`TRANSITIONS` is the spec's table as data; `Session` (session.py) fires the events. `Mode` is
the realtime mode an endpoint's handler declares (spec 08-streaming).
"""

from __future__ import annotations

import enum


class Mode(enum.Enum):
    """Realtime modes, chosen from the handler's annotations as fal does."""

    UNARY = "unary"
    SERVER_STREAMING = "server_streaming"
    CLIENT_STREAMING = "client_streaming"
    BIDI = "bidi"


class State(enum.Enum):
    """The session states of spec 6.1."""

    CONNECTING = "CONNECTING"
    OPEN = "OPEN"
    ENDING = "ENDING"
    CLOSING = "CLOSING"
    CLOSED = "CLOSED"


class Event(enum.Enum):
    """What moves a session between states (the "Leaves to" column of spec 6.1)."""

    ACCEPTED = "101 sent"
    REFUSED = "refused with an HTTP status"
    IDLE_TIMEOUT = "idle timeout"
    STREAM_FINISHED = "stream finished"
    END_OF_INPUT = "end-of-input received"
    HANDLER_FAILED = "fatal error"
    CLOSE_RECEIVED = "close frame received"
    CLOSE_SENT = "close frame sent (1001, 1002, 1007, 1008, 1009)"
    END_SENT = "close 1000 sent after the final error frame"
    HANDSHAKE_DONE = "closing handshake done"
    CONNECTION_LOST = "connection lost"


#: Spec 6.1 as a table; an absent pair leaves the state unchanged.
TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.CONNECTING, Event.ACCEPTED): State.OPEN,
    (State.CONNECTING, Event.REFUSED): State.CLOSED,
    (State.OPEN, Event.IDLE_TIMEOUT): State.ENDING,  # RT-LIFE-001
    (State.OPEN, Event.STREAM_FINISHED): State.ENDING,  # RT-STREAM-003
    (State.OPEN, Event.END_OF_INPUT): State.ENDING,  # RT-EXT-011
    (State.OPEN, Event.HANDLER_FAILED): State.ENDING,  # RT-STREAM-007
    (State.OPEN, Event.CLOSE_RECEIVED): State.CLOSING,  # RT-LIFE-024
    (State.OPEN, Event.CLOSE_SENT): State.CLOSING,  # RT-LIFE-021/022, RT-TRANS-044
    (State.OPEN, Event.CONNECTION_LOST): State.CLOSED,
    (State.ENDING, Event.END_SENT): State.CLOSING,  # RT-CTRL-017, RT-LIFE-020
    (State.ENDING, Event.CLOSE_RECEIVED): State.CLOSING,
    (State.ENDING, Event.CLOSE_SENT): State.CLOSING,
    (State.ENDING, Event.CONNECTION_LOST): State.CLOSED,
    (State.CLOSING, Event.HANDSHAKE_DONE): State.CLOSED,
    (State.CLOSING, Event.CONNECTION_LOST): State.CLOSED,
}
