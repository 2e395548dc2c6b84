"""Client checks: what the client sends as inputs (spec chapters 01, 04 and 07)."""

from __future__ import annotations

import pytest

from conformance.client_mode.cases import get_case
from conformance.client_mode.judge import decode_input, expect, fail, usable
from conformance.client_mode.recording import Recording, decode_bytes
from conformance.client_mode.session import ClientRuns
from conformance.client_mode.wire import NotMsgpack, scan


@pytest.mark.req("RT-MSG-002")
@pytest.mark.parametrize("case", ["echo", "types"])
def test_client_sends_no_text_messages(client_runs: ClientRuns, case: str) -> None:
    """No input travels in a text message."""
    rec = client_runs.get(case)
    usable(rec)
    expect(rec.frames, rec, "the client sent no input")
    text = [f for f in rec.frames if f.kind != "binary"]
    expect(not text, rec, f"{len(text)} of {len(rec.frames)} inputs came as text messages")


@pytest.mark.req("RT-MSG-001")
@pytest.mark.parametrize("case", ["echo", "types"])
def test_client_sends_each_input_as_a_binary_msgpack_map(
    client_runs: ClientRuns, case: str
) -> None:
    """Each input is one binary message holding exactly one msgpack map."""
    rec = client_runs.get(case)
    usable(rec)
    expect(rec.frames, rec, "the client sent no input")
    for i, frame in enumerate(rec.frames):
        expect(frame.kind == "binary", rec, f"input {i} is a {frame.kind} message")
        try:
            tokens = scan(frame.payload)
        except NotMsgpack as exc:
            fail(rec, f"input {i} is not one msgpack value: {exc}")
        expect(tokens[0].family == "map", rec, f"input {i} is a msgpack {tokens[0].family}")


def _profile_tokens(client_runs: ClientRuns) -> tuple[Recording, list[str], list[bool]]:
    rec = client_runs.get("types")
    usable(rec)
    expect(rec.frames, rec, "the client sent no input")
    try:
        tokens = scan(rec.frames[0].payload)
    except NotMsgpack as exc:
        fail(rec, f"the input is not one msgpack value: {exc}")
    return rec, [t.family for t in tokens], [t.is_key for t in tokens]


@pytest.mark.req("RT-CONV-001")
def test_client_uses_only_profile_types(client_runs: ClientRuns) -> None:
    """An input holding every kind of value is encoded with profile types only (no ext)."""
    rec, families, _ = _profile_tokens(client_runs)
    expect("ext" not in families, rec, "the input holds a msgpack ext value")


@pytest.mark.req("RT-CONV-002")
def test_client_encodes_map_keys_as_str(client_runs: ClientRuns) -> None:
    """Every map key of an input is a msgpack str."""
    rec, families, keys = _profile_tokens(client_runs)
    bad = [f for f, is_key in zip(families, keys, strict=True) if is_key and f != "str"]
    expect(not bad, rec, f"map keys encoded as {bad}")


@pytest.mark.req("RT-CONV-003")
def test_client_encodes_bytes_as_bin_and_text_as_str(client_runs: ClientRuns) -> None:
    """Bytes go out as msgpack bin and text as msgpack str, never one as the other."""
    rec = client_runs.get("types")
    usable(rec)
    expect(rec.frames, rec, "the client sent no input")
    value = decode_input(rec.frames[0].payload)
    expect(isinstance(value, dict), rec, "the input is not a map")
    expect(isinstance(value.get("b"), bytes), rec, "bytes were not sent as msgpack bin")
    expect(value.get("b") == b"\x00\xff\x10", rec, "the bytes value changed")
    expect(isinstance(value.get("s"), str), rec, "text was not sent as msgpack str")
    expect(value.get("s") == "h\u00e9llo", rec, "the text value changed")
    nested = value.get("a")
    expect(isinstance(nested, list) and nested[-1] == b"", rec, "empty bytes not sent as bin")


@pytest.mark.req("RT-CONV-004")
def test_client_encodes_floats_as_float64(client_runs: ClientRuns) -> None:
    """Non-integer numbers go out as float64."""
    rec, families, _ = _profile_tokens(client_runs)
    expect("float32" not in families, rec, "a float was encoded as float32")


@pytest.mark.req("RT-MSG-003")
@pytest.mark.parametrize("case", ["echo", "types", "server-streaming"])
def test_client_sends_inputs_unchanged(client_runs: ClientRuns, case: str) -> None:
    """The client sends the maps it was given, each once, in order, adding no member."""
    rec = client_runs.get(case)
    usable(rec)
    sent = [decode_input(frame.payload) for frame in rec.frames]
    want = decode_bytes(get_case(case).inputs)
    expect(sent == want, rec, f"inputs sent {sent!r}, expected {want!r}")


@pytest.mark.req("RT-FLOW-030", "RT-CONF-041")
def test_client_sends_every_input_without_waiting_for_outputs(client_runs: ClientRuns) -> None:
    """Twenty inputs sent at once all reach a server that answers only after the last one."""
    rec = client_runs.get("burst")
    usable(rec)
    sent = [_prompt(decode_input(frame.payload)) for frame in rec.frames]
    want = [value["prompt"] for value in get_case("burst").inputs]
    expect(sent == want, rec, f"{len(sent)} of {len(want)} inputs arrived before any output")


def _prompt(value: object) -> object:
    return value.get("prompt") if isinstance(value, dict) else value
