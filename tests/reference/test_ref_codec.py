"""The msgpack profile of inputs (reference/core/codec.py; spec chapter 01-conventions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.core.codec import MAX_DEPTH, Encoder, ProfileError, decode_input

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
maps = st.dictionaries(st.text(), values, max_size=6)


@given(maps)
def test_profile_maps_round_trip(value: dict[str, Any]) -> None:
    assert decode_input(Encoder().encode(value)) == value


@given(st.binary(max_size=64))
def test_arbitrary_bytes_decode_or_raise_profile_error(data: bytes) -> None:
    try:
        decoded: object = decode_input(data)
    except ProfileError as exc:
        decoded = exc
    assert type(decoded) is dict or (isinstance(decoded, ProfileError) and decoded.reason)


@pytest.mark.parametrize(
    ("hex_bytes", "fragment"),
    [
        ("c1", "not a valid msgpack"),  # never-used byte
        ("81a161", "not a valid msgpack"),  # truncated map
        ("80c0", "trailing bytes"),  # {} then nil
        ("91a161", "must be a msgpack map"),  # ["a"]
        ("a161", "must be a msgpack map"),  # "a"
        ("8101a161", "map keys must be strings"),  # {1: "a"}
        ("81c40161a162", "map keys must be strings"),  # {b"a": "b"}
        ("81a161d40100", "ext type 1"),  # {"a": ext(1)}
        ("81a161d6ff00000000", "ext types"),  # {"a": timestamp}
        ("81a161a2c328", "UTF-8"),  # {"a": "\xc3("}
    ],
)
def test_decode_refuses_inputs_outside_the_profile(hex_bytes: str, fragment: str) -> None:
    with pytest.raises(ProfileError) as info:
        decode_input(bytes.fromhex(hex_bytes))
    assert fragment in info.value.reason


def _nested(depth: int) -> bytes:
    value: Any = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return bytes(msgpack.packb(value))


def test_decode_accepts_the_depth_limit() -> None:
    assert decode_input(_nested(MAX_DEPTH))


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 1001, 5000])
def test_decode_refuses_deep_nesting_without_crashing(depth: int) -> None:
    with pytest.raises(ProfileError):
        decode_input(_nested(depth) if depth < 1000 else b"\x81\xa1a" * depth + b"\x80")


def test_encoder_packs_bytes_as_bin_and_floats_as_float64() -> None:
    data = Encoder().encode({"b": b"\x01", "f": 1.5})
    assert data == bytes.fromhex("82a162c40101a166cb3ff8000000000000")


# -- the spec's vectors (spec/vectors/msgpack-*.json, JSON-Schema-Test-Suite style) -----------
VECTORS = Path(__file__).resolve().parents[2] / "spec" / "vectors"


def _cases(name: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads((VECTORS / name).read_text())["cases"]
    return cases


def _from_json_view(value: Any) -> Any:
    """The JSON view of the vectors back to Python values.

    bin is {"$bytes": hex}; NaN and the infinities, which JSON cannot hold, are
    {"$float": "NaN" | "Infinity" | "-Infinity"} (spec/schemas/json-view.schema.json).
    """
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return bytes.fromhex(value["$bytes"])
        if set(value) == {"$float"}:
            return float(value["$float"])
        return {k: _from_json_view(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json_view(v) for v in value]
    return value


def _typed(value: Any) -> Any:
    """A comparable form that tells 1, 1.0 and True apart, and 0.0 from -0.0."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if isinstance(value, float):
        return ("float", value.hex())
    return (type(value).__name__, value)


@pytest.mark.parametrize("case", _cases("msgpack-valid.json"), ids=lambda c: str(c["description"]))
def test_decode_input_accepts_each_valid_vector(case: dict[str, Any]) -> None:
    decoded = decode_input(bytes.fromhex(case["hex"]))
    assert _typed(decoded) == _typed(_from_json_view(case["value"]))


@pytest.mark.parametrize(
    "case", _cases("msgpack-invalid.json"), ids=lambda c: str(c["description"])
)
def test_decode_input_rejects_each_invalid_vector(case: dict[str, Any]) -> None:
    # The reference is strict: MUST, SHOULD (robust) and MAY (depth over 64) cases all fail.
    with pytest.raises(ProfileError):
        decode_input(bytes.fromhex(case["hex"]))


def _counted(value: Any) -> int:
    """The objects RT-SEC-012's counter charges for `value`: each container 1 + its length."""
    if type(value) is dict:
        return 1 + len(value) + sum(_counted(item) for item in value.values())
    if type(value) is list:
        return 1 + len(value) + sum(_counted(item) for item in value)
    return 0


# Empty containers, nested (within MAX_DEPTH) or side by side, are the densest inputs.
DENSE = [
    b"\x81\xa0" * 60 + b"\x80",
    b"\x81\xa0\x91" + b"\x91" * 60 + b"\x90",
    b"\xdc\x01\x00" + b"\x80" * 256,
]


@pytest.mark.parametrize("data", DENSE)
def test_dense_inputs_count_at_most_two_objects_per_byte(data: bytes) -> None:
    """The premise of decode_input's shortcut: below 2 x size it need not count."""
    value = msgpack.unpackb(data, strict_map_key=False)
    assert _counted(value) <= 2 * len(data)


@given(maps)
def test_any_input_counts_at_most_two_objects_per_byte(value: dict[str, Any]) -> None:
    data = Encoder().encode(value)
    assert _counted(value) <= 2 * len(data)


@pytest.mark.parametrize("data", DENSE)
def test_object_limit_holds_on_both_sides_of_the_shortcut(data: bytes) -> None:
    """RT-SEC-012: a limit just under the count refuses, one at it accepts, counted or not."""
    if data[:1] == b"\xdc":
        data = b"\x81\xa1k" + data  # the top level must be a map
    count = _counted(msgpack.unpackb(data, strict_map_key=False))
    with pytest.raises(ProfileError, match="more than"):
        decode_input(data, max_objects=count - 1)
    assert decode_input(data, max_objects=count) is not None
    assert decode_input(data, max_objects=2 * len(data)) is not None  # the uncounted path
