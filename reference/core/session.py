"""One realtime session from the 101 to the end, without I/O (spec 06-lifecycle, 07, 08).

`Session` takes bytes and times in and gives work and bytes out, as h11 and wsproto do. The
I/O layer feeds it received bytes (`receive_data`) and the time (`tick`), asks it for the
next unit of work (`next_work`), reports what the handler did (`output`, `handler_failed`,
`stream_finished`) and writes `data_to_send()`. The session owns every rule on the wire:
rejections become INVALID_INPUT frames in input order, handler failures INTERNAL_ERROR,
the idle timeout drains owed work and then sends TIMEOUT and close 1000, a finished server
stream lingers briefly so inputs already in flight get their error frame. State names are
the spec's (6.1); `TRANSITIONS` is that table.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reference.core.codec import MAX_OBJECTS, Encoder, ProfileError, decode_input
from reference.core.frames import TIMEOUT_REASON, CloseCode, ErrorCode, describe, error_frame
from reference.core.inputs import MAX_PENDING, MAX_QUEUED_BYTES, InputQueue, Rejected
from reference.core.websocket import MAX_FRAGMENTS, CloseReceived, WebSocketEndpoint
from reference.core.wsframes import MAX_MESSAGE


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


class InvalidInput(ValueError):
    """Raised by an app's validation hook; `reason` goes to the client as is."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RequestedFailure(RuntimeError):
    """A handler failure the client asked for (the conformance app's `fail: true`).

    Reported to the client as INTERNAL_ERROR like any failure; the server logs it as one
    line, not a traceback, since nothing on the server is broken.
    """


Validator = Callable[[dict[str, Any]], Any]
OutputEncoder = Callable[[Any], bytes]

TEXT_REJECTED = "text frames are not inputs; send each input as a binary msgpack map"
EXTRA_STREAM_INPUT = (
    "a server-streaming endpoint takes one input per connection; "
    "open a new connection for the next input"
)
DRAINING_INPUT = "the session is ending (idle timeout); reconnect and send the input again"
ENDED_BEFORE_SERVED = "the session ended before this input was served; send it on a new connection"


