"""Session rules of a realtime endpoint (spec chapters 06-lifecycle, 07-flow-control, 08-streaming).

A `Session` is a sans-I/O state machine: the I/O layer feeds it received messages and the
current time, asks it for the next unit of work (a batch of inputs or a rejection to report)
and for the session's end. It never touches a socket and never reads a clock.

Rules it encodes:
- queueing: unbounded FIFO by default; `buffering=N` keeps the N latest pending inputs and
  drops the oldest (latest wins);
- batching: up to `max_batch_size` consecutive pending inputs form one unit of work;
- ordering: a rejected input becomes an item in the same queue, so the outputs of inputs
  accepted before it are delivered before its error frame (robust profile);
- session timeout: the time since the last received message; when it passes, the session
  drains (queued work is still served) and then ends with TIMEOUT;
- server-streaming: one input per connection; later inputs are each rejected after the stream.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reference.core.codec import ProfileError, decode_input


class Mode(enum.Enum):
    """Realtime modes, chosen from the handler's annotations as fal does."""

    UNARY = "unary"
    SERVER_STREAMING = "server_streaming"
    CLIENT_STREAMING = "client_streaming"
    BIDI = "bidi"


class State(enum.Enum):
    """Where a session is in its life."""

    OPEN = "open"  # accepting inputs
    STREAMING = "streaming"  # server-streaming: the one input is taken
    DRAINING = "draining"  # no more inputs; queued work is finished, then TIMEOUT
    CLOSED = "closed"


class Event(enum.Enum):
    """What can happen to a session (the columns of the transition table)."""

    INPUT = "input"  # an input was accepted
    FIRST_STREAM_INPUT = "first_stream_input"  # server-streaming took its one input
    IDLE_TIMEOUT = "idle_timeout"
    INPUT_CLOSED = "input_closed"  # no more inputs can arrive (client-streaming iterator end)
    END = "end"  # the I/O layer sent the end of the session
    CLOSED_BY_PEER = "closed_by_peer"


# The readable transition table; a pair that is absent leaves the state unchanged.
TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.OPEN, Event.FIRST_STREAM_INPUT): State.STREAMING,
    (State.OPEN, Event.IDLE_TIMEOUT): State.DRAINING,
    (State.OPEN, Event.INPUT_CLOSED): State.DRAINING,
    (State.STREAMING, Event.INPUT_CLOSED): State.DRAINING,
    (State.OPEN, Event.END): State.CLOSED,
    (State.STREAMING, Event.END): State.CLOSED,
    (State.DRAINING, Event.END): State.CLOSED,
    (State.OPEN, Event.CLOSED_BY_PEER): State.CLOSED,
    (State.STREAMING, Event.CLOSED_BY_PEER): State.CLOSED,
    (State.DRAINING, Event.CLOSED_BY_PEER): State.CLOSED,
}


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """Per-endpoint rules (`@realtime(...)` arguments and the chosen mode)."""

    mode: Mode = Mode.UNARY
    buffering: int | None = None
    max_batch_size: int = 1
    session_timeout: float | None = None

    def with_max_buffering(self, n: int | None) -> SessionConfig:
        """Apply a client's `max_buffering` as min(app buffering, n) (RT-FLOW-005, RT-TRANS-021).

        The parameter only tightens an app that declared `buffering`; an app with the
        default unbounded FIFO keeps it, so no input of a pipelining client is dropped.
        """
        if n is None or self.buffering is None or n >= self.buffering:
            return self
        return SessionConfig(self.mode, n, self.max_batch_size, self.session_timeout)


@dataclass(frozen=True, slots=True)
class Rejected:
    """An input the session refused; reported as an INVALID_INPUT error frame in order."""

    reason: str


