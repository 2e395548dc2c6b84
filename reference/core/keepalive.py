"""The server's keepalive ping of one WebSocket connection, without I/O (RT-LIFE-012, RT-SEC-050).

When nothing has arrived from the peer for `interval` seconds the server sends a ping; when
still nothing has arrived `timeout` seconds after it, the peer is taken for gone (half-open
TCP: a peer that left without a FIN never answers) and the connection is failed with close
1011. The I/O layer then drops TCP once its close linger ends. Defaults: 20 s and 20 s, the
safe default of spec 12.2 and what fal's runner (uvicorn) uses.

Proof of life is any byte from the peer, not only the pong of our ping. RT-LIFE-012 lets a
server close a connection "whose pong does not arrive in time"; closing only when nothing at
all arrived is the narrower choice, and the right one: a peer whose pong waits behind a large
frame it is still sending is alive. So a peer that sends is never pinged; only an idle one is.

While the server itself holds reading (its input queue is full, RT-FLOW-021) the peer's bytes,
its pong among them, wait in our buffers: that wait counts as life, not as silence. A session
that negotiated the `heartbeat` extension is kept by that extension instead (spec 15.5,
RT-EXT-041), which pings with each heartbeat frame: it gets no second ping from here.
`interval` 0 turns the keepalive off; `timeout` 0 keeps the pings (each `interval` while the
peer is silent) but never closes, as websockets' `ping_timeout=None`.
"""

from __future__ import annotations

from reference.core.frames import CloseCode
from reference.core.websocket import WebSocketEndpoint

#: Seconds without a byte from the peer before a ping (spec 12.2, RT-SEC-050).
PING_INTERVAL = 20.0
#: Seconds after the ping within which something must arrive, else close 1011.
PING_TIMEOUT = 20.0
#: The close reason of a connection failed for silence (at most 123 bytes, RFC 6455 5.5).
LOST_REASON = "keepalive: no pong"


class Keepalive:
    """When to ping and when to give up on a silent peer; times are passed in."""

    __slots__ = ("_count", "_ping_sent_at", "_ws", "interval", "last_received_at", "timeout")

    def __init__(self, interval: float, timeout: float, now: float, ws: WebSocketEndpoint) -> None:
        self.interval = interval
        self.timeout = timeout
        self._ws = ws
        self.last_received_at = now  # the 101 starts the count
        self._ping_sent_at: float | None = None  # the ping still waiting for an answer
        self._count = 0

    def received(self, now: float) -> None:
        """Bytes arrived from the peer: it is alive; the next ping is one interval later."""
        self.last_received_at = now
        self._ping_sent_at = None

    def deadline(self) -> float:
        """When `apply` has something to do: the next ping, or the end of the pong's wait."""
        sent = self._ping_sent_at
        if sent is None:
            return self.last_received_at + self.interval
        return sent + (self.timeout if self.timeout > 0 else self.interval)

    def apply(self, now: float, held: bool = False) -> bool:
        """Ping or close as due at `now`; True when the connection was failed with 1011.

        `held`: the server is not reading the peer (its own hold), so silence proves nothing.
        """
        if held:
            self.received(now)
            return False
        if now < self.deadline():
            return False
        if self._ping_sent_at is not None and self.timeout > 0:
            self._ws.fail(CloseCode.INTERNAL, LOST_REASON)  # RT-LIFE-012, RT-SEC-050
            return True
        self._count += 1
        self._ping_sent_at = now
        self._ws.send_ping(b"rt-ka-%d" % self._count)  # a small payload, answered as is
        return False
