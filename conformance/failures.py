"""How a check says which requirement failed (spec chapter 13-conformance: verdicts).

A check may verify several requirements; wrapping each assertion in `requirement(...)` tells
the report which of them the target broke, so a server that breaks one requirement fails on
exactly that one.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn


class ConformanceFailure(AssertionError):
    """The target did not do what a requirement asks (a fail or, for a SHOULD, a warn)."""

    def __init__(self, message: str, reqs: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.reqs = reqs


class HarnessError(Exception):
    """The suite itself could not run a check (reported as an error, never as a fail)."""


# The requirements whose `requirement()` blocks completed in the running check: when a later
# block fails, these still count as verified rather than blocked.
_verified: set[str] = set()


def reset_verified() -> None:
    """Forget what the previous check verified (the plugin calls this before each check)."""
    _verified.clear()


def verified() -> frozenset[str]:
    """The requirements verified so far by the running check."""
    return frozenset(_verified)


def mark_verified(*req_ids: str) -> None:
    """Record that the running check has verified `req_ids` (for steps with no assertion)."""
    _verified.update(req_ids)


@contextmanager
def requirement(*req_ids: str) -> Iterator[None]:
    """Attribute any failed assertion inside the block to `req_ids`.

    A failure already attributed by an inner block (or by the frame validator) keeps its own
    attribution. A block that completes marks its IDs verified for this check.
    """
    try:
        yield
    except ConformanceFailure as exc:
        if not exc.reqs:
            exc.reqs = req_ids
        raise
    except AssertionError as exc:
        raise ConformanceFailure(str(exc) or "assertion failed", req_ids) from exc
    _verified.update(req_ids)


def fail(message: str, *req_ids: str) -> NoReturn:
    """Fail the running check, blaming `req_ids` (all of the check's IDs when none given)."""
    raise ConformanceFailure(message, req_ids)
