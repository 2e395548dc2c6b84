"""The test vectors in spec/vectors: well-formed, consistent with the spec, and true (spec 01, 05).

msgpack vectors are judged by the suite's msgpack scanner (`conformance.msgpack_scan`) and
decoded with `msgpack`, so that each accept case decodes to its stated JSON view and each
reject case fails for its stated reason.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import msgpack
import pytest
import spec_support as sup
from jsonschema import Draft202012Validator
from referencing import Registry

from conformance.msgpack_scan import reject_reason
from conformance.requirements import find_spec_dir

_SPEC = find_spec_dir()
VECTOR_PATHS = sorted((_SPEC / "vectors").glob("*.json")) if _SPEC else []
LEVEL_RANK = {"MAY": 0, "SHOULD": 1, "MUST": 2}


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def _cases(kind: str) -> list[Any]:
    params = []
    for path in VECTOR_PATHS:
        data = _load(path)
        if data["kind"] != kind:
            continue
        for n, case in enumerate(data["cases"]):
            params.append(pytest.param(case, id=f"{path.stem}[{n}] {case['description']}"))
    return params


# --------------------------------------------------------------------------- a profile decoder


class ProfileError(Exception):
    """The message is not a valid input under the msgpack profile; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_input(data: bytes, max_depth: int = 1024) -> object:
    """Decode one input message strictly under the profile, or raise ProfileError.

    The profile is judged by the suite's one msgpack scanner (`conformance.msgpack_scan`), so
    these vectors hold it to the spec. Arrays decode as tuples, for `json_view`.
    """
    reason = reject_reason(data, max_depth)
    if reason is not None:
        raise ProfileError(reason)
    return msgpack.unpackb(data, raw=False, strict_map_key=False, use_list=False)


class _DuplicateKeys(dict[Any, Any]):
    """A decoded map in which some key appeared twice (the last value kept, RT-CONV-014)."""


def _pairs(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    mapping = dict(pairs)
    return _DuplicateKeys(mapping) if len(mapping) < len(pairs) else mapping


def json_view(value: object) -> object:
    """The JSON view of a decoded value (bin as {"$bytes": hex})."""
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, float) and not math.isfinite(value):
        name = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return {"$float": name}
    if isinstance(value, dict):
        return {k: json_view(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [json_view(v) for v in value]
    return value


def _same(a: object, b: object) -> bool:
    """Structural equality that also tells 1 from 1.0 from True, and -0.0 from 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return a.hex() == b.hex()
    return a == b


# --------------------------------------------------------------------------- file-level checks


@pytest.mark.parametrize("path", VECTOR_PATHS, ids=lambda p: p.name)
def test_vector_file_matches_the_vector_schema(path: Path) -> None:
    """Each vector file follows spec/schemas/vector-file.schema.json."""
    registry = sup.registry()
    schema = registry.contents(_schema_id(registry, "vector-file.schema.json"))
    Draft202012Validator(schema, registry=registry).validate(_load(path))


@pytest.mark.parametrize("path", VECTOR_PATHS, ids=lambda p: p.name)
def test_vector_file_cites_existing_requirements(path: Path) -> None:
    """Every requirement ID a vector cites exists in the spec."""
    spec_requirements = sup.spec_requirements()
    for case in _load(path)["cases"]:
        unknown = set(case["requirements"]) - set(spec_requirements)
        assert not unknown, (case["description"], unknown)


def test_every_reject_reason_is_covered() -> None:
    """The invalid msgpack vectors exercise every reason the vector schema allows."""
    reasons = {c.values[0]["reason"] for c in _cases("msgpack-input") if "reason" in c.values[0]}
    assert reasons == {
        "malformed",
        "not-a-map",
        "non-str-key",
        "invalid-utf8",
        "ext",
        "too-deep",
        "duplicate-key",
    }


# --------------------------------------------------------------------------- msgpack vectors


@pytest.mark.parametrize("case", _cases("msgpack-input"))
def test_msgpack_vector_holds(case: dict[str, Any]) -> None:
    """An accept case decodes to its value; a reject case fails for its reason."""
    spec_requirements = sup.spec_requirements()
    data = bytes.fromhex(case["hex"])
    if case["verdict"] == "accept":
        assert _same(json_view(decode_input(data)), case["value"])
        # A receiver must accept it whatever depth limit it chose (RT-CONV-006).
        decode_input(data, max_depth=64)
        return
    limit = 64 if case["level"] == "MAY" else 1024
    with pytest.raises(ProfileError) as info:
        decode_input(data, max_depth=limit)
    assert info.value.reason == case["reason"]
    if case["level"] == "MAY":
        decode_input(data, max_depth=1024)  # optional: a lenient server may accept it
    levels = {
        spec_requirements[r].level
        for r in case["requirements"]
        if spec_requirements[r].applies_to_server()
    }
    assert case["level"] in levels, (case["level"], levels)


# --------------------------------------------------------------------------- JSON text vectors


def _schema_id(registry: Registry[Any], relative: str) -> str:
    for uri in registry:
        if uri.endswith("/schemas/" + relative.split("#")[0]):
            return str(uri)
    raise AssertionError(f"no schema {relative}")


@pytest.mark.parametrize("case", _cases("json-text"))
def test_json_text_vector_holds(case: dict[str, Any]) -> None:
    """A valid case parses as JSON and passes its schema; an invalid one fails either step."""
    registry = sup.registry()
    uri = _schema_id(registry, case["schema"])
    fragment = case["schema"].partition("#")[2]
    validator = Draft202012Validator(
        {"$ref": uri + ("#" + fragment if fragment else "")}, registry=registry
    )
    try:
        document = json.loads(case["text"])
    except json.JSONDecodeError:
        assert case["verdict"] == "invalid", "a valid case must be JSON"
        return
    errors = list(validator.iter_errors(document))
    assert (not errors) == (case["verdict"] == "valid"), [e.message for e in errors]
