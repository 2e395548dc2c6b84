"""Which checks a run collects, validates and selects (spec chapter 13: traceability).

Server checks live in `conformance/checks`, client checks in `conformance/client_mode/checks`;
a run selects one kind (client checks with --client-cmd), then by requirement (--req). Every
check names known requirement IDs of the right party, or collection stops.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import catalog

SUITE_DIR = Path(__file__).resolve().parent
SERVER_CHECKS_DIR = SUITE_DIR / "checks"
CLIENT_CHECKS_DIR = SUITE_DIR / "client_mode" / "checks"


def _path(item: pytest.Item) -> Path:
    return Path(str(item.path)).resolve()


def is_server_check(item: pytest.Item) -> bool:
    """True for a server check of this suite."""
    return SERVER_CHECKS_DIR in _path(item).parents


def is_client_check(item: pytest.Item) -> bool:
    """True for a client-mode check of this suite."""
    return CLIENT_CHECKS_DIR in _path(item).parents


def is_check(item: pytest.Item) -> bool:
    """True for a check of either mode."""
    return is_server_check(item) or is_client_check(item)


def checks_dir(client_mode: bool) -> Path:
    """Where the checks of a mode live."""
    return CLIENT_CHECKS_DIR if client_mode else SERVER_CHECKS_DIR


def req_ids(item: pytest.Item) -> list[str]:
    """The requirement IDs a check is marked with, in marker order."""
    ids: list[str] = []
    for mark in item.iter_markers("req"):
        ids.extend(str(a) for a in mark.args if str(a) not in ids)
    return ids


def validate_ids(nodeid: str, ids: list[str], party: str | None = None) -> None:
    """Raise a usage error (collection stops) for a missing, malformed or unknown ID.

    With `party` ("client"), each ID must also bind that party (no role confusion).
    """
    if not ids:
        raise pytest.UsageError(f"{nodeid}: conformance check without @pytest.mark.req(...)")
    known = catalog.load()
    for req_id in ids:
        if not catalog.ID_PATTERN.match(req_id):
            raise pytest.UsageError(f"{nodeid}: malformed requirement ID {req_id!r}")
        req = known.get(req_id)
        if req is None:
            raise pytest.UsageError(
                f"{nodeid}: unknown requirement ID {req_id!r} (not in the spec's list)"
            )
        if party is not None and party not in req.applies_to:
            raise pytest.UsageError(f"{nodeid}: {req_id} does not apply to {party}s")


def selectors(config: pytest.Config) -> list[str]:
    """The --req selectors (IDs, prefixes or globs), split on commas."""
    given = config.getoption("rt_req") or []
    return [part for value in given for part in str(value).split(",") if part]


def check_selectors(given: list[str]) -> None:
    """Each --req selector names at least one requirement of the spec (else a usage error)."""
    known = catalog.load()
    for sel in given:
        if not sel.upper().startswith("RT"):
            raise pytest.UsageError(f"--req {sel!r}: expected a requirement ID or prefix (RT-...)")
        if not any(catalog.matches(r, sel) for r in known):
            raise pytest.UsageError(f"--req {sel!r} matches no requirement of the spec")


def selected(item: pytest.Item, given: list[str]) -> bool:
    """True when one of the check's IDs matches one of the selectors."""
    return any(catalog.matches(r, s) for r in req_ids(item) for s in given)


def split(
    items: list[pytest.Item], client_mode: bool, given: list[str]
) -> tuple[list[pytest.Item], list[pytest.Item]]:
    """(kept, dropped): checks of the other mode and checks no selector matches are dropped."""
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        if not is_check(item):
            keep.append(item)
        elif is_client_check(item) != client_mode or (given and not selected(item, given)):
            drop.append(item)
        else:
            keep.append(item)
    return keep, drop


def ignored_checks_dir(config: pytest.Config) -> Path:
    """The checks folder of the mode this run is not in (not collected unless named)."""
    return checks_dir(client_mode=not config.getoption("client_cmd"))


def named_on_command_line(config: pytest.Config, path: Path) -> bool:
    """True when an argument of the run points into `path` (then it is collected anyway)."""
    for arg in config.args:
        candidate = Path(arg.split("::", 1)[0])
        if not candidate.is_absolute():
            candidate = Path(config.invocation_params.dir) / candidate
        candidate = candidate.resolve()
        if candidate == path or path in candidate.parents:
            return True
    return False
