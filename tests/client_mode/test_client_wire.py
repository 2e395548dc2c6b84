"""The suite's own msgpack scanner judges encodings byte by byte (spec chapter 01)."""

from __future__ import annotations

import pytest

from conformance.client_mode.cases import DEEP_OUTPUT_HEX, PROFILE_OUTPUT_HEX
from conformance.client_mode.recording import decode_bytes, encode_bytes
from conformance.client_mode.wire import NotMsgpack, profile_problems, scan


@pytest.mark.parametrize(
    ("hex_bytes", "families"),
    [
        ("81a161ca3fc00000", ["map", "str", "float32"]),
        ("81a161cb3ff8000000000000", ["map", "str", "float64"]),
        ("81a162c40100", ["map", "str", "bin"]),
        ("92c0c3", ["array", "nil", "bool"]),
        ("cfffffffffffffffff", ["int"]),
    ],
)
def test_scan_names_each_encoding(hex_bytes: str, families: list[str]) -> None:
    """float32 and float64, str and bin are told apart."""
    assert [t.family for t in scan(bytes.fromhex(hex_bytes))] == families


@pytest.mark.parametrize(
    "hex_bytes", ["81a161a162c0", "c1", "", "82a161a162", "a2ff", "d5000102"[:6]]
)
def test_scan_refuses_what_is_not_one_value(hex_bytes: str) -> None:
    """Trailing bytes, c1, empty, truncated and invalid UTF-8 are not one msgpack value."""
    with pytest.raises(NotMsgpack):
        scan(bytes.fromhex(hex_bytes))


def test_profile_problems_names_each_breach() -> None:
    """A non-map top level, a non-str key and an ext value are each reported."""
    assert profile_problems(bytes.fromhex("81a161a162")) == []
    assert profile_problems(bytes.fromhex("91c0")) == ["top level is array, not a map"]
    assert profile_problems(bytes.fromhex("8101c0")) == ["a map key is not a str"]
    assert profile_problems(bytes.fromhex("81a161d50001ff")) == ["holds an ext type"]


def test_case_vectors_are_well_formed() -> None:
    """The hex outputs the cases send are one map each; the deep one is 64 levels."""
    assert profile_problems(bytes.fromhex(PROFILE_OUTPUT_HEX)) == []
    assert max(t.depth for t in scan(bytes.fromhex(DEEP_OUTPUT_HEX))) + 1 == 64


def test_bytes_round_trip_through_the_json_view() -> None:
    """{"$bytes": hex} stands for bytes in RT_INPUTS and in output records."""
    value = {"b": b"\x00\xff", "l": [b""], "s": "x"}
    assert encode_bytes(value) == {"b": {"$bytes": "00ff"}, "l": [{"$bytes": ""}], "s": "x"}
    assert decode_bytes(encode_bytes(value)) == value
