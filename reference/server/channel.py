"""What a session driver needs from its connection (spec chapter 07-flow-control).

Drivers (`realtime.py`, `raw.py`) depend on this protocol, not on `Connection`, so the
imports of the server flow one way: connection -> drivers -> channel.
"""

from __future__ import annotations

from typing import Protocol

HOLD_WRITES = 1  # the transport's write buffer is over its high-water mark
HOLD_QUEUE = 2  # a session has too many inputs waiting (RT-FLOW-021)
HOLD_FAIR = 4  # this peer's last bytes cost a long slice of the loop (RT-SEC-001)


class Channel(Protocol):
    """The byte pipe of one upgraded connection."""

    @property
    def closed(self) -> bool:
        """Whether our side of TCP is done."""
        ...

    @property
    def write_paused(self) -> bool:
        """Whether the transport's buffer is over its high-water mark."""
        ...

    def write(self, chunks: list[bytes]) -> None:
        """Write chunks in order; an empty chunk half-closes TCP."""

    def expect_close(self) -> None:
        """Our close frame is out: drop TCP if the peer does not answer in time."""

    async def drain(self) -> None:
        """Wait until the transport's buffer drains."""

    def hold_reading(self, reason: int) -> None:
        """Stop reading for `reason` (a HOLD_* bit)."""

    def release_reading(self, reason: int) -> None:
        """Release `reason`; reading resumes when no reason is left."""

    def refuse(self, response: bytes) -> None:
        """Answer the upgrade request with an HTTP response instead of a 101 and close."""


class Driver(Protocol):
    """What a connection feeds after the upgrade: a realtime session or a raw endpoint."""

    def data_received(self, data: bytes) -> None:
        """Bytes from the peer."""

    def eof_received(self) -> None:
        """The peer half-closed TCP."""

    def connection_lost(self) -> None:
        """TCP is gone."""

    def shutdown(self) -> None:
        """The server is stopping (close 1001)."""
