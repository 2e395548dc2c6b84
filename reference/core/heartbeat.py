"""The server side of the `heartbeat` extension, without I/O (spec 15.5).

A `heartbeat` frame, with a ping, goes out whenever the session has sent no message for
`interval` seconds (RT-EXT-040); a ping whose pong has not come back within `interval` means a
half-open connection, which the session fails with close 1011 (RT-EXT-041). Heartbeats, pings
and pongs never touch the idle timer (RT-LIFE-005): that one counts received data messages only.
While the server itself holds reading the pong's wait is paused, as the keepalive's is.
"""

from __future__ import annotations

import enum

from reference.core.extensions import HEARTBEAT_FRAME
from reference.core.frames import CloseCode
from reference.core.websocket import WebSocketEndpoint


class Beat(enum.Enum):
    """What `Heartbeat.due` asks the session to do now."""

    NOTHING = "nothing"
    SEND = "send a heartbeat frame and a ping"
    LOST = "fail the connection with 1011: the pong did not come back"


class Heartbeat:
    """When to beat and whether the peer still answers; times are passed in."""

    __slots__ = ("_count", "_ping", "_ping_sent_at", "_ws", "interval", "last_message_at")

    def __init__(self, interval: float, now: float, ws: WebSocketEndpoint) -> None:
        self.interval = interval
        self._ws = ws
        ws.pongs = []  # the endpoint keeps pong payloads only for a heartbeat
        self.last_message_at = now  # the last message the session sent (RT-EXT-040)
        self._ping: bytes | None = None  # payload of the ping still waiting for its pong
        self._ping_sent_at = 0.0
        self._count = 0

    def message_sent(self, now: float) -> None:
        """A message (not a control frame) left: the next beat is due one interval later."""
        self.last_message_at = now

    def pong_received(self, payload: bytes) -> None:
        """A pong with the payload of our outstanding ping answers it (RT-EXT-041)."""
        if payload == self._ping:
            self._ping = None

    def read_pongs(self) -> None:
        """Take the pongs the endpoint received since the last call."""
        pongs = self._ws.pongs
        if pongs:
            for payload in pongs:
                self.pong_received(payload)
            pongs.clear()

    def apply(self, now: float, held: bool = False) -> bool:
        """Send what is due at `now`; True when the connection was failed with 1011.

        `held`: the server is not reading the peer (its input queue is full, RT-FLOW-021), so
        a pong may be waiting unread in its buffers: the ping's wait starts again at `now`.
        """
        if held and self._ping is not None:
            self._ping_sent_at = now
        due = self.due(now)
        if due is Beat.LOST:
            self._ws.fail(CloseCode.INTERNAL, "heartbeat: no pong")
            return True
        if due is Beat.SEND:
            self._ws.send_text(HEARTBEAT_FRAME)
            ping = self.beat(now)
            if ping is not None:
                self._ws.send_ping(ping)
        return False

    def deadline(self) -> float:
        """When `due` has something to say."""
        beat = self.last_message_at + self.interval
        if self._ping is None:
            return beat
        return min(beat, self._ping_sent_at + self.interval)

    def due(self, now: float) -> Beat:
        """What is due at `now`: a missing pong wins over a new beat."""
        if self._ping is not None and now >= self._ping_sent_at + self.interval:
            return Beat.LOST
        if now >= self.last_message_at + self.interval:
            return Beat.SEND
        return Beat.NOTHING

    def beat(self, now: float) -> bytes | None:
        """Record a heartbeat frame sent at `now`; the payload of its ping, if one is owed.

        While an earlier ping waits for its pong no second one is sent: its deadline stands.
        """
        self.last_message_at = now
        if self._ping is not None:
            return None
        self._count += 1
        self._ping = b"rt-hb-%d" % self._count
        self._ping_sent_at = now
        return self._ping
