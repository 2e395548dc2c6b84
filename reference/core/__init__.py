"""Sans-I/O core shared by the reference server and client (no sockets, no clocks)."""

from reference.core.codec import MAX_DEPTH, Encoder, ProfileError, decode_input, encode
from reference.core.frames import CloseCode, ErrorCode, ErrorFrame, error_frame, parse_text
from reference.core.session import (
    InvalidInput,
    Mode,
    Rejected,
    Session,
    SessionConfig,
    State,
)

__all__ = [
    "MAX_DEPTH",
    "CloseCode",
    "Encoder",
    "ErrorCode",
    "ErrorFrame",
    "InvalidInput",
    "Mode",
    "ProfileError",
    "Rejected",
    "Session",
    "SessionConfig",
    "State",
    "decode_input",
    "encode",
    "error_frame",
    "parse_text",
]
