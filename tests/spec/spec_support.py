"""Shared lookups for the spec's own tests: the checkout's spec/ directory, requirements, schemas.

Plain cached functions rather than conftest fixtures: test directories here have no packages,
and a second ``conftest`` module would collide with the others under mypy.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from conformance.requirements import Requirement, find_spec_dir, parse_spec


@functools.cache
def spec_dir() -> Path:
    """The checkout's spec/ directory."""
    found = find_spec_dir()
    assert found is not None, "tests/spec runs from a checkout"
    return found


@functools.cache
def spec_requirements() -> dict[str, Requirement]:
    """Every requirement parsed from the Markdown (not from the generated JSON)."""
    return {r.id: r for r in parse_spec(spec_dir())}


@functools.cache
def schemas() -> dict[Path, dict[str, Any]]:
    """Every ``*.schema.json`` under spec/schemas, by path."""
    root = spec_dir() / "schemas"
    return {
        path: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(root.rglob("*.schema.json"))
    }


@functools.cache
def registry() -> Registry[Any]:
    """A referencing registry holding every schema under its ``$id``."""
    resources = [
        (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT202012))
        for schema in schemas().values()
    ]
    return Registry().with_resources(resources)


@functools.cache
def schema_base() -> str:
    """The ``$id`` prefix that maps to spec/schemas/."""
    path = spec_dir() / "schemas" / "x-fal-error.schema.json"
    return str(schemas()[path]["$id"]).removesuffix("x-fal-error.schema.json")
