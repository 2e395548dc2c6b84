"""One realtime session from the 101 to the end, without I/O (spec 06-lifecycle, 07, 08).

`Session` takes bytes and times in and gives work and bytes out, as h11 and wsproto do. The
I/O layer feeds it received bytes (`receive_data`) and the time (`tick`), asks it for the
next unit of work (`next_work`), reports what the handler did (`output`, `handler_failed`,
`stream_finished`) and writes `data_to_send()`. The session owns every rule on the wire:
rejections become INVALID_INPUT frames in input order, handler failures INTERNAL_ERROR,
the idle timeout drains owed work and then sends TIMEOUT and close 1000, a finished server
stream lingers briefly so inputs already in flight get their error frame, and a client silent
for the ping interval is pinged and, silent on, failed with 1011 (RT-SEC-050). State names are
the spec's (6.1); `TRANSITIONS` is that table. The 1.1 extensions (chapter 15) negotiated for
the session live in `SessionConfig.extensions`; with none, no byte differs from 1.0.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from reference.core import extensions as ext
from reference.core.codec import Encoder, ProfileError, decode_input

# Re-exported: the endpoint's rules and the limits are part of the session's public face.
from reference.core.config import Limits as Limits
from reference.core.config import SessionConfig as SessionConfig
from reference.core.frames import TIMEOUT_REASON, CloseCode, ErrorCode, describe, error_frame
from reference.core.heartbeat import Heartbeat
from reference.core.inputs import InputQueue
from reference.core.keepalive import Keepalive

# Re-exported: the state table is part of the session's public face (spec 6.1).
from reference.core.states import TRANSITIONS as TRANSITIONS
from reference.core.states import Event as Event
from reference.core.states import Mode as Mode
from reference.core.states import State as State
from reference.core.websocket import CloseReceived, WebSocketEndpoint


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
        self.ext = config.extensions
        self._correlate = self.ext.correlation  # RT-EXT-030/031/032
        self._queue = InputQueue(
            config.buffering, limits.max_pending, self._correlate, limits.max_queued_bytes
        )
        self._last_input = 0.0
        self._stream_taken = False  # server-streaming: the one input is taken
        self._stream_requested = False  # server-streaming: its request is in (maybe queued)
        self._linger_until: float | None = None
        self._next_index = 0  # the input index of the next data message (spec 15.4)
        self._serving: list[int] = []  # the indexes the handler's current outputs answer
        self._input_ended = False  # end-of-input received (RT-EXT-011)
        self._end_reason = ext.COMPLETE  # the end-of-output reason (RT-EXT-020)
        self._heartbeat: Heartbeat | None = None
        self._keepalive: Keepalive | None = None  # RT-LIFE-012, when no heartbeat
        self._message_queued = False  # a message went out since the last `data_to_send`

    def _fire(self, event: Event) -> None:
        self.state = TRANSITIONS.get((self.state, event), self.state)

    # -- opening -----------------------------------------------------------------------
    def accept(self, now: float) -> None:
        """The 101 was sent: the session is OPEN and its idle timer starts (RT-LIFE-001).

        With `rt_ext` in the handshake the `hello` is queued first, before anything else
        (RT-EXT-002); without it nothing is (RT-EXT-003). The keepalive starts too, unless the
        heartbeat extension keeps the session instead (spec 15.5: one ping, not two).
        """
        self._last_input = now
        self._fire(Event.ACCEPTED)
        if self.ext.channel:
            self._send_text(ext.hello_frame(self.ext, self.config, self.limits.max_message))
            if self.ext.heartbeat:
                self._heartbeat = Heartbeat(self.ext.heartbeat_interval, now, self._ws)
        limits = self.limits
        if self._heartbeat is None and limits.ping_interval > 0:  # RT-SEC-050
            self._keepalive = Keepalive(limits.ping_interval, limits.ping_timeout, now, self._ws)

    def refuse(self) -> None:
        """The handshake was refused with an HTTP status; no session took place."""
        self._fire(Event.REFUSED)

    # -- inbound -----------------------------------------------------------------------
    def receive_data(self, data: bytes, now: float) -> None:
        """Feed received bytes: inputs are queued, control frames answered, errors closed."""
        if self._keepalive is not None:
            self._keepalive.received(now)  # any byte proves the client alive (RT-LIFE-012)
        for item in self._ws.receive_data(data):
            if type(item) is bytes:
                self.receive_binary(item, now)
            elif type(item) is str:
                self.receive_text(item, now)
            elif isinstance(item, CloseReceived):
                self._closed_by_peer()
        if self._heartbeat is not None:
            self._heartbeat.read_pongs()
        if self._ws.close_sent and self.state in (State.OPEN, State.ENDING):
            self._fire(Event.CLOSE_SENT)  # a framing error: 1002, 1007 or 1009

    def _index(self) -> int | None:
        """Number one data message (spec 15.4); None when `correlation` is off."""
        if not self._correlate:
            return None
        self._next_index += 1
        return self._next_index - 1

    def receive_binary(self, data: bytes, now: float) -> None:
        """Decode, validate and queue one binary message (an input or a rejection)."""
        self._last_input = now
        index = self._index()
        state = self.state
        if state is not State.OPEN or self._stream_taken:
            if state is State.ENDING or (state is State.OPEN and self._stream_taken):
                late = ext.AFTER_END_OF_INPUT if self._input_ended else DRAINING_INPUT
                reason = EXTRA_STREAM_INPUT if self._stream_taken else late
                self._queue.add_rejection(reason, index)
            return
        try:
            value: Any = self._decode(data)
            if self._validate is not None:
                value = self._validate(value)
        except (ProfileError, InvalidInput) as exc:
            self._queue.add_rejection(exc.reason, index)
            return
        except Exception:  # a validator bug must not end the session
            self._queue.add_rejection("the input failed validation", index)
            return
        # An index only with correlation; the size bounds the queue in bytes (RT-SEC-013).
        dropped = self._queue.add_input(value, index or 0, len(data))
        self._stream_requested = self.config.mode is Mode.SERVER_STREAMING
        if dropped is not None:
            self._send_text(ext.dropped_frame([dropped]))  # RT-EXT-032

    def receive_text(self, text: str, now: float) -> None:
        """A text frame on a realtime endpoint is a rejected input (RT-MSG-011).

        With `end-of-input` on, the first end-of-input frame ends the input stream instead
        (RT-EXT-011); it is no data message, so it neither restarts the idle timer nor takes
        an input index. Any other text frame, a second end-of-input included, is rejected
        (RT-EXT-012).
        """
        if self.ext.end_of_input and ext.is_end_of_input(text) and not self._input_ended:
            self._end_of_input()
            return
        self._last_input = now
        index = self._index()
        if self.state in (State.OPEN, State.ENDING):
            again = self._input_ended and ext.is_end_of_input(text)
            self._queue.add_rejection(ext.SECOND_END_OF_INPUT if again else TEXT_REJECTED, index)

    def _end_of_input(self) -> None:
        """The client's inputs are over: serve what came, then end (RT-EXT-011).

        Arrival order decides: after a server stream's request (taken, or still queued from the
        same read) it changes nothing, and the stream ends with its handler (`complete`)."""
        self._input_ended = True
        if self.state is State.OPEN and not self._stream_requested:
            self._end_reason = ext.ENDED_BY_INPUT
            self._fire(Event.END_OF_INPUT)

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
            self._send_error(ErrorCode.INVALID_INPUT, rejected.reason, rejected.index)
        if self._stream_taken or self.state not in (State.OPEN, State.ENDING):
            return None
        mode = self.config.mode
        if mode is Mode.SERVER_STREAMING:
            batch = queue.take_batch(1)
            if batch:
                self._stream_taken = True  # RT-STREAM-002: one input per connection
                self._serving = queue.last_indexes
                queue.reject_inputs(EXTRA_STREAM_INPUT)
            return batch or None
        batch = queue.take_batch(self.config.max_batch_size)
        if mode is Mode.UNARY:
            self._serving = queue.last_indexes  # spec 15.4: streams of inputs tag `[]`
        return batch or None

    @property
    def inputs_done(self) -> bool:
        """No input will be served any more (the session is ending or closed)."""
        state = self.state
        return state is not State.OPEN and (state is not State.ENDING or not self._queue)

    def output(self, value: Any) -> None:
        """Send one output of the handler (msgpack, binary frame); raises if it cannot encode.

        With `correlation` on an `output` frame naming its inputs goes right before it
        (RT-EXT-031).
        """
        data = self._encode(value)
        if self._correlate:
            self._send_text(ext.output_frame(self._serving))
        self._message_queued = True
        self._ws.send_binary(data)

    def handler_failed(self, exc: BaseException) -> None:
        """The handler raised (or its output did not encode).

        Unary: this input gets INTERNAL_ERROR and the session goes on (RT-CTRL-015/016).
        Streaming: INTERNAL_ERROR, then the session ends with close 1000 (RT-STREAM-007).
        With `correlation` on, each input of a failed unary batch gets its own frame with its
        `input_index` (RT-EXT-030), as does a server stream's request.
        """
        reason = describe(exc)
        mode = self.config.mode
        answered = self._serving if mode in (Mode.UNARY, Mode.SERVER_STREAMING) else []
        for index in answered if self._correlate and answered else [None]:
            self._send_error(ErrorCode.INTERNAL_ERROR, reason, index)
        if mode is not Mode.UNARY and self.state in (State.OPEN, State.ENDING):
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
        for rejected in self._queue.take_all(ENDED_BEFORE_SERVED):
            self._send_error(ErrorCode.INVALID_INPUT, rejected.reason, rejected.index)
        if send_timeout:
            if self.ext.end_of_output:  # RT-EXT-020: in place of TIMEOUT
                self._send_text(ext.end_of_output_frame(self._end_reason))
            else:
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
        """When `tick` has something to do (idle end, linger, heartbeat, keepalive), or None."""
        own = self._end_deadline()
        if self.state is not State.OPEN and self.state is not State.ENDING:
            return own
        heartbeat, keepalive = self._heartbeat, self._keepalive
        if heartbeat is not None:
            beat = heartbeat.deadline()
        elif keepalive is not None:
            beat = keepalive.deadline()
        else:
            return own
        return beat if own is None or beat < own else own

    def _end_deadline(self) -> float | None:
        state = self.state
        if self._linger_until is not None and state in (State.OPEN, State.ENDING):
            return self._linger_until  # a stream's linger ends the session in ENDING too
        if state is not State.OPEN:
            return None
        timeout = self.config.session_timeout
        if timeout is None or self._stream_taken:
            return None
        return self._last_input + timeout

    def tick(self, now: float) -> None:
        """Apply the time: idle end (RT-LIFE-001), linger, heartbeat or keepalive (1011)."""
        if self.state is State.OPEN or self.state is State.ENDING:
            heartbeat, keepalive = self._heartbeat, self._keepalive
            lost = False
            held = self._queue.held  # a held queue (RT-FLOW-021) keeps the pong unread
            if heartbeat is not None:
                lost = heartbeat.apply(now, held=held)
            elif keepalive is not None:
                lost = keepalive.apply(now, held=held)
            if lost:
                self._queue.clear()
                self._fire(Event.CLOSE_SENT)
        deadline = self._end_deadline()
        if deadline is None or now < deadline:
            return
        if self._linger_until is not None:
            self._fire(Event.STREAM_FINISHED)
            self._end(send_timeout=True)
        else:
            self._end_reason = ext.IDLE_TIMEOUT
            self._fire(Event.IDLE_TIMEOUT)  # queued work is still served (RT-LIFE-002)

    # -- outbound ----------------------------------------------------------------------
    def _send_error(self, code: str, reason: str, index: int | None = None) -> None:
        self._message_queued = True
        self._ws.send_text(error_frame(code, reason, index))

    def _send_text(self, text: str) -> None:
        self._message_queued = True
        self._ws.send_text(text)

    @property
    def close_sent(self) -> bool:
        """Our close frame is out: the I/O layer bounds the wait for the peer's answer."""
        return self._ws.close_sent

    def data_to_send(self, now: float | None = None) -> list[bytes]:
        """Bytes to write, in order; an empty chunk means half-close TCP.

        `now` (when the bytes leave) lets the heartbeat count from the last message sent."""
        if self._message_queued:
            self._message_queued = False
            if now is not None and self._heartbeat is not None:
                self._heartbeat.message_sent(now)
        return self._ws.data_to_send()
