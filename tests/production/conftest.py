"""Fixtures of the production-mode tests (helpers in production_support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from plain_app import PlainApp


@pytest.fixture
def plain_app() -> Iterator[PlainApp]:
    """A correct plain app on /realtime."""
    with PlainApp() as app:
        yield app
