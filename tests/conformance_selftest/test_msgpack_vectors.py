"""The spec's msgpack vectors drive the suite's one msgpack scanner (spec chapter 01).

Each accept vector passes `conformance.msgpack_scan`; each reject vector is refused for the
reason the vector states (the JSON-Schema-Test-Suite pattern: the data files are the contract).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.catalog import find_spec_dir
from conformance.msgpack_scan import ProfileError, decode_profile, reject_reason

SPEC = find_spec_dir()
VECTOR_FILES = ("msgpack-valid.json", "msgpack-invalid.json")


def _cases() -> list[Any]:
    assert SPEC is not None, "the spec's vectors are read from a checkout"
    params = []
    for name in VECTOR_FILES:
        for n, case in enumerate(json.loads((SPEC / "vectors" / name).read_text("utf-8"))["cases"]):
            params.append(pytest.param(case, id=f"{name}[{n}] {case['description']}"))
    return params


@pytest.mark.parametrize("case", _cases())
def test_scanner_judges_each_vector_as_the_spec_does(case: dict[str, Any]) -> None:
    """Accept vectors pass; reject vectors fail for their stated reason (MAY: at depth 64)."""
    data = bytes.fromhex(case["hex"])
    if case["verdict"] == "accept":
        assert reject_reason(data) is None
        assert reject_reason(data, max_depth=64) is None  # RT-CONV-006: 64 levels always work
        return
    limit = 64 if case["level"] == "MAY" else 1024
    assert reject_reason(data, max_depth=limit) == case["reason"]


@pytest.mark.parametrize("case", _cases())
def test_server_output_validation_refuses_every_profile_breach(case: dict[str, Any]) -> None:
    """What the suite accepts from a server: a vector's breach of the profile is refused."""
    data = bytes.fromhex(case["hex"])
    breach = case["verdict"] == "reject" and case["reason"] not in ("not-a-map", "too-deep")
    if breach:
        with pytest.raises(ProfileError):
            decode_profile(data)
    elif case["verdict"] == "accept":
        decode_profile(data)
