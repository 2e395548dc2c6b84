"""Client checks: the 1.1 extension channel, end-of-input/output, correlation, heartbeat (ch. 15).

The extension cases are not applicable to an adapter that does not claim the channel (no
``extensions`` record, spec 13.3); the 1.0-bytes check (RT-EXT-006) applies to every client.
"""

from __future__ import annotations

import json

import pytest

from conformance.client_mode.ext_cases import ASK_ALL
from conformance.client_mode.ext_scripts import is_end_of_input
from conformance.client_mode.judge import expect, failures, outputs_match, session_ended, usable
from conformance.client_mode.recording import Connection, Frame, Recording
from conformance.client_mode.session import ClientRuns

EXT_CASES = ("ext-end-of-input", "ext-end-of-output", "ext-correlation", "ext-heartbeat")
PLAIN_CASES = ("echo", "error-invalid-input", "server-streaming", "timeout-end")
NOT_CLAIMED = (
    "not applicable: the adapter printed no extensions record, so it does not claim the "
    "extension channel (spec 13.3)"
)


def claimed(rec: Recording) -> list[str]:
    """The extensions the client says are on; skips when the adapter does not claim them."""
    usable(rec)
    records = rec.of("extensions")
    if not records:
        pytest.skip(NOT_CLAIMED)
    expect(len(records) == 1, rec, f"{len(records)} extensions records, expected one")
    on = records[0].get("on")
    return list(on) if isinstance(on, list) else []


def _connection(rec: Recording) -> Connection:
    expect(rec.connections, rec, "the client never connected")
    return rec.connections[0]


