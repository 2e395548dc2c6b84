"""Every server-side MUST and SHOULD of the spec has a check (spec chapter 13: traceability)."""

from __future__ import annotations

import pytest

from conformance import catalog, coverage, plugin


def _server_requirements() -> list[catalog.Requirement]:
    return [r for r in catalog.load().values() if r.server_side and r.level in ("MUST", "SHOULD")]


def test_every_server_requirement_has_a_check() -> None:
    covered = coverage.covered_ids()
    missing = [
        r.id
        for r in _server_requirements()
        if r.id not in covered and r.id not in coverage.NOT_OBSERVABLE
    ]
    assert not missing, f"server-side MUST/SHOULD requirements without a check: {missing}"


def test_not_observable_list_is_not_stale() -> None:
    server_ids = {r.id for r in _server_requirements()}
    stale = [rid for rid in coverage.NOT_OBSERVABLE if rid not in server_ids]
    assert not stale, f"NOT_OBSERVABLE names requirements that are not server MUST/SHOULD: {stale}"
    overlap = [rid for rid in coverage.NOT_OBSERVABLE if rid in coverage.covered_ids()]
    assert not overlap, f"requirements both checked and listed as not observable: {overlap}"


def test_every_marker_names_a_known_requirement() -> None:
    known = catalog.load()
    unknown = sorted(set(coverage.covered_ids()) - set(known))
    assert not unknown, f"checks marked with IDs the spec does not define: {unknown}"


def test_unknown_marker_id_stops_collection() -> None:
    with pytest.raises(pytest.UsageError, match="unknown requirement ID 'RT-MSG-999'"):
        plugin.validate_ids("x.py::test_x", ["RT-MSG-999"])
    with pytest.raises(pytest.UsageError, match="malformed requirement ID"):
        plugin.validate_ids("x.py::test_x", ["RT-msg-1"])
    with pytest.raises(pytest.UsageError, match=r"without @pytest\.mark\.req"):
        plugin.validate_ids("x.py::test_x", [])
