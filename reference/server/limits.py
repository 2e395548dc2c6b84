"""Resource limits of the reference server, with safe defaults (spec 12.2: RT-SEC-010..019, 050).

One frozen dataclass so every limit has exactly one default, one `python -m reference serve`
flag (generated from the fields by `add_flags`) and one place it is read. The per-session
limits go on to the sans-I/O core as `core.session.Limits`.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

from reference.core.codec import MAX_OBJECTS
from reference.core.keepalive import PING_INTERVAL, PING_TIMEOUT
from reference.core.session import Limits
from reference.core.websocket import MAX_FRAGMENTS
from reference.core.wsframes import MAX_MESSAGE


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Every bound the server enforces; the field docs become the `--help` text."""

    max_message: int = MAX_MESSAGE  # RT-TRANS-044, RT-SEC-010: bytes of one message, 1009
    max_fragments: int = MAX_FRAGMENTS  # RT-SEC-011: frames of one message, 1009
    max_input_objects: int = MAX_OBJECTS  # RT-SEC-012: containers+elements, INVALID_INPUT
    max_queued_bytes: int = 64 * 1024 * 1024  # RT-SEC-013: a session stops reading above
    max_head_bytes: int = 64 * 1024  # RT-SEC-014: request line + headers, 431
    max_target_bytes: int = 8 * 1024  # RT-SEC-015: request target, 414
    max_body_bytes: int = MAX_MESSAGE  # RT-SEC-016: HTTP body, 413
    handshake_timeout: float = 10.0  # RT-SEC-017: seconds to send a whole request head
    idle_timeout: float = 75.0  # RT-SEC-018: an HTTP connection without a session
    max_connections: int = 0  # RT-SEC-019: 0 = derived from the fd limit at start
    ping_interval: float = PING_INTERVAL  # RT-SEC-050: seconds of client silence, then a ping
    ping_timeout: float = PING_TIMEOUT  # RT-SEC-050: seconds for an answer, then close 1011

    def session(self) -> Limits:
        """The per-session part, for the sans-I/O core."""
        return Limits(
            max_message=self.max_message,
            max_fragments=self.max_fragments,
            max_input_objects=self.max_input_objects,
            max_queued_bytes=self.max_queued_bytes,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
        )


_HELP = {
    "max_message": "bytes of one WebSocket message (close 1009)",
    "max_fragments": "frames of one fragmented message (close 1009)",
    "max_input_objects": "containers and elements of one decoded input (INVALID_INPUT)",
    "max_queued_bytes": "bytes of inputs one session may queue before it stops reading",
    "max_head_bytes": "bytes of an HTTP request line and headers (431)",
    "max_target_bytes": "bytes of an HTTP request target (414)",
    "max_body_bytes": "bytes of an HTTP request body (413)",
    "handshake_timeout": "seconds a client has to send a whole request head",
    "idle_timeout": "seconds an HTTP connection may stay idle without a session",
    "max_connections": "open connections; more get 503 (0: from the fd limit)",
    "ping_interval": "seconds a WebSocket client may send nothing before the server pings it "
    "(RT-SEC-050, RT-LIFE-012; 0: no keepalive ping)",
    "ping_timeout": "seconds after that ping for the client to send anything (its pong) before "
    "close 1011 (RT-SEC-050; 0: ping, never close)",
}


def add_flags(parser: argparse.ArgumentParser) -> None:
    """One `--max-message`-style flag per field, defaulting to the field's default."""
    for field in dataclasses.fields(ServerLimits):
        default = field.default
        parser.add_argument(
            "--" + field.name.replace("_", "-"),
            type=type(default),
            default=default,
            help=f"{_HELP[field.name]} (default {default})",
        )


def from_args(args: argparse.Namespace) -> ServerLimits:
    """The limits the flags asked for."""
    return ServerLimits(**{f.name: getattr(args, f.name) for f in dataclasses.fields(ServerLimits)})
