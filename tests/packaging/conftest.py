"""Fixtures of the packaging tests (the installed wheel, the package data, the entry hooks)."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging_support import clean_env


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    """A subprocess environment free of this checkout's venv, with its own cache home."""
    return clean_env(tmp_path / "xdg-cache")
