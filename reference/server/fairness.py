"""One peer's share of the event loop: reads fed in pieces, paused when they cost too much.

RT-SEC-001: whatever one client sends, the other sessions keep their latency. A read whose
handling costs more than `FAIR_SLICE` of loop time pauses reading from that peer for
`FAIR_FACTOR` times the cost, so one peer gets at most 1 / (1 + FAIR_FACTOR) of the loop
(16 MiB of empty maps: 0.2 s to decode up to the object limit). An HTTP read is handed on in
pieces of `FEED_PIECE` bytes with a check against `HTTP_SLICE` after each, so one read of a
chunked body of one-byte chunks (a quarter of a MiB: tens of ms of parser callbacks) holds the
loop for about one slice, not for the whole read; what is left waits and goes first when the
pause ends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from reference.server.channel import HOLD_FAIR

#: Handling one read costing more loop time than this (seconds) makes the connection wait.
FAIR_SLICE = 0.005
#: ...for this many times what it cost, so one peer gets at most 1/(1+FAIR_FACTOR) of the loop.
FAIR_FACTOR = 3.0
#: Largest piece of one HTTP read handed on at once, so the check runs within a read...
FEED_PIECE = 4 * 1024
#: ...against this shorter slice: no well-behaved request head or body costs 2 ms to parse,
#: while a WebSocket read that large (a 1 MiB message answered) keeps FAIR_SLICE. Measured
#: with bench/hostile_load.py: a chunked POST of one-byte chunks left another session a p50
#: of 5.6-6.6 ms at 16 KiB and 5 ms, 1.2-1.5 ms at 4 KiB and 2 ms (unloaded 0.4-0.6 ms).
HTTP_SLICE = 0.002


class FairFeed:
    """Feeds one connection's reads to `handle`, holding reading through `hold`/`release`.

    `whole()` says whether reads go on whole: a WebSocket session keeps each read as it came,
    since its frame parser holds a large frame's reads and many small pieces of one would
    fragment the heap; HTTP is where one byte can cost a callback (a chunk header).
    """

    __slots__ = ("_handle", "_hold", "_release", "_rest", "_whole", "closed")

    def __init__(
        self,
        handle: Callable[[bytes], None],
        hold: Callable[[int], None],
        release: Callable[[int], None],
        whole: Callable[[], bool],
    ) -> None:
        self._handle = handle
        self._hold = hold
        self._release = release
        self._whole = whole
        self._rest = b""  # what a read that went over FAIR_SLICE left to feed
        self.closed = False  # set when the connection is gone: nothing more is fed

    def data_received(self, data: bytes) -> None:
        """One read from the transport."""
        if self._rest:  # reading is paused while a rest waits; keep the order regardless
            self._rest += data
            return
        self._feed(data)

    def close(self) -> None:
        """The connection is gone: drop what waits and the callbacks into it.

        The callbacks are the connection's bound methods, so dropping them breaks the cycle
        and a closed connection is freed at once, not by the cyclic GC (issue 12, finding 3).
        """
        self.closed = True
        self._rest = b""
        self._handle = self._hold = self._release = _ignore
        self._whole = _always

    def _feed(self, data: bytes) -> bool:
        """Hand `data` on, in pieces unless `whole()`; True when it paused reading."""
        started = time.perf_counter()
        size = len(data)
        if size <= FEED_PIECE or self._whole():
            self._handle(data)
            cost = time.perf_counter() - started
            return cost > FAIR_SLICE and self._pause(cost)
        view = memoryview(data)
        for start in range(0, size, FEED_PIECE):
            self._handle(bytes(view[start : start + FEED_PIECE]))
            cost = time.perf_counter() - started
            if cost > HTTP_SLICE:
                self._rest = bytes(view[start + FEED_PIECE :])
                return self._pause(cost)
        return False

    def _pause(self, cost: float) -> bool:
        """Stop reading this peer for FAIR_FACTOR x the loop time its bytes just took."""
        if self.closed:
            self._rest = b""
            return False
        self._hold(HOLD_FAIR)
        asyncio.get_running_loop().call_later(cost * FAIR_FACTOR, self._resume)
        return True

    def _resume(self) -> None:
        """The pause is over: feed what a read left over, then read again unless it pauses."""
        rest, self._rest = self._rest, b""
        if rest and not self.closed and self._feed(rest):
            return  # still held: the rest of `rest` waits for the next turn
        self._release(HOLD_FAIR)


def _ignore(_: object) -> None:
    return None


def _always() -> bool:
    return True
