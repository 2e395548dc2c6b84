"""Fixtures of the client checks (spec chapter 13, client mode): the runs of the client."""

from __future__ import annotations

import pytest

from conformance.client_mode.session import ClientRuns
from conformance.runstate import STATE_KEY

PREFETCH_FROM = 10  # selected client checks from which every case is run up front


@pytest.fixture(scope="session")
def client_runs(request: pytest.FixtureRequest) -> ClientRuns:
    """Runs of the client under test, one per case, shared by the checks that read it."""
    command = request.config.getoption("client_cmd")
    if not command:
        pytest.fail("client checks need --client-cmd COMMAND", pytrace=False)
    startup = float(request.config.getoption("client_startup"))
    jobs = int(request.config.getoption("client_jobs"))
    runs = ClientRuns(str(command), startup=startup, jobs=jobs)
    state = request.config.stash[STATE_KEY]
    if jobs > 1 and len(state.selected) >= PREFETCH_FROM:
        from conformance.client_mode.cases import CASES

        runs.prefetch(CASES)  # a full run needs (nearly) every case: run them side by side
    return runs
