"""What every connection of one server shares (spec chapter 02-transport)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from reference.core.extensions import HEARTBEAT_INTERVAL
from reference.server.http import Auth, Router


class Stoppable(Protocol):
    """A connection as the server sees it when stopping."""

    def shutdown(self) -> None:
        """Close sessions with 1001, idle HTTP connections at once."""

    def abort(self) -> None:
        """Drop TCP now."""


@dataclass
class ServerState:
    """Routes, credentials and open connections of one server."""

    router: Router
    auth: Auth
    connections: set[Stoppable] = field(default_factory=set)
    stopping: bool = False
    #: Seconds between heartbeats on sessions that enable the extension (spec 15.5).
    heartbeat_interval: float = HEARTBEAT_INTERVAL
