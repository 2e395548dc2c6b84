"""Fuzzing the live server: bad inputs between good ones lose and reorder nothing (RT-SEC-001).

Each case sends a good input, a fuzzed one and another good input on the same session (a
frame-stream case sends several messages, fragmented, with pings between fragments, cut into
random TCP writes). The good inputs must come back as exactly their outputs, in order; each
fuzzed message gets exactly one answer, an output or an `x-fal-error` frame; pings get their
pongs in order; the session survives every case.

The default run is a small derandomized subset (seconds). `RT_FUZZ_NIGHTLY=1` runs 10,000
cases per test, randomized (the nightly size of issue 12); `RT_FUZZ_CASES=N` sets the
count.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import given as hgiven
from hypothesis import strategies as st
from relhelpers import Frame, RawWs, ServerProc, frame, handshake

NIGHTLY = os.environ.get("RT_FUZZ_NIGHTLY") == "1"
CASES = int(os.environ.get("RT_FUZZ_CASES", 10_000 if NIGHTLY else 150))
FUZZ = settings(
    max_examples=CASES,
    derandomize=not NIGHTLY,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

_int64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.binary(max_size=40),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=6),
        st.dictionaries(st.one_of(st.text(max_size=8), _int64), inner, max_size=6),
    ),
    max_leaves=30,
)
#: Input-shaped maps: a fuzzed prompt and extra keys (never `delay_ms`/`fail`, which would
#: ask the app to wait or to fail on purpose).
_shaped = st.builds(
    lambda prompt, extra: {"prompt": prompt, **extra},
    _values,
    st.dictionaries(
        st.text(max_size=8).filter(lambda k: k not in ("prompt", "delay_ms", "fail", "count")),
        _values,
        max_size=3,
    ),
)


def _pack(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


@pytest.fixture(scope="module")
def session(server: ServerProc) -> Iterator[RawWs]:
    ws = handshake(server.port)
    assert ws.status == 101
    yield ws
    ws.close()


class Counter:
    n = 0

    @classmethod
    def word(cls) -> str:
        cls.n += 1
        return f"g{cls.n}"


def _one_answer(ws: RawWs, what: bytes) -> None:
    """The next frame answers a fuzzed message: an output map or an x-fal-error frame."""
    got = ws.recv_data()
    assert got is not None, f"the session ended after {what[:60]!r}"
    _check_answer(got, what)


def _check_answer(got: Frame, what: bytes) -> None:
    if got.opcode == 2:
        assert isinstance(msgpack.unpackb(got.payload), dict), f"output for {what[:60]!r}"
        return
    assert got.opcode == 1, f"{what[:60]!r} was answered with opcode {got.opcode}"
    error = json.loads(got.payload)
    assert error.get("type") == "x-fal-error", f"{what[:60]!r}: {error}"
    assert error.get("error") in ("INVALID_INPUT", "INTERNAL_ERROR"), error


def _good_output(ws: RawWs, word: str) -> None:
    got = ws.recv_data()
    assert got is not None, f"the session ended before the output of {word}"
    _check_good(got, word)


def _check_good(got: Frame, word: str) -> None:
    assert got.opcode == 2, f"expected the output of {word}, got {got.payload[:80]!r}"
    assert msgpack.unpackb(got.payload) == {"output": word}


def _sandwich(ws: RawWs, bad: bytes, opcode: int = 2) -> None:
    before, after = Counter.word(), Counter.word()
    good = frame(2, _pack({"prompt": before})), frame(2, _pack({"prompt": after}))
    ws.send(good[0] + frame(opcode, bad) + good[1])
    _good_output(ws, before)
    _one_answer(ws, bad)
    _good_output(ws, after)


@FUZZ
@hgiven(st.one_of(_values, _shaped))
def test_fuzzed_msgpack_values_between_good_inputs(session: RawWs, value: Any) -> None:
    _sandwich(session, _pack(value))


@FUZZ
@hgiven(st.one_of(st.binary(max_size=200), st.binary(max_size=8)))
def test_fuzzed_byte_strings_between_good_inputs(session: RawWs, data: bytes) -> None:
    _sandwich(session, data)


@FUZZ
@hgiven(st.text(max_size=60))
def test_fuzzed_text_frames_between_good_inputs(session: RawWs, text: str) -> None:
    _sandwich(session, text.encode(), opcode=1)


_message = st.one_of(
    st.builds(lambda: None),  # a good input, its word chosen when sent
    st.binary(max_size=300),
    _values.map(_pack),
)


@FUZZ
@hgiven(
    messages=st.lists(_message, min_size=1, max_size=5),
    cuts=st.lists(st.integers(min_value=0, max_value=4), min_size=5, max_size=5),
    split=st.integers(min_value=1, max_value=64),
    data=st.data(),
)
def test_fuzzed_frame_streams(
    session: RawWs, messages: list[bytes | None], cuts: list[int], split: int, data: Any
) -> None:
    """Messages in 1-5 fragments with pings between, written in pieces of 1..64 bytes."""
    stream = b""
    answers: list[tuple[str, bytes | str]] = []
    pongs: list[bytes] = []
    for i, item in enumerate(messages):
        want: tuple[str, bytes | str]
        if item is None:
            word = Counter.word()
            payload, want = _pack({"prompt": word}), ("good", word)
        else:
            payload, want = item, ("any", item)
        pieces = cuts[i] + 1
        size = max(1, -(-len(payload) // pieces))
        parts = [payload[j : j + size] for j in range(0, len(payload), size)] or [b""]
        for k, part in enumerate(parts):
            last = k == len(parts) - 1
            stream += frame(2 if k == 0 else 0, part, fin=last)
            if not last and data.draw(st.booleans()):
                pongs.append(f"p{len(pongs)}".encode())
                stream += frame(9, pongs[-1])
        answers.append(want)
    for j in range(0, len(stream), split):
        session.send(stream[j : j + split])
    # Pongs keep their order among themselves, answers among themselves (RT-LIFE-010,
    # RT-MSG-030); how the two interleave is the server's scheduling.
    got_pongs: list[bytes] = []
    got_data: list[Frame] = []
    while len(got_pongs) < len(pongs) or len(got_data) < len(answers):
        got = session.recv_frame()
        assert got is not None, f"the session ended ({len(got_data)}/{len(answers)} answers)"
        if got.opcode == 10:
            got_pongs.append(got.payload)
        else:
            got_data.append(got)
    assert got_pongs == pongs
    for (kind, expected), answer in zip(answers, got_data, strict=True):
        if isinstance(expected, str):
            _check_good(answer, expected)
        else:
            assert kind == "any"
            _check_answer(answer, expected)
