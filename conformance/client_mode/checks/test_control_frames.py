"""Client checks: how x-fal-error, x-fal-message and other text frames reach the caller (05)."""

from __future__ import annotations

import pytest

from conformance.client_mode.cases import UNKNOWN_ERROR_CODE
from conformance.client_mode.judge import (
    errors_with_code,
    expect,
    failures,
    outputs_match,
    session_ended,
)
from conformance.client_mode.session import ClientRuns


@pytest.mark.req("RT-CTRL-020")
def test_client_reports_an_error_frame_with_code_and_reason(client_runs: ClientRuns) -> None:
    """An x-fal-error frame reaches the caller as an error carrying its code and reason."""
    rec = client_runs.get("error-internal")
    session_ended(rec)
    errors = errors_with_code(rec, "INTERNAL_ERROR")
    expect(len(errors) == 1, rec, "expected one error record with code INTERNAL_ERROR")
    expect(errors[0].get("reason") == "requested failure", rec, "the reason was lost")
    outputs_match(rec)


@pytest.mark.req("RT-CTRL-023")
def test_client_ignores_unknown_members_of_a_control_frame(client_runs: ClientRuns) -> None:
    """Members a client does not know leave an error frame's code and reason intact."""
    rec = client_runs.get("error-extra-members")
    session_ended(rec)
    errors = errors_with_code(rec, "INTERNAL_ERROR")
    expect(len(errors) == 1, rec, "expected one error record with code INTERNAL_ERROR")
    expect(errors[0].get("reason") == "requested failure", rec, "the reason was lost")
    expect(not rec.of("exception"), rec, "the client raised on extra members")


@pytest.mark.req("RT-CTRL-022")
def test_client_treats_an_unknown_code_as_an_error(client_runs: ClientRuns) -> None:
    """An error code the client does not know is an error of the session, not a crash."""
    rec = client_runs.get("error-unknown-code")
    session_ended(rec)
    expect(not rec.of("exception"), rec, "the client raised on an unknown error code")
    expect(errors_with_code(rec, UNKNOWN_ERROR_CODE), rec, f"no error with {UNKNOWN_ERROR_CODE}")


@pytest.mark.req("RT-CTRL-024")
def test_client_keeps_the_session_after_an_error_frame(client_runs: ClientRuns) -> None:
    """After INVALID_INPUT for one input, later outputs of the session still reach the caller."""
    rec = client_runs.get("error-invalid-input")
    session_ended(rec)
    kinds = [(e["event"], e.get("code")) for e in rec.events if e["event"] in ("output", "error")]
    want = [("output", None), ("error", "INVALID_INPUT"), ("output", None)]
    expect(kinds == want, rec, f"records {kinds}, expected {want}")
    outputs_match(rec)


@pytest.mark.req("RT-CTRL-021")
def test_client_ends_normally_on_timeout(client_runs: ClientRuns) -> None:
    """A TIMEOUT error frame then close 1000 is the normal end; the caller sees no error."""
    rec = client_runs.get("timeout-end")
    session_ended(rec)
    expect(
        not failures(rec), rec, f"the end of the session was reported as an error: {failures(rec)}"
    )
    outputs_match(rec)


@pytest.mark.req("RT-STREAM-008")
def test_client_ends_a_stream_normally(client_runs: ClientRuns) -> None:
    """The end of a server-streaming session (TIMEOUT, close 1000) is not an error."""
    rec = client_runs.get("server-streaming")
    session_ended(rec)
    expect(
        not failures(rec), rec, f"the end of the stream was reported as an error: {failures(rec)}"
    )


@pytest.mark.req("RT-CTRL-031")
def test_client_ignores_x_fal_message_frames(client_runs: ClientRuns) -> None:
    """x-fal-message frames (timings, unknown actions) never reach the caller."""
    rec = client_runs.get("x-fal-message")
    session_ended(rec)
    expect(
        not failures(rec), rec, f"an x-fal-message frame was reported as a failure: {failures(rec)}"
    )
    outputs_match(rec)


@pytest.mark.req("RT-CTRL-032")
def test_client_ignores_unknown_text_messages(client_runs: ClientRuns) -> None:
    """Text of an unknown type, or not JSON at all, is neither an output nor a failure."""
    rec = client_runs.get("unknown-control")
    session_ended(rec)
    outputs_match(rec)
    expect(not rec.of("exception"), rec, "the client raised on an unknown text message")


@pytest.mark.req("RT-CTRL-041")
def test_client_reports_the_legacy_error_shape(client_runs: ClientRuns) -> None:
    """A text frame {"status": "error", "error": ...} reaches the caller as an error."""
    rec = client_runs.get("legacy-error")
    session_ended(rec)
    outputs_match(rec)
    reported = [e for e in rec.events if e.get("event") in ("error", "exception")]
    expect(reported, rec, "the legacy error frame was not reported as an error")


@pytest.mark.req("RT-MSG-024")
def test_client_delivers_binary_outputs_that_look_like_control_frames(
    client_runs: ClientRuns,
) -> None:
    """Binary outputs shaped like x-fal-error, x-fal-message or legacy errors are data."""
    rec = client_runs.get("control-lookalike-outputs")
    session_ended(rec)
    outputs_match(rec)