def _extension_frames(conn: Connection) -> list[Frame]:
    """Text frames of the client that are x-fal-message frames (only extensions send them)."""
    found = []
    for frame in conn.frames:
        if frame.kind != "text":
            continue
        try:
            value = json.loads(frame.payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            continue
        if isinstance(value, dict) and value.get("type") == "x-fal-message":
            found.append(frame)
    return found


@pytest.mark.req("RT-EXT-001")
@pytest.mark.parametrize("case", EXT_CASES)
def test_client_asks_with_rt_ext(client_runs: ClientRuns, case: str) -> None:
    """Opting in adds rt_ext with the asked tokens, comma-separated, each once."""
    rec = client_runs.get(case)
    claimed(rec)
    values = _connection(rec).handshake.query.get("rt_ext")
    expect(values is not None and len(values) == 1, rec, f"rt_ext query values: {values}")
    assert values is not None
    tokens = values[0].split(",")
    want = ",".join(ASK_ALL) if case == "ext-correlation" else None
    expect(len(tokens) == len(set(tokens)), rec, f"rt_ext repeats a token: {values[0]!r}")
    expect(want is None or values[0] == want, rec, f"rt_ext={values[0]!r}, asked {want!r}")


@pytest.mark.req("RT-EXT-006")
@pytest.mark.parametrize("case", PLAIN_CASES)
def test_client_not_asked_stays_1_0(client_runs: ClientRuns, case: str) -> None:
    """Not asked to opt in, the client sends no rt_ext and no extension frame (1.0 bytes)."""
    rec = client_runs.get(case)
    usable(rec)
    for conn in rec.connections:
        expect("rt_ext" not in conn.handshake.query, rec, "rt_ext sent on a 1.0 case")
        expect(not _extension_frames(conn), rec, "an extension frame sent on a 1.0 case")


@pytest.mark.req("RT-EXT-006", "RT-EXT-007")
@pytest.mark.parametrize("case", ["ext-old-server", "ext-correlation"])
def test_client_sends_no_frame_of_an_extension_that_is_off(
    client_runs: ClientRuns, case: str
) -> None:
    """End-of-input is asked for but not enabled (no hello, or a hello without it): never sent."""
    rec = client_runs.get(case)
    on = claimed(rec)
    session_ended(rec)
    expect(not _extension_frames(_connection(rec)), rec, "sent end-of-input while it was off")
    want = [] if case == "ext-old-server" else ["end-of-output", "correlation"]
    expect(sorted(on) == sorted(want), rec, f"client says {on} are on; the server enabled {want}")


@pytest.mark.req("RT-EXT-007")
def test_client_reads_the_hello(client_runs: ClientRuns) -> None:
    """The client treats exactly the hello's extensions as on."""
    rec = client_runs.get("ext-end-of-input")
    on = claimed(rec)
    want = ["end-of-input", "end-of-output"]
    expect(sorted(on) == want, rec, f"client says {on} are on; the hello enabled {want}")


@pytest.mark.req("RT-EXT-008")
def test_client_does_not_wait_for_the_hello_to_send(client_runs: ClientRuns) -> None:
    """The hello comes only after the first input: a client waiting for it sends nothing."""
    rec = client_runs.get("ext-end-of-input")
    claimed(rec)
    data = [f for f in _connection(rec).frames if not is_end_of_input(f)]
    expect(data, rec, "no input reached the server: the client waited for the hello")
    outputs_match(rec)


@pytest.mark.req("RT-EXT-010")
def test_client_sends_one_end_of_input_after_its_inputs(client_runs: ClientRuns) -> None:
    """Exactly one end-of-input, after the last input, and no data message after it."""
    rec = client_runs.get("ext-end-of-input")
    claimed(rec)
    frames = _connection(rec).frames
    marks = [i for i, f in enumerate(frames) if is_end_of_input(f)]
    expect(len(marks) == 1, rec, f"{len(marks)} end-of-input frames, expected one")
    expect(marks[0] == len(frames) - 1, rec, "a message followed end-of-input")
    expect(marks[0] == 2, rec, f"end-of-input after {marks[0]} inputs, expected after 2")
    closed = rec.of("closed")
    expect(closed and closed[-1].get("clean"), rec, "the session did not end cleanly")


@pytest.mark.req("RT-EXT-021")
@pytest.mark.parametrize(
    ("case", "reason"), [("ext-end-of-output", "complete"), ("ext-end-of-input", "end-of-input")]
)
def test_client_reports_end_of_output_as_the_normal_end(
    client_runs: ClientRuns, case: str, reason: str
) -> None:
    """end-of-output then 1000 is a clean end with its reason, never an error."""
    rec = client_runs.get(case)
    claimed(rec)
    session_ended(rec)
    outputs_match(rec)
    expect(not failures(rec), rec, "the client reported the normal end as a failure")
    closed = rec.of("closed")
    expect(closed, rec, "no closed record")
    got = closed[-1].get("end_reason")
    expect(got == reason, rec, f"end_reason {got!r}, the server sent {reason!r}")


@pytest.mark.req("RT-EXT-033")
def test_client_maps_outputs_and_errors_to_input_indexes(client_runs: ClientRuns) -> None:
    """Outputs answer inputs 2 then 0; the error answers input 1."""
    rec = client_runs.get("ext-correlation")
    claimed(rec)
    outputs_match(rec)
    got = [e.get("inputs") for e in rec.of("output")]
    expect(got == [[2], [0]], rec, f"output inputs {got}, the server sent [[2], [0]]")
    errors = [e.get("input_index") for e in rec.of("error")]
    expect(errors == [1], rec, f"error input_index {errors}, the server sent [1]")


@pytest.mark.req("RT-EXT-042")
def test_client_declares_the_heartbeat_lost(client_runs: ClientRuns) -> None:
    """Silent for twice heartbeat_interval: the client reports HEARTBEAT_LOST and ends."""
    rec = client_runs.get("ext-heartbeat")
    claimed(rec)
    session_ended(rec)
    outputs_match(rec)
    codes = [e.get("code") for e in rec.of("error")]
    expect("HEARTBEAT_LOST" in codes, rec, f"error codes {codes}, expected HEARTBEAT_LOST")
    expect(not rec.of("timeout"), rec, "the adapter timed out before the client noticed")
