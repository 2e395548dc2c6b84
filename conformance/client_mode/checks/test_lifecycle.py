"""Client checks: outputs, close codes, abrupt ends, pings and silent servers (chapter 06)."""

from __future__ import annotations

import pytest

from conformance.client_mode.cases import get_case
from conformance.client_mode.judge import explain, failures, session_ended
from conformance.client_mode.session import ClientRuns


@pytest.mark.req("TBD:outputs-in-order")
@pytest.mark.parametrize("case", ["echo", "server-streaming"])
def test_client_delivers_every_output_in_order(client_runs: ClientRuns, case: str) -> None:
    """Each binary output reaches the user once, decoded, in the order it arrived."""
    rec = client_runs.get(case)
    session_ended(rec)
    want = get_case(case).expected_outputs
    assert rec.outputs == want, explain(rec, f"outputs {rec.outputs!r}, expected {want!r}")


@pytest.mark.req("TBD:msgpack-types")
def test_client_decodes_every_msgpack_type_in_outputs(client_runs: ClientRuns) -> None:
    """An output holding every msgpack type reaches the user with bytes as bytes."""
    rec = client_runs.get("types")
    session_ended(rec)
    want = [{"output": get_case("types").inputs[0]}]
    got = [e.get("data") for e in rec.of("output")]
    assert got == want, explain(rec, f"outputs {got!r}, expected {want!r}")


@pytest.mark.req("TBD:normal-close")
def test_client_reports_close_1000_as_a_normal_end(client_runs: ClientRuns) -> None:
    """A close with 1000 ends the session without any failure shown to the user."""
    rec = client_runs.get("echo")
    session_ended(rec)
    assert not failures(rec), explain(rec, "a normal close was reported as a failure")
    closed = rec.of("closed")
    assert closed, explain(rec, "the adapter printed no closed event")
    assert closed[-1].get("code") == 1000, explain(rec, "the close code 1000 was not reported")


@pytest.mark.req("TBD:close-code")
@pytest.mark.parametrize("code", [1001, 1008, 1011])
def test_client_reports_the_close_code(client_runs: ClientRuns, code: int) -> None:
    """A close with another code ends the session and the user sees that code."""
    rec = client_runs.get(f"close-{code}")
    session_ended(rec)
    assert rec.outputs == get_case(f"close-{code}").expected_outputs, explain(
        rec, "the output sent before the close was lost"
    )
    codes = [e.get("code") for e in rec.of("closed")]
    assert code in codes, explain(rec, f"close code {code} not reported (closed events: {codes})")


@pytest.mark.req("TBD:abrupt-close")
def test_client_reports_an_abrupt_close(client_runs: ClientRuns) -> None:
    """A TCP drop without a close frame ends the session as unclean, promptly."""
    rec = client_runs.get("abrupt-close")
    session_ended(rec)
    assert rec.outputs == get_case("abrupt-close").expected_outputs, explain(
        rec, "the output sent before the drop was lost"
    )
    clean = [e for e in rec.of("closed") if e.get("clean")]
    assert not clean, explain(rec, "a dropped connection was reported as a clean close")
    unclean = [e for e in rec.of("closed") if not e.get("clean")]
    assert unclean or failures(rec), explain(rec, "the drop was not reported at all")


@pytest.mark.req("TBD:recv-timeout")
def test_client_stops_waiting_for_a_silent_server(client_runs: ClientRuns) -> None:
    """Against a server that never answers, the client gives up after its receive timeout."""
    rec = client_runs.get("never-answers")
    session_ended(rec)
    assert rec.of("timeout"), explain(rec, "the client reported no timeout")
    assert not rec.outputs, explain(rec, "the client reported outputs nobody sent")


@pytest.mark.req("TBD:pong")
def test_client_answers_pings(client_runs: ClientRuns) -> None:
    """A ping from the server gets a pong."""
    rec = client_runs.get("ping")
    assert rec.connections, explain(rec, "the client never connected")
    assert rec.connections[0].pong_received, explain(rec, "no pong came back")


@pytest.mark.req("TBD:large-output")
def test_client_accepts_a_16_mib_output(client_runs: ClientRuns) -> None:
    """An output message of 16 MiB reaches the user whole."""
    from conformance.client_mode.cases import LARGE_OUTPUT_BYTES

    rec = client_runs.get("large-output")
    session_ended(rec)
    outputs = rec.outputs
    assert len(outputs) == 1, explain(rec, f"expected one output, got {len(outputs)}")
    value = outputs[0].get("output") if isinstance(outputs[0], dict) else None
    size = len(value) if isinstance(value, str) else None
    assert size == LARGE_OUTPUT_BYTES - 13, explain(rec, f"output of {size} characters")
