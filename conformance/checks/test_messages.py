"""Inputs and outputs on a unary realtime endpoint (spec chapters 01, 02 and 04-messages)."""

from __future__ import annotations

import pytest

from conformance import schemas
from conformance.failures import mark_verified, requirement
from conformance.wire import Target


@pytest.mark.req("RT-TRANS-001", "RT-MSG-020", "RT-MSG-021", "RT-CTRL-003", "RT-MSG-022")
def test_server_echoes_one_binary_output_per_input(target: Target) -> None:
    """A server answers one input with one BINARY msgpack map, on a plain v13 handshake."""
    with target.connect("/realtime") as conn:  # no subprotocol offered (RT-TRANS-001)
        mark_verified("RT-TRANS-001")
        conn.send_msgpack({"prompt": "hello"})
        frame = conn.recv_data()
        with requirement("RT-MSG-020", "RT-CTRL-003"):
            assert frame.kind == "binary", f"the output came as {frame.summary()}"
        with requirement("RT-MSG-021"):
            assert frame.value == {"output": "hello"}
        with requirement("RT-MSG-022"):
            assert frame.value.get("status") != "error"


@pytest.mark.req("RT-MSG-021", "RT-MSG-030")
def test_server_answers_each_of_many_inputs_in_order(target: Target) -> None:
    """Inputs sent back to back get exactly one output each, in input order."""
    prompts = [f"p{i}" for i in range(50)]
    with target.connect() as conn:
        for prompt in prompts:
            conn.send_msgpack({"prompt": prompt})
        outputs = [conn.recv_output()["output"] for _ in prompts]
        with requirement("RT-MSG-021"):
            assert sorted(outputs) == sorted(prompts), "some inputs were not answered exactly once"
        with requirement("RT-MSG-030"):
            assert outputs == prompts, "outputs came out of input order"
        conn.send_msgpack({"prompt": "last"})
        with requirement("RT-MSG-021"):
            assert conn.recv_output() == {"output": "last"}, "an extra output arrived"


@pytest.mark.req("RT-MSG-014")
def test_server_ignores_input_keys_the_app_does_not_use(target: Target) -> None:
    """Unknown keys in an input map are passed over, not refused."""
    with target.connect() as conn:
        conn.send_msgpack({"prompt": "x", "extra": 1, "nested": {"a": [1, 2]}})
        assert conn.recv_output() == {"output": "x"}


# Each value of the msgpack profile, placed in an ignored key (RT-CONV-005), as explicit bytes:
# fixmap(2) "prompt" "v" "extra" <value>.
_HEAD = bytes.fromhex("82 a6 70726f6d7074 a1 76 a5 6578747261")
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
@pytest.mark.parametrize("value_hex", list(PROFILE_VALUES.values()), ids=list(PROFILE_VALUES))
def test_server_accepts_every_profile_value(target: Target, value_hex: str) -> None:
    """Every msgpack profile type is accepted anywhere in an input."""
    with target.connect() as conn:
        conn.send_bytes(_HEAD + bytes.fromhex(value_hex))
        assert conn.recv_output() == {"output": "v"}


def _nested(depth: int) -> bytes:
    """An input whose `extra` value is `depth` levels of single-element arrays around nil."""
    return _HEAD + bytes.fromhex("91") * (depth - 1) + bytes.fromhex("c0")


@pytest.mark.req("RT-CONV-006")
def test_server_accepts_nesting_depth_64(target: Target) -> None:
    """Values nested 64 deep (the top-level map counts as level 1) are accepted."""
    with target.connect() as conn:
        conn.send_bytes(_nested(63))
        assert conn.recv_output() == {"output": "v"}


@pytest.mark.req("RT-CONV-001", "RT-CONV-002", "RT-CONV-003", "RT-CONV-004")
def test_server_outputs_stay_inside_the_profile(target: Target) -> None:
    """Outputs use only profile types, str keys, UTF-8 str and float64 (validated per frame)."""
    with target.connect() as conn:
        for prompt in ("ascii", "é ✓ \U0001f600", ""):
            conn.send_msgpack({"prompt": prompt})
            frame = conn.recv_data()  # the frame validator enforces CONV-001..003
            assert frame.kind == "binary", frame.summary()
            with requirement("RT-CONV-003"):
                assert frame.value == {"output": prompt}
            with requirement("RT-CONV-004"):
                assert not schemas.float32_paths(frame.data), "the output holds float32 values"
