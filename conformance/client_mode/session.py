"""One run of the client under test per case, cached for the checks that read it (chapter 13)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from conformance.client_mode.cases import get_case
from conformance.client_mode.recording import Recording
from conformance.client_mode.runner import run_case, run_case_async


class ClientRuns:
    """Runs COMMAND against a case on first use and keeps the recording for later checks."""

    def __init__(self, command: str, *, startup: float = 15.0, jobs: int = 1) -> None:
        self.command = command
        self.startup = startup
        self.jobs = max(1, jobs)
        self._runs: dict[str, Recording] = {}

    def get(self, case: str) -> Recording:
        """The recording of COMMAND against ``case`` (run now if not run yet)."""
        if case not in self._runs:
            self._runs[case] = run_case(get_case(case), self.command, startup=self.startup)
        return self._runs[case]

    def prefetch(self, cases: Iterable[str]) -> None:
        """Run the cases not run yet, up to ``jobs`` at a time (each on its own server)."""
        todo = [name for name in dict.fromkeys(cases) if name not in self._runs]
        if todo:
            self._runs.update(asyncio.run(self._run_all(todo)))

    async def _run_all(self, names: list[str]) -> dict[str, Recording]:
        gate = asyncio.Semaphore(self.jobs)

        async def one(name: str) -> tuple[str, Recording]:
            async with gate:
                return name, await run_case_async(
                    get_case(name), self.command, startup=self.startup
                )

        return dict(await asyncio.gather(*(one(name) for name in names)))
