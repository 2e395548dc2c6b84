"""What the plugin knows during one run, in server and client mode alike (spec chapter 13).

Standard library and pytest only. The state lives in `config.stash[STATE_KEY]`; each check's
frame recorder in `item.stash[RECORDER_KEY]`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conformance.report import CheckResult
    from conformance.target import EmbeddedServer, TargetConfig
    from conformance.trace import Recorder

SERVER = "server"
CLIENT = "client"
NA_PREFIX = "not applicable: "
EXIT_TARGET_UNREACHABLE = 6


@dataclass
class SuiteState:
    """One run: its mode, selection, target (server mode) or command (client mode), verdicts."""

    mode: str = SERVER
    level: str = "must"
    command: str = ""  # client mode: the adapter command
    active: bool = False
    collected: int = 0  # checks of either mode collected (before any deselection)
    selected: list[pytest.Item] = field(default_factory=list)
    selectors: list[str] = field(default_factory=list)
    target: TargetConfig | None = None
    server: EmbeddedServer | None = None
    target_error: str = ""
    results: dict[str, CheckResult] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    not_selected: int = 0  # checks left out: of the other mode, or not of --req
    other_mode: int = 0  # of those, checks of the other mode (named on the command line)
    document: dict[str, Any] | None = None  # the report, built once at the end of the run
    written: list[str] = field(default_factory=list)  # where the reports went

    @property
    def client_mode(self) -> bool:
        """True when the suite plays the server for a client under test."""
        return self.mode == CLIENT

    def describe_target(self) -> str:
        """What was tested, in a few words (the console and the reports)."""
        if self.client_mode:
            return f"client {self.command}"
        if self.target is None:
            return "(no target)"
        if self.target.embedded:
            return f"{self.target.url} (the embedded reference server)"
        return self.target.url


STATE_KEY = pytest.StashKey[SuiteState]()
RECORDER_KEY: pytest.StashKey[Recorder] = pytest.StashKey()
