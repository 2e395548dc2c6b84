"""Every JSON Schema in spec/schemas is valid 2020-12 and every reference in it resolves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import spec_support as sup
from jsonschema import Draft202012Validator

from conformance.requirements import find_spec_dir

_SPEC = find_spec_dir()
SCHEMA_PATHS = sorted((_SPEC / "schemas").rglob("*.schema.json")) if _SPEC else []


def _walk_refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _walk_refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _walk_refs(item)]
    return []


@pytest.mark.parametrize("path", SCHEMA_PATHS, ids=lambda p: p.name)
def test_schema_is_valid_against_the_2020_12_metaschema(path: Path) -> None:
    """The schema declares 2020-12 and passes its metaschema."""
    schemas = sup.schemas()
    schema = schemas[path]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", SCHEMA_PATHS, ids=lambda p: p.name)
def test_schema_id_mirrors_its_path(path: Path) -> None:
    """`$id` is the base plus the path under spec/schemas, so relative `$ref`s resolve."""
    schemas = sup.schemas()
    spec_dir = sup.spec_dir()
    schema_base = sup.schema_base()
    relative = path.relative_to(spec_dir / "schemas").as_posix()
    assert schemas[path]["$id"] == schema_base + relative


@pytest.mark.parametrize("path", SCHEMA_PATHS, ids=lambda p: p.name)
def test_every_ref_resolves(path: Path) -> None:
    """Each `$ref` names a schema (and fragment) that exists."""
    schemas = sup.schemas()
    registry = sup.registry()
    schema = schemas[path]
    resolver = registry.resolver(base_uri=schema["$id"])
    for ref in _walk_refs(schema):
        resolver.lookup(ref)


def test_endpoint_catalogue_names_existing_schemas() -> None:
    """Every schema the conformance-app catalogue names exists."""
    spec_dir = sup.spec_dir()
    root = spec_dir / "schemas" / "conformance-app"
    catalogue = json.loads((root / "endpoints.json").read_text("utf-8"))
    for path, endpoint in catalogue["endpoints"].items():
        for key in ("input", "output"):
            if key in endpoint:
                target = root / endpoint[key].split("#")[0]
                assert target.is_file(), (path, key, target)
