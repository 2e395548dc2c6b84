"""Fixtures: reference servers as subprocesses on 127.0.0.1 (spec chapter 12-security)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from relhelpers import KEY, ServerProc


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProc]:
    """One open server shared by a module's tests that do not measure its memory."""
    proc = ServerProc()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def keyed() -> Iterator[ServerProc]:
    """A server that requires `Authorization: Key SECRET` or a token."""
    proc = ServerProc(key=KEY)
    yield proc
    proc.stop()


@pytest.fixture
def fresh() -> Iterator[ServerProc]:
    """A server of its own for a test that measures memory or logs."""
    proc = ServerProc()
    yield proc
    proc.stop()
