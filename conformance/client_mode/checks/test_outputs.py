"""Client checks: how outputs reach the caller (spec chapters 01, 02 and 04)."""

from __future__ import annotations

import pytest

from conformance.client_mode.cases import MALFORMED_HEX, MIB, large_text
from conformance.client_mode.judge import (
    expect,
    expect_accepted,
    expected_outputs,
    outputs_match,
    session_ended,
)
from conformance.client_mode.session import ClientRuns


@pytest.mark.req("RT-MSG-023", "RT-MSG-032")
@pytest.mark.parametrize("case", ["echo", "burst", "server-streaming"])
def test_client_delivers_every_output_in_order(client_runs: ClientRuns, case: str) -> None:
    """Each binary message reaches the caller once, decoded, in the order it arrived."""
    rec = client_runs.get(case)
    session_ended(rec)
    outputs_match(rec)


@pytest.mark.req("RT-CONV-005")
@pytest.mark.parametrize("case", ["types", "receive-profile"])
def test_client_accepts_every_profile_value(client_runs: ClientRuns, case: str) -> None:
    """float32, 64-bit integers at both ends, empty str/bin/array/map, unicode keys: all read."""
    rec = client_runs.get(case)
    session_ended(rec)
    if case == "types":
        # The server echoed what it received inside {"output": ...}; whatever the client sent,
        # the caller must get exactly that back.
        from conformance.client_mode.cases import lenient_decode

        want = [{"output": lenient_decode(f)} for f in rec.frames[:1]]
    else:
        want = expected_outputs(rec)
    message = f"outputs {rec.outputs!r}, expected {want!r}"
    expect_accepted(rec, rec.outputs, want, message, "RT-CONV-005")


@pytest.mark.req("RT-CONV-006")
def test_client_accepts_an_output_nested_64_deep(client_runs: ClientRuns) -> None:
    """An output nested 64 levels deep reaches the caller whole."""
    rec = client_runs.get("deep-output")
    session_ended(rec)
    outputs_match(rec)


@pytest.mark.req("RT-CONV-010")
def test_client_does_not_deliver_malformed_messages(client_runs: ClientRuns) -> None:
    """Trailing bytes, c1, an empty or a truncated message is never delivered as an output."""
    rec = client_runs.get("malformed-outputs")
    session_ended(rec)
    leaked = [o for o in rec.outputs if o != {"output": "ok"}]
    expect(not leaked, rec, f"malformed messages ({', '.join(MALFORMED_HEX)}) came out as {leaked}")


@pytest.mark.req("RT-TRANS-041")
def test_client_reassembles_a_fragmented_output(client_runs: ClientRuns) -> None:
    """An output sent in three fragments reaches the caller as one output."""
    rec = client_runs.get("fragmented-output")
    session_ended(rec)
    outputs_match(rec)


@pytest.mark.req("RT-TRANS-045")
def test_client_accepts_a_1_mib_output(client_runs: ClientRuns) -> None:
    """An output message of 1 MiB reaches the caller whole."""
    rec = client_runs.get("output-1mib")
    session_ended(rec)
    got = [len(o.get("output", "")) if isinstance(o, dict) else None for o in rec.outputs]
    expect(got == [len(large_text(MIB))], rec, f"output sizes {got}")


@pytest.mark.req("RT-TRANS-046")
def test_client_accepts_a_16_mib_output(client_runs: ClientRuns) -> None:
    """An output message of 16 MiB reaches the caller whole."""
    rec = client_runs.get("output-16mib")
    session_ended(rec)
    got = [len(o.get("output", "")) if isinstance(o, dict) else None for o in rec.outputs]
    expect(got == [len(large_text(16 * MIB))], rec, f"output sizes {got}")
