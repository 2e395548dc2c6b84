"""Shared judgements over a recorded client run, with failure messages that show the run."""

from __future__ import annotations

from typing import Any

import msgpack

from conformance.client_mode.recording import Frame, Recording


def explain(rec: Recording, message: str) -> str:
    """A failure message: what went wrong, then the run as the suite saw it."""
    return f"{message}\n{rec.summary()}"


def session_ended(rec: Recording) -> None:
    """The adapter ran to the end of the session by itself and exited 0 (the contract)."""
    assert not rec.killed, explain(rec, "the client did not end the session by itself")
    assert rec.returncode == 0, explain(rec, f"the adapter exited {rec.returncode}, not 0")


def failures(rec: Recording) -> list[dict[str, Any]]:
    """Events by which the client told its user something went wrong."""
    return [e for e in rec.events if e.get("event") in ("error", "exception")]


def crashes(rec: Recording) -> list[dict[str, Any]]:
    """Exception events: the client raised something other than a protocol error."""
    return rec.of("exception")


def decode_input(frame: Frame) -> Any:
    """A binary input frame decoded strictly (one msgpack object), or raise ValueError."""
    try:
        return msgpack.unpackb(frame.payload, raw=False)
    except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise ValueError(str(exc)) from exc
