"""Client checks: how x-fal-error, x-fal-message and unknown control frames reach the user (05)."""

from __future__ import annotations

import pytest

from conformance.client_mode.cases import UNKNOWN_ERROR_CODE, get_case
from conformance.client_mode.judge import crashes, explain, failures, session_ended
from conformance.client_mode.session import ClientRuns


@pytest.mark.req("TBD:surface-error")
def test_client_reports_an_error_frame_with_its_code(client_runs: ClientRuns) -> None:
    """An x-fal-error frame reaches the user as an error carrying its code and reason."""
    rec = client_runs.get("error-internal")
    session_ended(rec)
    errors = rec.of("error")
    assert [e.get("code") for e in errors] == ["INTERNAL_ERROR"], explain(
        rec, "expected exactly one error event with code INTERNAL_ERROR"
    )
    assert errors[0].get("reason") == "requested failure", explain(rec, "the reason was lost")
    assert rec.outputs == get_case("error-internal").expected_outputs, explain(
        rec, "the output sent before the error was lost"
    )


@pytest.mark.req("TBD:unknown-code")
def test_client_treats_an_unknown_error_code_as_an_error(client_runs: ClientRuns) -> None:
    """An error code the client does not know is an error of the session, not a crash."""
    rec = client_runs.get("error-unknown-code")
    session_ended(rec)
    assert not crashes(rec), explain(rec, "the client raised on an unknown error code")
    codes = [e.get("code") for e in rec.of("error")]
    assert codes == [UNKNOWN_ERROR_CODE], explain(
        rec, f"expected one error event with code {UNKNOWN_ERROR_CODE}, got {codes}"
    )


@pytest.mark.req("TBD:invalid-input-continues")
def test_client_keeps_the_session_after_invalid_input(client_runs: ClientRuns) -> None:
    """After INVALID_INPUT for one input, later outputs of the same session still reach the user."""
    rec = client_runs.get("error-invalid-input")
    session_ended(rec)
    kinds = [(e["event"], e.get("code")) for e in rec.events if e["event"] in ("output", "error")]
    want = [("output", None), ("error", "INVALID_INPUT"), ("output", None)]
    assert kinds == want, explain(rec, f"events {kinds}, expected {want}")
    assert rec.outputs == get_case("error-invalid-input").expected_outputs, explain(
        rec, "outputs changed"
    )


@pytest.mark.req("TBD:timeout-not-error")
@pytest.mark.parametrize("case", ["timeout-end", "server-streaming"])
def test_client_does_not_report_timeout_as_an_error(client_runs: ClientRuns, case: str) -> None:
    """A TIMEOUT error frame ends the session normally; the user sees no error."""
    rec = client_runs.get(case)
    session_ended(rec)
    surfaced = [e for e in failures(rec) if "TIMEOUT" in str(e.get("code", e.get("message", "")))]
    assert not surfaced, explain(rec, "TIMEOUT was reported as an error")
    assert not crashes(rec), explain(rec, "the client raised at the end of the session")


@pytest.mark.req("TBD:ignore-x-fal-message")
def test_client_ignores_x_fal_message_frames(client_runs: ClientRuns) -> None:
    """x-fal-message frames (timings or unknown actions) never reach the user."""
    rec = client_runs.get("x-fal-message")
    session_ended(rec)
    assert not failures(rec), explain(rec, "an x-fal-message frame was reported as a failure")
    want = get_case("x-fal-message").expected_outputs
    assert rec.outputs == want, explain(rec, f"outputs {rec.outputs!r}, expected {want!r}")


@pytest.mark.req("TBD:ignore-unknown-control")
def test_client_ignores_unknown_control_frames(client_runs: ClientRuns) -> None:
    """A text frame of an unknown type is ignored, neither output nor failure."""
    rec = client_runs.get("unknown-control")
    session_ended(rec)
    assert not failures(rec), explain(rec, "an unknown control frame was reported as a failure")
    want = get_case("unknown-control").expected_outputs
    assert rec.outputs == want, explain(rec, f"outputs {rec.outputs!r}, expected {want!r}")
