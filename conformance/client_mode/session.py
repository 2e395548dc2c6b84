"""One run of the client under test per case, cached for the checks that read it (chapter 13)."""

from __future__ import annotations

from conformance.client_mode.cases import get_case
from conformance.client_mode.recording import Recording
from conformance.client_mode.runner import run_case


class ClientRuns:
    """Runs COMMAND against a case on first use and keeps the recording for later checks."""

    def __init__(self, command: str, *, startup: float = 15.0) -> None:
        self.command = command
        self.startup = startup
        self._runs: dict[str, Recording] = {}

    def get(self, case: str) -> Recording:
        """The recording of COMMAND against ``case`` (run now if not run yet)."""
        if case not in self._runs:
            self._runs[case] = run_case(get_case(case), self.command, startup=self.startup)
        return self._runs[case]
