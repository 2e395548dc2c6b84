"""The JavaScript client's send rules, without I/O (spec chapter 14; opt-in in the reference).

What `@fal-ai/client` 1.10.1 was observed to do (tests/interop/test_fal_js_client_vs_reference.py):

- Throttle (`throttleInterval`, JS default 128 ms; 0 is off): only the very first send of a
  connection object goes out at once; every later send replaces the one waiting and waits for
  a timer due at last-send + interval, so at most one frame per interval is written and the
  latest input is the one written; the replaced ones are dropped silently. After a quiet
  spell a send still waits for the next timer tick (due time in the past = the next tick).
- Latest wins while connecting: one queued-message slot; each send before the socket opens
  overwrites it; the slot is written once when the socket opens.

Time is passed in (seconds, any monotonic clock); the I/O layers own the timers and sockets.
"""

from __future__ import annotations

import enum

#: @fal-ai/client's DEFAULT_THROTTLE_INTERVAL, in seconds.
JS_THROTTLE_INTERVAL = 0.128


class Throttle:
    """A leading throttle: the first message passes, later ones wait for a timer; latest wins."""

    __slots__ = ("interval", "last_sent", "waiting")

    def __init__(self, interval: float) -> None:
        if interval < 0:
            raise ValueError(f"throttle_interval must be >= 0 seconds (0 is off), got {interval}")
        self.interval = interval
        self.last_sent: float | None = None
        self.waiting: bytes | None = None

    def offer(self, message: bytes, now: float) -> tuple[bytes | None, float | None]:
        """(the message to pass on now, or None; when the timer for the waiting one is due).

        A due time replaces any earlier timer: the caller cancels it and sets a new one.
        """
        if self.interval <= 0:
            return message, None
        if self.last_sent is None:  # the very first send goes out at once
            self.last_sent = now
            return message, None
        self.waiting = message  # the latest input replaces the waiting one
        return None, self.last_sent + self.interval

    def fire(self, now: float) -> bytes | None:
        """The timer is due: the waiting message (counted as sent now), or None."""
        message, self.waiting = self.waiting, None
        if message is not None:
            self.last_sent = now
        return message


class LinkAction(enum.Enum):
    """What the I/O layer does with a message that passed the throttle."""

    WRITE = "write"  # the socket is open: write it now
    QUEUE = "queue"  # a connection is being opened: it waits in the slot (replacing any)
    CONNECT = "connect"  # no connection: open one; the message waits in the slot


class Link:
    """Lazy (re)connection with one queued-message slot, latest wins (JS `enqueuedMessage`)."""

    __slots__ = ("connecting", "queued")

    def __init__(self) -> None:
        self.connecting = False
        self.queued: bytes | None = None

    def send(self, message: bytes, is_open: bool) -> LinkAction:
        """Route one message; `is_open` says whether the current socket can take it."""
        if is_open and not self.connecting:
            return LinkAction.WRITE
        self.queued = message
        if self.connecting:
            return LinkAction.QUEUE
        self.connecting = True
        return LinkAction.CONNECT

    def opened(self) -> bytes | None:
        """The new socket is open: the queued message to write once, or None."""
        message, self.queued = self.queued, None
        self.connecting = False
        return message

    def failed(self) -> None:
        """Opening failed: back to idle; the queued input is dropped (the next send retries)."""
        self.connecting = False
        self.queued = None
