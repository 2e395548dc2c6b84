"""Fixtures of the production-app checks (spec chapter 13.4): the app and its samples."""

from __future__ import annotations

import pytest

from conformance.failures import HarnessError
from conformance.production.app import App, Mode
from conformance.production.plugin import production_mode
from conformance.wire import Target


@pytest.fixture(scope="session")
def mode(pytestconfig: pytest.Config) -> Mode:
    """The sample inputs and realtime path the user gave."""
    found = production_mode(pytestconfig)
    if found is None:
        raise HarnessError("production checks run only with --sample-input")
    return found


@pytest.fixture
def app(target: Target, mode: Mode) -> App:
    """The production app on the target, traced into this check's frame trace."""
    return App(target, mode)
