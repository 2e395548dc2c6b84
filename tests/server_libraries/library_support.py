"""Shared names of the library-table tests."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: Starts one library's app and yields its ws:// URL.
LibraryApp = Callable[[str], AbstractContextManager[str]]
