"""Client checks: what the client sends as inputs (spec chapters 01, 02 and 04)."""

from __future__ import annotations

import json

import msgpack
import pytest

from conformance.client_mode.cases import get_case
from conformance.client_mode.judge import explain
from conformance.client_mode.recording import decode_bytes
from conformance.client_mode.session import ClientRuns
from conformance.client_mode.wire import NotMsgpack, profile_problems, scan


@pytest.mark.req("TBD:binary-inputs")
def test_client_sends_inputs_as_binary_frames(client_runs: ClientRuns) -> None:
    """Every input travels in a binary WebSocket message, never a text one."""
    rec = client_runs.get("echo")
    assert rec.frames, explain(rec, "the client sent no input")
    text = [f for f in rec.frames if f.kind != "binary"]
    assert not text, explain(rec, f"{len(text)} of {len(rec.frames)} inputs came as text frames")


@pytest.mark.req("TBD:msgpack-map-input")
@pytest.mark.parametrize("case", ["echo", "types"])
def test_client_sends_one_msgpack_map_per_input(client_runs: ClientRuns, case: str) -> None:
    """Each input message holds exactly one msgpack map with str keys and no ext type."""
    rec = client_runs.get(case)
    assert rec.frames, explain(rec, "the client sent no input")
    for i, frame in enumerate(rec.frames):
        problems = profile_problems(frame.payload)
        assert not problems, explain(rec, f"input {i}: {'; '.join(problems)}")


@pytest.mark.req("TBD:input-values")
@pytest.mark.parametrize("case", ["echo", "server-streaming"])
def test_client_sends_each_input_once_in_order(client_runs: ClientRuns, case: str) -> None:
    """The client sends the inputs it was given, each once, in the order given."""
    rec = client_runs.get(case)
    sent = [msgpack_or_json(frame.payload) for frame in rec.frames]
    want = decode_bytes(get_case(case).inputs)
    assert sent == want, explain(rec, f"inputs sent {sent!r}, expected {want!r}")


@pytest.mark.req("TBD:msgpack-types")
def test_client_encodes_bytes_as_bin_and_text_as_str(client_runs: ClientRuns) -> None:
    """Bytes go out as msgpack bin and strings as msgpack str, values unchanged."""
    rec = client_runs.get("types")
    assert len(rec.frames) == 1, explain(rec, "expected exactly one input")
    frame = rec.frames[0]
    try:
        raw = msgpack.unpackb(frame.payload, raw=True)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
        pytest.fail(explain(rec, "the input is not msgpack"), pytrace=False)
    assert isinstance(raw, dict), explain(rec, "the input is not a map")
    assert raw.get(b"s") == "h\u00e9llo".encode(), explain(rec, "str value changed")
    assert raw.get(b"b") == b"\x00\xff\x10", explain(rec, "bytes value changed")
    value = msgpack.unpackb(frame.payload, raw=False)
    assert isinstance(value.get("b"), bytes), explain(rec, "bytes were not sent as msgpack bin")
    assert isinstance(value.get("s"), str), explain(rec, "a string was not sent as msgpack str")
    want = decode_bytes(get_case("types").inputs[0])
    assert value == want, explain(rec, f"input decoded to {value!r}, expected {want!r}")


@pytest.mark.req("TBD:float64")
def test_client_encodes_floats_as_float64(client_runs: ClientRuns) -> None:
    """Encoders emit float64 for floats (float32 loses precision)."""
    rec = client_runs.get("types")
    assert rec.frames, explain(rec, "the client sent no input")
    try:
        families = [t.family for t in scan(rec.frames[0].payload)]
    except NotMsgpack:
        pytest.fail(explain(rec, "the input is not msgpack"), pytrace=False)
    assert "float32" not in families, explain(rec, "a float was encoded as float32")


def msgpack_or_json(payload: bytes) -> object:
    """Decode an input for comparison, whatever its encoding (other checks judge that)."""
    try:
        return msgpack.unpackb(payload, raw=False)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
        try:
            return json.loads(payload)
        except ValueError:
            return payload
