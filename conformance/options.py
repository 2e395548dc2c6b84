"""The suite's command-line options, in one group, server and client mode alike (chapter 13).

Each option is one row of `OPTIONS`; `register` adds them all to pytest's parser. A new mode
adds its rows here (or calls `add` from its own hook) and reads them by `dest`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pytest

GROUP = "conformance"
GROUP_HELP = "realtime protocol conformance suite (server mode; client mode with --client-cmd)"
ENV_TARGET = "RT_CONFORMANCE_TARGET"
ENV_TIMEOUT_MULTIPLIER = "RT_CONFORMANCE_TIMEOUT_MULTIPLIER"
ENV_KEY = "RT_CONFORMANCE_KEY"


@dataclass(frozen=True)
class Option:
    """One command-line option: its flag, where pytest stores it, and argparse keywords."""

    flag: str
    dest: str
    help: str
    kwargs: dict[str, Any] = field(default_factory=dict)


def _multiplier_default() -> float:
    return float(os.environ.get(ENV_TIMEOUT_MULTIPLIER, "1.0"))


OPTIONS: list[Option] = [
    Option(
        "--target",
        "rt_target",
        f"server under test, a base URL ws://HOST:PORT[/prefix] (env {ENV_TARGET}); "
        "default: start the reference server on a free loopback port",
        {"metavar": "URL"},
    ),
    Option(
        "--target-config",
        "rt_target_config",
        "JSON or TOML file declaring url, features, owner, app, key, max_message_size",
        {"metavar": "FILE"},
    ),
    Option(
        "--key",
        "rt_key",
        f"the credential the target accepts (the `auth` feature; env {ENV_KEY}); overrides "
        "the config's key; never printed (reproduce commands read it from the env)",
        {"metavar": "SECRET"},
    ),
    Option(
        "--features",
        "rt_features",
        "optional conformance-app features the target hosts (e.g. delay,handler-error; "
        "'all'); checks of undeclared features are not applicable",
        {"metavar": "A,B"},
    ),
    Option(
        "--level",
        "rt_level",
        "must (default): SHOULD failures are warnings; should: they fail the run",
        {"choices": ("must", "should"), "default": "must"},
    ),
    Option(
        "--req",
        "rt_req",
        "run only checks of this requirement ID, prefix (RT-MSG) or glob; repeatable",
        {"action": "append", "default": [], "metavar": "ID_OR_PREFIX"},
    ),
    Option(
        "--timeout-multiplier",
        "rt_timeout_multiplier",
        "scale every deadline of the suite (slow targets, slow CI); default 1.0 "
        f"(env {ENV_TIMEOUT_MULTIPLIER})",
        {"type": float, "default": _multiplier_default(), "metavar": "X"},
    ),
    Option(
        "--wait-for-target",
        "rt_wait",
        "wait up to SECONDS for the target to accept connections before starting",
        {"type": float, "default": 0.0, "metavar": "SECONDS"},
    ),
    Option(
        "--conformance-report",
        "rt_report",
        "write the JSON conformance report to PATH",
        {"metavar": "PATH"},
    ),
    Option(
        "--conformance-html",
        "rt_html",
        "write a self-contained HTML report (one file, no network) to PATH",
        {"metavar": "PATH"},
    ),
    Option(
        "--conformance-markdown",
        "rt_markdown",
        "write a Markdown job summary to PATH (default: $GITHUB_STEP_SUMMARY when set)",
        {"metavar": "PATH"},
    ),
    Option(
        "--client-cmd",
        "client_cmd",
        "client mode: the suite plays scripted servers and runs COMMAND (an adapter for the "
        "client under test, see spec chapter 13) once per case",
        {"metavar": "COMMAND"},
    ),
    Option(
        "--client-jobs",
        "client_jobs",
        "client mode: run up to N cases at once, each with its own scripted server "
        "(default 4; 1: one at a time)",
        {"type": int, "default": 4, "metavar": "N"},
    ),
    Option(
        "--client-startup",
        "client_startup",
        "client mode: extra seconds an adapter run may take beyond the case's own timeouts "
        "(default 15)",
        {"type": float, "default": 15.0, "metavar": "SECONDS"},
    ),
]


def add(group: Any, option: Option) -> None:
    """Add one option to the suite's group."""
    kwargs = {"default": None, **option.kwargs}
    group.addoption(option.flag, dest=option.dest, help=option.help, **kwargs)


def register(parser: pytest.Parser) -> None:
    """Add every option of the suite to one pytest option group."""
    group = parser.getgroup(GROUP, GROUP_HELP)
    for option in OPTIONS:
        add(group, option)
