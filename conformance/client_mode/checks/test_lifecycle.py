"""Client checks: pings, close codes, abrupt ends and silent servers (spec chapter 06)."""

from __future__ import annotations

import pytest

from conformance.client_mode.judge import (
    FINAL_EVENTS,
    expect,
    failures,
    outputs_match,
    session_ended,
    usable,
)
from conformance.client_mode.session import ClientRuns


@pytest.mark.req("RT-LIFE-011")
def test_client_answers_a_ping(client_runs: ClientRuns) -> None:
    """A ping from the server gets a pong with the same payload."""
    rec = client_runs.get("ping")
    usable(rec)
    expect(rec.connections, rec, "the client never connected")
    expect(rec.connections[0].pong_received, rec, "no matching pong came back")


@pytest.mark.req("RT-LIFE-030")
def test_client_treats_close_1000_as_a_clean_end(client_runs: ClientRuns) -> None:
    """A close with 1000 ends the session cleanly; the caller sees no error."""
    rec = client_runs.get("echo")
    session_ended(rec)
    outputs_match(rec)
    reported = failures(rec)
    expect(not reported, rec, f"a close with 1000 was reported as an error: {reported}")
    expect(rec.of("closed"), rec, "the end of the session was not reported as closed")


@pytest.mark.req("RT-LIFE-031")
def test_client_treats_close_1001_as_a_clean_end(client_runs: ClientRuns) -> None:
    """A close with 1001 (server going away) ends the session cleanly."""
    rec = client_runs.get("close-1001")
    session_ended(rec)
    outputs_match(rec)
    reported = failures(rec)
    expect(not reported, rec, f"a close with 1001 was reported as an error: {reported}")


@pytest.mark.req("RT-LIFE-032")
@pytest.mark.parametrize("case", ["close-1008", "close-1011", "abrupt-close"])
def test_client_reports_other_closes_as_errors(client_runs: ClientRuns, case: str) -> None:
    """A close with another code, or a TCP drop, reaches the caller as an error."""
    rec = client_runs.get(case)
    session_ended(rec)
    outputs_match(rec)
    expect(failures(rec), rec, "the end of the session was reported as clean")
    clean = [e for e in rec.of("closed") if e.get("clean")]
    expect(not clean, rec, "the end of the session was reported as clean")


@pytest.mark.req("RT-CONF-044")
def test_client_stops_waiting_for_a_silent_server(client_runs: ClientRuns) -> None:
    """Against a server that never answers, the adapter's receive timeout ends the wait."""
    rec = client_runs.get("never-answers")
    session_ended(rec)
    expect(rec.of("timeout"), rec, "no timeout record")
    expect(not rec.outputs, rec, "outputs nobody sent were reported")


@pytest.mark.req("RT-LIFE-033")
def test_client_closes_with_1000_when_its_caller_ends(client_runs: ClientRuns) -> None:
    """When the caller ends the session the client sends close 1000 and reports no error."""
    rec = client_runs.get("never-answers")
    session_ended(rec)
    expect(rec.connections, rec, "the client never connected")
    code = rec.connections[-1].client_close_code
    expect(code == 1000, rec, f"the client closed with {code}, not 1000")
    reported = [e for e in rec.events if e.get("event") in ("error", "exception")]
    expect(not reported, rec, "ending the session was reported as an error")


CONTRACT_CASES = ["echo", "error-invalid-input", "never-answers", "refused-401"]


@pytest.mark.req("RT-CONF-042")
@pytest.mark.parametrize("case", CONTRACT_CASES)
def test_adapter_prints_one_record_per_line(client_runs: ClientRuns, case: str) -> None:
    """Every line the adapter prints is one JSON record of the spec's record schema."""
    from conformance.client_mode.records import record_problem

    rec = client_runs.get(case)
    usable(rec)
    expect(not rec.bad_lines, rec, "the adapter printed lines that are not records")
    for event in rec.events:
        problem = record_problem(event)
        expect(problem is None, rec, f"record {event!r} breaks the record schema: {problem}")


@pytest.mark.req("RT-CONF-043")
@pytest.mark.parametrize("case", CONTRACT_CASES)
def test_adapter_prints_exactly_one_final_record(client_runs: ClientRuns, case: str) -> None:
    """Exactly one final record (closed, timeout or exception), and it comes last."""
    rec = client_runs.get(case)
    usable(rec)
    finals = [i for i, e in enumerate(rec.events) if e.get("event") in FINAL_EVENTS]
    expect(len(finals) == 1, rec, f"{len(finals)} final records, expected 1")
    expect(finals[0] == len(rec.events) - 1, rec, "records after the final one")


@pytest.mark.req("RT-CONF-045")
@pytest.mark.parametrize("case", CONTRACT_CASES)
def test_adapter_exits_0_after_the_session(client_runs: ClientRuns, case: str) -> None:
    """The adapter exits with status 0 by itself once the session ended."""
    rec = client_runs.get(case)
    usable(rec)
    expect(not rec.killed, rec, "the adapter did not end by itself")
    expect(rec.returncode == 0, rec, f"exit status {rec.returncode}")