class Session:
    """The rules of one realtime session, fed with bytes and times by the I/O layer."""

    def __init__(
        self,
        config: SessionConfig,
        validate: Validator | None = None,
        encode_output: OutputEncoder | None = None,
        limits: Limits | None = None,
        decode_input: Callable[[bytes], Any] = decode_input,
    ) -> None:
        self.config = config
        self.limits = limits or Limits()
        self.state = State.CONNECTING
        self._validate = validate
        self._encode = encode_output or Encoder().encode
        self._decode = decode_input  # the msgpack profile, or the app's decode_message
        limits = self.limits
        self._ws = WebSocketEndpoint(limits.max_message, limits.max_fragments)
        self._queue = InputQueue(config.buffering, limits.max_pending, limits.max_queued_bytes)
        self._last_input = 0.0
        self._stream_taken = False  # server-streaming: the one input is taken
        self._linger_until: float | None = None

    def _fire(self, event: Event) -> None:
        self.state = TRANSITIONS.get((self.state, event), self.state)

    # -- opening -----------------------------------------------------------------------
    def accept(self, now: float) -> None:
        """The 101 was sent: the session is OPEN and its idle timer starts (RT-LIFE-001)."""
        self._last_input = now
        self._fire(Event.ACCEPTED)

    def refuse(self) -> None:
        """The handshake was refused with an HTTP status; no session took place."""
        self._fire(Event.REFUSED)

    # -- inbound -----------------------------------------------------------------------
    def receive_data(self, data: bytes, now: float) -> None:
        """Feed received bytes: inputs are queued, control frames answered, errors closed."""
        for item in self._ws.receive_data(data):
            if type(item) is bytes:
                self.receive_binary(item, now)
            elif type(item) is str:
                self.receive_text(item, now)
            elif isinstance(item, CloseReceived):
                self._closed_by_peer()
        if self._ws.close_sent and self.state in (State.OPEN, State.ENDING):
            self._fire(Event.CLOSE_SENT)  # a framing error: 1002, 1007 or 1009

    def receive_binary(self, data: bytes, now: float) -> None:
        """Decode, validate and queue one binary message (an input or a rejection)."""
        self._last_input = now
        state = self.state
        if state is not State.OPEN or self._stream_taken:
            if state is State.ENDING or (state is State.OPEN and self._stream_taken):
                reason = EXTRA_STREAM_INPUT if self._stream_taken else DRAINING_INPUT
                self._queue.add_rejection(reason)
            return
        try:
            value: Any = self._decode(data)
            if self._validate is not None:
                value = self._validate(value)
        except (ProfileError, InvalidInput) as exc:
            self._queue.add_rejection(exc.reason)
            return
        except Exception:  # a validator bug must not end the session
            self._queue.add_rejection("the input failed validation")
            return
        self._queue.add_input(value, len(data))

    def receive_text(self, text: str, now: float) -> None:
        """A text frame on a realtime endpoint is a rejected input (RT-MSG-011)."""
        self._last_input = now
        if self.state in (State.OPEN, State.ENDING):
            self._queue.add_rejection(TEXT_REJECTED)

    def _closed_by_peer(self) -> None:
        """The client closed: answered already; pending work is discarded (RT-LIFE-025)."""
        self._queue.clear()
        self._fire(Event.CLOSE_RECEIVED)
        self._fire(Event.HANDSHAKE_DONE)

    def receive_eof(self) -> None:
        """The client half-closed TCP: nothing more will arrive."""
        self._ws.receive_eof()
        self.connection_lost()

    def connection_lost(self) -> None:
        """TCP is gone: discard pending inputs and outputs."""
        self._queue.clear()
        self._fire(Event.CONNECTION_LOST)

    @property
    def reading_held(self) -> bool:
        """Whether the I/O layer should stop reading (too many inputs wait, RT-FLOW-021)."""
        return self._queue.held

    @property
    def pending(self) -> int:
        """Items waiting (inputs and rejections)."""
        return len(self._queue)

    # -- work --------------------------------------------------------------------------
    def next_work(self) -> list[Any] | None:
        """The next batch of inputs for the handler, or None: nothing to do now.

        Rejections at the head of the queue are sent as INVALID_INPUT on the way, so every
        error frame follows the outputs of the inputs before it (RT-CTRL-011, RT-ERR-004).
        None with `inputs_done` set means no more work will come.
        """
        queue = self._queue
        while (rejected := queue.take_rejection()) is not None:
            self._send_error(ErrorCode.INVALID_INPUT, rejected.reason)
        if self._stream_taken or self.state not in (State.OPEN, State.ENDING):
            return None
        if self.config.mode is Mode.SERVER_STREAMING:
            batch = queue.take_batch(1)
            if batch:
                self._stream_taken = True  # RT-STREAM-002: one input per connection
                queue.reject_inputs(EXTRA_STREAM_INPUT)
            return batch or None
        return queue.take_batch(self.config.max_batch_size) or None

    @property
    def inputs_done(self) -> bool:
        """No input will be served any more (the session is ending or closed)."""
        state = self.state
        return state is not State.OPEN and (state is not State.ENDING or not self._queue)

    def output(self, value: Any) -> None:
        """Send one output of the handler (msgpack, binary frame); raises if it cannot encode."""
        data = self._encode(value)
        self._ws.send_binary(data)

    def handler_failed(self, exc: BaseException) -> None:
        """The handler raised (or its output did not encode).

        Unary: this input gets INTERNAL_ERROR and the session goes on (RT-CTRL-015/016).
        Streaming: INTERNAL_ERROR, then the session ends with close 1000 (RT-STREAM-007).
        """
        self._send_error(ErrorCode.INTERNAL_ERROR, describe(exc))
        if self.config.mode is not Mode.UNARY and self.state in (State.OPEN, State.ENDING):
            self._fire(Event.HANDLER_FAILED)
            self._end(send_timeout=False)

    def stream_finished(self, now: float) -> None:
        """The streaming handler returned; end the session (TIMEOUT, close 1000).

        A server stream first lingers for `stream_linger` so inputs already on the wire are
        each rejected before the end (RT-STREAM-003); `tick` ends it afterwards.
        """
        if self.config.mode is Mode.SERVER_STREAMING and self._stream_taken:
            self._linger_until = now + self.limits.stream_linger
            return
        self._fire(Event.STREAM_FINISHED)
        self.end()

    def end(self) -> None:
        """End normally: owed rejections, TIMEOUT, close 1000 (RT-CTRL-017, RT-LIFE-020)."""
        if self.state in (State.OPEN, State.ENDING):
            self._fire(Event.STREAM_FINISHED)
            self._end(send_timeout=True)

    def _end(self, *, send_timeout: bool) -> None:
        for item in self._queue.take_all():
            reason = item.reason if type(item) is Rejected else ENDED_BEFORE_SERVED
            self._send_error(ErrorCode.INVALID_INPUT, reason)
        if send_timeout:
            self._send_error(ErrorCode.TIMEOUT, TIMEOUT_REASON)
        self._ws.send_close(CloseCode.NORMAL)
        self._fire(Event.END_SENT)

    def shutdown(self) -> None:
        """The server is stopping: close with 1001 (RT-LIFE-021)."""
        if self.state in (State.OPEN, State.ENDING):
            self._ws.send_close(CloseCode.GOING_AWAY, "server shutdown")
            self._fire(Event.CLOSE_SENT)

    # -- time --------------------------------------------------------------------------
    def deadline(self) -> float | None:
        """When `tick` has something to do (idle timeout or end of a linger), or None."""
        if self.state is not State.OPEN:
            return None
        if self._linger_until is not None:
            return self._linger_until
        timeout = self.config.session_timeout
        if timeout is None or self._stream_taken:
            return None
        return self._last_input + timeout

    def tick(self, now: float) -> None:
        """Apply the time: the idle timeout (RT-LIFE-001) or the end of a stream's linger."""
        deadline = self.deadline()
        if deadline is None or now < deadline:
            return
        if self._linger_until is not None:
            self._fire(Event.STREAM_FINISHED)
            self._end(send_timeout=True)
        else:
            self._fire(Event.IDLE_TIMEOUT)  # queued work is still served (RT-LIFE-002)

    # -- outbound ----------------------------------------------------------------------
    def _send_error(self, code: str, reason: str) -> None:
        self._ws.send_text(error_frame(code, reason))

    @property
    def close_sent(self) -> bool:
        """Our close frame is out: the I/O layer bounds the wait for the peer's answer."""
        return self._ws.close_sent

    def data_to_send(self) -> list[bytes]:
        """Bytes to write, in order; an empty chunk means half-close TCP."""
        return self._ws.data_to_send()
