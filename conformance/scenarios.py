"""Steps several checks share (spec chapters 04-messages and 05-control-frames).

Each step states which requirement a failure in it breaks, so a check built from them blames
exactly the requirement the target broke.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from conformance.failures import requirement
from conformance.wire import Conn, Received

PROBE = {"prompt": "still-serving"}
# A reason that leaks internals (RT-SEC-002): a traceback header or a source file path.
LEAK = re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\.py\"|(?:/[\w.-]+){3,}\.py")


@dataclass(frozen=True)
class Rejection:
    """How a server answered one rejected input."""

    error: dict[str, Any]
    kept_open: bool  # the session served a later input
    after: Received  # what followed the error frame (an output or the close)


def answer(conn: Conn) -> Received:
    """The server's first answer to a bad input; silence breaks RT-CTRL-010 (answer each one)."""
    with requirement("RT-CTRL-010"):
        return conn.recv_data()


def expect_rejection(
    conn: Conn, rejected_by: tuple[str, ...], unanswered: tuple[str, ...] = ()
) -> Rejection:
    """After a bad input was sent: an error frame, then either service or close 1000.

    `rejected_by` are the requirements that make the server reject this input; `unanswered`
    are those (besides RT-CTRL-010) that an input answered by the end of the connection
    breaks. Silence only breaks RT-CTRL-010 (the input was swallowed, not answered).
    """
    with requirement("RT-CTRL-010"):  # silence: swallowed, not answered
        frame = conn.recv_data()
    with requirement(*rejected_by):  # an output: the server accepted what it must reject
        assert frame.kind != "binary", (
            f"the server answered a bad input with an output: {frame.summary()}"
        )
    with requirement("RT-CTRL-010", *unanswered):
        assert frame.is_error_frame, f"expected an x-fal-error frame, got {frame.summary()}"
    error = frame.value
    assert isinstance(error, dict)
    with requirement("RT-CTRL-018"):
        assert error["error"] != "TIMEOUT", "a rejected input was reported with the code TIMEOUT"
    conn.send_msgpack(PROBE)
    after = conn.recv_data()
    if after.kind == "close":
        with requirement("RT-CTRL-010", "RT-LIFE-020"):
            assert after.code == 1000, (
                f"after the error frame the server closed with {after.summary()}"
            )
        return Rejection(error, False, after)
    with requirement("RT-MSG-013"):
        assert (after.kind, after.value) == ("binary", {"output": PROBE["prompt"]}), (
            f"after the error frame the server sent {after.summary()} instead of the probe's output"
        )
    return Rejection(error, True, after)
