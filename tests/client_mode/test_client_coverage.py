"""Every client-side MUST and SHOULD has a client check, or a stated reason why none can exist."""

from __future__ import annotations

from conformance import catalog
from conformance.client_mode.coverage import NOT_TESTABLE, client_requirements, matrix, uncovered


def test_every_client_requirement_has_a_check() -> None:
    """A client-side MUST/SHOULD without a check fails the project's tests."""
    assert client_requirements(), "the spec's requirement list is not available"
    assert uncovered() == [], f"client-side requirements without a check: {uncovered()}"


def test_not_testable_entries_are_current() -> None:
    """Each not-testable entry is a client-side MUST/SHOULD that no check covers."""
    reqs = set(client_requirements())
    stale = sorted(r for r in NOT_TESTABLE if r not in reqs or r in matrix())
    assert stale == [], f"stale not-testable entries: {stale}"


def test_client_checks_cite_only_client_requirements() -> None:
    """A client check never cites a requirement that binds servers only (role confusion)."""
    known = catalog.load()
    wrong = sorted(r for r in matrix() if r not in known or "client" not in known[r].applies_to)
    assert wrong == [], f"client checks cite non-client requirements: {wrong}"
