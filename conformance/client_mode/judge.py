"""Shared judgements over a recorded client run, with failure messages that show the run."""

from __future__ import annotations

from typing import Any, NoReturn

import msgpack

from conformance.client_mode.cases import get_case
from conformance.client_mode.recording import Recording
from conformance.failures import ConformanceFailure, HarnessError, mark_verified

FINAL_EVENTS = ("closed", "timeout", "exception")
SAFE_INTEGER = 2**53 - 1  # the largest integer every IEEE double holds with its neighbours


def explain(rec: Recording, message: str) -> str:
    """A failure message: what went wrong, then the run as the suite saw it."""
    return f"{message}\n{rec.summary()}"


def expect(condition: object, rec: Recording, message: str, *reqs: str) -> None:
    """Fail the check (blaming ``reqs``, or all its IDs) unless ``condition`` holds."""
    if not condition:
        raise ConformanceFailure(explain(rec, message), reqs)


def fail(rec: Recording, message: str, *reqs: str) -> NoReturn:
    """Fail the check (blaming ``reqs``, or all its IDs)."""
    raise ConformanceFailure(explain(rec, message), reqs)


def usable(rec: Recording) -> None:
    """The adapter produced a run the suite can judge at all (else a harness-level error)."""
    if rec.returncode is None:
        raise HarnessError(explain(rec, "the adapter did not run"))
    if rec.returncode == 127 and not rec.events:
        raise HarnessError(explain(rec, "the adapter command was not found"))


def session_ended(rec: Recording, *reqs: str) -> None:
    """The adapter ran to the end of the session by itself (a final record, then exit)."""
    usable(rec)
    expect(not rec.killed, rec, "the client did not end the session by itself", *reqs)
    final = [e for e in rec.events if e.get("event") in FINAL_EVENTS]
    expect(final, rec, "the adapter printed no final record (closed, timeout, exception)", *reqs)


def failures(rec: Recording) -> list[dict[str, Any]]:
    """Records by which the client told its caller something went wrong."""
    bad_close = [e for e in rec.of("closed") if not e.get("clean")]
    return [e for e in rec.events if e.get("event") in ("error", "exception")] + bad_close


def errors_with_code(rec: Recording, code: str) -> list[dict[str, Any]]:
    """Error records carrying ``code``."""
    return [e for e in rec.of("error") if e.get("code") == code]


def expected_outputs(rec: Recording) -> list[Any]:
    """The outputs the case's script sends."""
    return get_case(rec.case).expected_outputs


def outputs_match(rec: Recording, *reqs: str) -> None:
    """The client delivered exactly the case's outputs, in order."""
    want = expected_outputs(rec)
    expect(rec.outputs == want, rec, f"outputs {_cut(rec.outputs)}, expected {_cut(want)}", *reqs)


def as_doubles(value: Any) -> Any:
    """``value`` with every integer beyond +-(2^53-1) as the IEEE double nearest to it.

    Two values equal this way differ at most in the precision of such integers: what a client
    that decodes integers to doubles (`@fal-ai/client`) loses, however its adapter prints them.
    """
    if isinstance(value, dict):
        return {k: as_doubles(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_doubles(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > SAFE_INTEGER:
        return float(value)
    return value


def expect_accepted(rec: Recording, got: Any, want: Any, message: str, req: str) -> None:
    """``got == want``, blaming ``req``; a difference only in big integers' precision is not.

    A value accepted but rounded to a double meets "accept" (RT-CONV-005) and fails only the
    SHOULD that integers stay exact (RT-CONV-015).
    """
    if got != want and as_doubles(got) == as_doubles(want):
        mark_verified(req)
        fail(rec, message + " (integers beyond 2^53 were rounded)", "RT-CONV-015")
    expect(got == want, rec, message, req)


def decode_input(payload: bytes) -> Any:
    """An input decoded for comparison: msgpack, else JSON, else the raw bytes."""
    try:
        return msgpack.unpackb(payload, raw=False)
    except Exception:  # not msgpack: other checks judge the encoding
        import json

        try:
            return json.loads(payload)
        except ValueError:
            return payload


def _cut(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + "..."
