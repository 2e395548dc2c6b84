"""Pytest plugin for client conformance mode: the suite plays the server (spec chapter 13).

``pytest conformance --client-cmd "COMMAND"`` runs only the client checks
(``conformance/client_mode/checks``); without ``--client-cmd`` they are deselected. The plugin
imports only pytest and the standard library at the top and does nothing in runs that collect
none of its checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conformance.client_mode.session import ClientRuns

CHECKS_DIR = Path(__file__).resolve().parent / "checks"
SUITE_DIR = CHECKS_DIR.parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the client-mode options."""
    group = parser.getgroup("conformance-client", "realtime conformance: client mode")
    group.addoption(
        "--client-cmd",
        action="store",
        default=None,
        metavar="COMMAND",
        help="run the client checks: the suite plays scripted servers and runs COMMAND (an "
        "adapter for the client under test, see spec chapter 13) once per case",
    )
    group.addoption(
        "--client-startup",
        action="store",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="extra seconds an adapter run may take beyond the case's own timeouts (default 15)",
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    """Make sure the ``req`` marker exists (the server plugin owns it; this is a fallback)."""
    if not any(
        line.split(":")[0].split("(")[0].strip() == "req" for line in config.getini("markers")
    ):
        config.addinivalue_line(
            "markers", "req(*ids): requirement IDs (RT-AREA-NNN) a check verifies"
        )


def is_client_check(item: pytest.Item) -> bool:
    """Whether ``item`` is one of the client-mode checks."""
    return CHECKS_DIR in Path(item.path).resolve().parents


def _is_server_check(item: pytest.Item) -> bool:
    path = Path(item.path).resolve()
    return SUITE_DIR in path.parents and not is_client_check(item)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep client checks only with --client-cmd, and server checks only without it."""
    command = config.getoption("client_cmd", None)
    if command:
        # The server plugin deselects its own checks too; doing it here as well keeps the two
        # modes apart whichever plugin runs first.
        drop = [item for item in items if _is_server_check(item)]
    else:
        drop = [item for item in items if is_client_check(item)]
    if not drop:
        return
    dropped = set(map(id, drop))
    items[:] = [item for item in items if id(item) not in dropped]
    config.hook.pytest_deselected(items=drop)


@pytest.fixture(scope="session")
def client_runs(request: pytest.FixtureRequest) -> ClientRuns:
    """Runs of the client under test, one per case, shared by the checks that read it."""
    from conformance.client_mode.session import ClientRuns

    command = request.config.getoption("client_cmd")
    if not command:
        pytest.fail("client checks need --client-cmd COMMAND", pytrace=False)
    startup = float(request.config.getoption("client_startup"))
    return ClientRuns(str(command), startup=startup)
