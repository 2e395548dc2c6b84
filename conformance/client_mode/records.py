"""Validate adapter records against the spec's schema (spec chapter 13, RT-CONF-042).

The schemas are the spec's, read from ``data_path("schemas")`` (spec/ or the packaged copy):
``client-adapter-event.schema.json`` and the ``json-view.schema.json`` it refers to.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from conformance.requirements import data_path

EVENT_SCHEMA = "client-adapter-event.schema.json"
REFERENCED = ("json-view.schema.json",)


def _load(name: str) -> dict[str, Any]:
    path = data_path("schemas") / name
    document: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return document


@functools.cache
def validator() -> Draft202012Validator:
    """A validator for one adapter record, with the schemas it refers to registered."""
    registry: Registry[Any] = Registry()
    for name in REFERENCED:
        doc = _load(name)
        registry = registry.with_resource(doc.get("$id", name), Resource.from_contents(doc))
    return Draft202012Validator(_load(EVENT_SCHEMA), registry=registry)


def record_problem(record: Any) -> str | None:
    """The first way ``record`` breaks the record schema, or None."""
    errors = sorted(validator().iter_errors(record), key=lambda e: list(e.path))
    if not errors:
        return None
    best = errors[0]
    where = "/".join(str(p) for p in best.path) or "(top level)"
    return f"{where}: {best.message[:200]}"
