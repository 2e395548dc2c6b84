"""Fixtures for the spec's own tests: the checkout's spec/ directory and its schema registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conformance.requirements import Requirement, find_spec_dir, parse_spec


@pytest.fixture(scope="session")
def spec_dir() -> Path:
    """The checkout's spec/ directory."""
    found = find_spec_dir()
    assert found is not None, "tests/spec runs from a checkout"
    return found


@pytest.fixture(scope="session")
def spec_requirements(spec_dir: Path) -> dict[str, Requirement]:
    """Every requirement parsed from the Markdown (not from the generated JSON)."""
    return {r.id: r for r in parse_spec(spec_dir)}


def load_schemas(spec_dir: Path) -> dict[Path, dict[str, Any]]:
    """Every ``*.schema.json`` under spec/schemas, by path."""
    root = spec_dir / "schemas"
    return {
        path: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(root.rglob("*.schema.json"))
    }


@pytest.fixture(scope="session")
def schemas(spec_dir: Path) -> dict[Path, dict[str, Any]]:
    """Every schema of the spec, by path."""
    return load_schemas(spec_dir)


@pytest.fixture(scope="session")
def registry(schemas: dict[Path, dict[str, Any]]) -> Registry[Any]:
    """A referencing registry holding every schema under its ``$id``."""
    resources = [
        (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012))
        for schema in schemas.values()
    ]
    return Registry().with_resources(resources)


@pytest.fixture(scope="session")
def schema_base(schemas: dict[Path, dict[str, Any]], spec_dir: Path) -> str:
    """The ``$id`` prefix that maps to spec/schemas/."""
    path = spec_dir / "schemas" / "x-fal-error.schema.json"
    return str(schemas[path]["$id"]).removesuffix("x-fal-error.schema.json")
