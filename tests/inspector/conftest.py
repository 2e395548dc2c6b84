"""Fixtures of the inspector tests: the reference server, the real fal_client's interpreter."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from inspect_support import REPO, reference

if str(REPO) not in sys.path:  # `interop` is a repo-root package, not installed
    sys.path.insert(0, str(REPO))

from interop.fal_env import FalEnvError, fal_python


@pytest.fixture(scope="module")
def reference_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The reference server (the conformance app) on a free loopback port."""
    with reference(tmp_path_factory.mktemp("reference")) as url:
        yield url


@pytest.fixture(scope="session")
def fal_venv_python() -> Path:
    """The fal venv's interpreter (`make peers`); fails, never skips, when it cannot be built."""
    try:
        return fal_python()
    except FalEnvError as exc:
        pytest.fail(f"the fal peer venv is required and could not be built: {exc}", pytrace=False)
