"""The reference codec runs every msgpack vector (spec 01-conventions; vectors/README.md).

Only the codec's public functions are used (`decode_input`/`decode` for inputs, `decode_output`
for outputs), so this test survives a redesign of `reference/` that keeps them. The reference
claims the robust profile, so it is held to every MUST and SHOULD case; MAY cases may go either
way. Cases the reference is known not to meet yet are listed in `KNOWN_GAPS` and marked
`xfail(strict=True)`: a fix turns them into failures here until the entry is removed.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable
from typing import Any

import pytest
import spec_support as sup

from reference.core import codec

VECTORS = sup.spec_dir() / "vectors"

# The reference codec's decoders, by whichever public name it has.
_decode_input: Callable[[bytes], Any] = (
    getattr(codec, "decode_input", None) or codec.__dict__["decode"]
)
_decode_output: Callable[[bytes], Any] = (
    getattr(codec, "decode_output", None) or codec.__dict__["decode"]
)

# Vector description -> why the reference does not meet it yet (owner: the reference core).
KNOWN_GAPS: dict[str, str] = {}  # RT-CONV-016 closed: decode_output checks the profile


def _cases(name: str) -> list[Any]:
    data = json.loads((VECTORS / name).read_text("utf-8"))
    params = []
    for n, case in enumerate(data["cases"]):
        marks = []
        gap = KNOWN_GAPS.get(case["description"])
        if gap is not None:
            marks.append(pytest.mark.xfail(reason=gap, strict=True))
        params.append(pytest.param(case, id=f"{name}[{n}] {case['description']}", marks=marks))
    return params


def view(value: Any) -> Any:
    """The JSON view of a decoded value (spec 1.2)."""
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, float) and not math.isfinite(value):
        name = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return {"$float": name}
    if isinstance(value, dict):
        return {k: view(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [view(v) for v in value]
    return value


def same(a: Any, b: Any) -> bool:
    """Equality that tells 1 from 1.0 from True and -0.0 from 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return bool(a.hex() == b.hex())
    return bool(a == b)


def _input_cases() -> list[Any]:
    return _cases("msgpack-valid.json") + _cases("msgpack-invalid.json")


@pytest.mark.parametrize("case", _input_cases())
def test_reference_decodes_input_vector(case: dict[str, Any]) -> None:
    """Accept cases decode to their value; MUST and SHOULD reject cases raise."""
    data = bytes.fromhex(case["hex"])
    if case["verdict"] == "accept":
        assert same(view(_decode_input(data)), case["value"])
        return
    if case["level"] == "MAY":
        with contextlib.suppress(ValueError):  # either verdict is conformant
            _decode_input(data)
        return
    with pytest.raises(ValueError):
        _decode_input(data)


@pytest.mark.parametrize("case", _cases("msgpack-output.json"))
def test_reference_decodes_output_vector(case: dict[str, Any]) -> None:
    """Deliver cases decode to their value; error cases raise."""
    data = bytes.fromhex(case["hex"])
    if case["verdict"] == "deliver":
        assert same(view(_decode_output(data)), case["value"])
        return
    with pytest.raises(ValueError):
        _decode_output(data)


@pytest.mark.parametrize(
    "case", [c for c in _cases("msgpack-valid.json") if "(1.1)" in c.values[0]["description"]]
)
def test_reference_encoding_round_trips(case: dict[str, Any]) -> None:
    """What the codec decodes it encodes back to an equal value (RT-CONV-001 to RT-CONV-003)."""
    value = _decode_input(bytes.fromhex(case["hex"]))
    assert same(view(_decode_input(codec.encode(value))), case["value"])