class InvalidInput(ValueError):
    """Raised by an app's validation hook; `reason` goes to the client as is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Validator = Callable[[dict[str, Any]], Any]

TEXT_REJECTED = "text frames are not inputs; send each input as a binary msgpack map"
EXTRA_STREAM_INPUT = (
    "a server-streaming endpoint takes one input per connection; "
    "open a new connection for the next input"
)
DRAINING_INPUT = "the session is ending (idle timeout); reconnect and send the input again"


class Session:
    """The rules of one realtime session, fed with messages and times by the I/O layer."""

    __slots__ = (
        "_deadline",
        "_decode",
        "_inputs",
        "_last_input",
        "_queue",
        "_validate",
        "config",
        "state",
    )

    def __init__(
        self,
        config: SessionConfig,
        validate: Validator | None = None,
        now: float = 0.0,
        decode: Callable[[bytes], Any] = decode_input,
    ) -> None:
        self.config = config
        self.state = State.OPEN
        self._validate = validate
        self._decode = decode  # the msgpack profile, or the app's decode_message
        self._queue: deque[Any] = deque()  # validated inputs and Rejected items, in order
        self._inputs = 0  # how many queue items are inputs (for latest-wins buffering)
        self._last_input = now

    def _fire(self, event: Event) -> None:
        self.state = TRANSITIONS.get((self.state, event), self.state)

    # -- inbound ---------------------------------------------------------------------
    def receive_binary(self, data: bytes, now: float) -> None:
        """Decode, validate and queue one binary message (an input or a rejection)."""
        self._last_input = now
        state = self.state
        if state is not State.OPEN:
            if state is not State.CLOSED:
                reason = EXTRA_STREAM_INPUT if state is State.STREAMING else DRAINING_INPUT
                self._queue.append(Rejected(reason))
            return
        try:
            value: Any = self._decode(data)
            if self._validate is not None:
                value = self._validate(value)
        except (ProfileError, InvalidInput) as exc:
            self._queue.append(Rejected(exc.reason))
            return
        except Exception:  # a validator bug must not end the session
            self._queue.append(Rejected("the input failed validation"))
            return
        self._queue.append(value)
        self._inputs += 1
        buffering = self.config.buffering
        # RT-FLOW-003: latest wins; RT-FLOW-004: a dropped input gets no error frame.
        if buffering is not None and self._inputs > buffering:
            self._drop_oldest_input()

    def receive_text(self, text: str, now: float) -> None:
        """A text frame on a realtime endpoint is a rejected input (RT-MSG-011)."""
        self._last_input = now
        if self.state is not State.CLOSED:
            self._queue.append(Rejected(TEXT_REJECTED))

    def _drop_oldest_input(self) -> None:
        for i, item in enumerate(self._queue):
            if type(item) is not Rejected:
                del self._queue[i]
                self._inputs -= 1
                return

    # -- work ------------------------------------------------------------------------
    def next_work(self) -> list[Any] | Rejected | None:
        """Take the next unit of work: a batch of inputs, a rejection, or None (nothing yet)."""
        queue = self._queue
        if not queue:
            return None
        first = queue.popleft()
        if type(first) is Rejected:
            return first
        self._inputs -= 1
        batch = [first]
        if self.config.mode is Mode.SERVER_STREAMING:
            self._fire(Event.FIRST_STREAM_INPUT)
            self._reject_queued_inputs()
            return batch
        limit = self.config.max_batch_size
        while len(batch) < limit and queue and type(queue[0]) is not Rejected:
            nxt = queue[0]
            can_batch = getattr(first, "can_batch", None)
            if can_batch is not None and not can_batch(nxt, len(batch)):
                break
            batch.append(queue.popleft())
            self._inputs -= 1
        return batch

    def _reject_queued_inputs(self) -> None:
        """Inputs behind a server-streaming input are each rejected (RT-STREAM-002/003)."""
        self._queue = deque(
            item if type(item) is Rejected else Rejected(EXTRA_STREAM_INPUT) for item in self._queue
        )
        self._inputs = 0

    @property
    def pending(self) -> int:
        """Items waiting (inputs and rejections)."""
        return len(self._queue)

    @property
    def has_work(self) -> bool:
        """Whether `next_work` would return something."""
        return bool(self._queue)

    # -- time ------------------------------------------------------------------------
    def deadline(self) -> float | None:
        """When the idle timeout passes if no message arrives (None: never)."""
        timeout = self.config.session_timeout
        if timeout is None or self.state is not State.OPEN:
            return None
        return self._last_input + timeout

    def check_timeout(self, now: float) -> float | None:
        """Apply the idle timeout at time `now`; return the next deadline to check, if any."""
        deadline = self.deadline()
        if deadline is None:
            return None
        if now < deadline:
            return deadline
        self._fire(Event.IDLE_TIMEOUT)
        return None

    # -- end -------------------------------------------------------------------------
    def close_input(self) -> None:
        """No more inputs will be taken (streaming input ended)."""
        self._fire(Event.INPUT_CLOSED)

    @property
    def finished(self) -> bool:
        """Draining and nothing left to do: time to send TIMEOUT and close."""
        return self.state is State.DRAINING and not self._queue

    def end(self) -> None:
        """The I/O layer sent the session's end (TIMEOUT + 1000, or an error + 1000)."""
        self._fire(Event.END)

    def peer_closed(self) -> None:
        """The client closed; pending work is discarded."""
        self._fire(Event.CLOSED_BY_PEER)
        self._queue.clear()
        self._inputs = 0
