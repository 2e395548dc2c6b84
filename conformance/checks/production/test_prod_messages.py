"""A production app's inputs and outputs: counts, order, profile (chapters 01, 04-messages)."""

from __future__ import annotations

import pytest

from conformance import schemas
from conformance.failures import ConformanceFailure, requirement
from conformance.production.app import NA, App

BURST = 20
QUIET = 0.5  # how long no extra output may arrive after the last expected one


@pytest.mark.req("RT-MSG-021")
def test_app_answers_each_of_many_inputs_exactly_once(app: App) -> None:
    """Inputs sent back to back get one output each, and no extra one arrives."""
    samples = app.cycle(BURST)
    with app.connect() as conn:
        for sample in samples:
            conn.send_bytes(app.packed(sample))
        with requirement("RT-MSG-021"):
            for i in range(len(samples)):
                frame = conn.recv_data()
                assert frame.kind == "binary", f"output {i + 1} of {BURST}: {frame.summary()}"
        try:
            extra = conn.recv_data(timeout=QUIET)
        except ConformanceFailure:
            return  # silence after the last output is the pass
        with requirement("RT-MSG-021"):
            raise AssertionError(f"{BURST} inputs got more than {BURST} answers: {extra.summary()}")


@pytest.mark.req("RT-MSG-030")
def test_app_answers_in_input_order(app: App) -> None:
    """Outputs come in the order of their inputs (needs declared, distinct outputs)."""
    declared = [s for s in app.samples if s.output is not None]
    if len({repr(s.output) for s in declared}) < 2:
        pytest.skip(NA + "output order needs two sample inputs whose declared outputs differ")
    samples = [declared[i % len(declared)] for i in range(BURST)]
    with app.connect() as conn:
        for sample in samples:
            conn.send_bytes(app.packed(sample))
        outputs = [conn.recv_output(schema=None) for _ in samples]
    expected = [s.output for s in samples]
    with requirement("RT-MSG-021"):
        assert sorted(map(repr, outputs)) == sorted(map(repr, expected)), (
            f"the outputs are not the declared ones: {outputs}"
        )
    with requirement("RT-MSG-030"):
        assert outputs == expected, f"outputs out of input order: {outputs}"


@pytest.mark.req("RT-MSG-014")
def test_app_ignores_input_keys_it_does_not_use(app: App) -> None:
    """An input carrying a key the app does not use is answered like the input without it."""
    with app.connect() as conn:
        conn.send_bytes(app.with_extra(app.first, bytes.fromhex("81 a1 61 92 01 02")))
        with requirement("RT-MSG-014"):
            frame = conn.recv_data()
            assert frame.kind == "binary", f"an unused key got {frame.summary()}"
            if app.first.output is not None:
                assert frame.value == app.first.output, frame.value


# Each value of the msgpack profile as explicit bytes (the same list as the app checks').
PROFILE_VALUES = {
    "nil": "c0",
    "true": "c3",
    "float32 1.5": "ca 3fc00000",
    "float64 -0.25": "cb bfd0000000000000",
    "int64 min": "d3 8000000000000000",
    "uint64 max": "cf ffffffffffffffff",
    "negative fixint": "ff",
    "empty str": "a0",
    "str8 unicode": "d9 06 e2 9c 93 c3 a9 78",
    "empty bin": "c4 00",
    "bin8": "c4 03 00 ff 10",
    "empty array": "90",
    "array16": "dc 0002 01 02",
    "map with unicode key": "81 a2 c3 a9 01",
    "map32 empty": "df 00000000",
    "str32": "db 00000001 61",
}


@pytest.mark.req("RT-CONV-005")
def test_app_accepts_every_profile_value(app: App) -> None:
    """Every msgpack profile type is accepted in a key the app does not use."""
    app.needs_extra_keys()
    with app.connect() as conn:
        for name, value_hex in PROFILE_VALUES.items():
            conn.send_bytes(app.with_extra(app.first, bytes.fromhex(value_hex)))
            frame = conn.recv_data()
            with requirement("RT-CONV-005"):
                assert frame.kind == "binary", f"the profile value {name} got {frame.summary()}"


@pytest.mark.req("RT-CONV-006")
def test_app_accepts_nesting_depth_64(app: App) -> None:
    """Values nested 64 deep (the input map is level 1) are accepted."""
    app.needs_extra_keys()
    with app.connect() as conn:
        conn.send_bytes(app.with_extra(app.first, b"\x91" * 62 + b"\xc0"))
        frame = conn.recv_data()
        with requirement("RT-CONV-006"):
            assert frame.kind == "binary", f"an input nested 64 deep got {frame.summary()}"


@pytest.mark.req("RT-CONV-001", "RT-CONV-002", "RT-CONV-003", "RT-CONV-004")
def test_app_outputs_stay_inside_the_profile(app: App) -> None:
    """Outputs use only profile types, str keys, UTF-8 str (validated per frame) and float64."""
    with app.connect() as conn:
        for sample in app.samples:
            conn.send_bytes(app.packed(sample))
            frame = conn.recv_data()  # the frame validator enforces CONV-001..003
            assert frame.kind == "binary", frame.summary()
            with requirement("RT-CONV-004"):
                assert not schemas.float32_paths(frame.data), "the output holds float32 values"
