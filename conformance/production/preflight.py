"""Does the target host the conformance app? One probe before the suite runs (spec 13.2, 13.4).

Every conformance app hosts the raw endpoint `/echo` (RT-CONF-001); a production app does
not. Without it, and with no `--sample-input`, the conformance-app checks would only blame
protocol rules for endpoints the app never meant to have, so the run stops with one line.
"""

from __future__ import annotations

from conformance.failures import ConformanceFailure, HarnessError
from conformance.target import TargetConfig
from conformance.trace import Recorder
from conformance.wire import Target


def missing_conformance_app(cfg: TargetConfig) -> str:
    """One line saying the target hosts no conformance app ("" when it seems to)."""
    target = Target(cfg, Recorder())
    try:
        raw = target.handshake("/echo")
        raw.close()
        echo = f"HTTP {raw.status}"
        if raw.status == 101:
            return ""
    except (ConformanceFailure, HarnessError) as exc:
        echo = str(exc)
    try:
        health = f"HTTP {target.http('GET', '/health').status}"
    except ConformanceFailure as exc:
        health = str(exc)
    hint = (
        " (--target is the base URL, without /realtime)" if cfg.prefix.endswith("/realtime") else ""
    )
    return (
        f"conformance: {cfg.url} hosts no conformance app (handshake to {cfg.prefix}/echo: "
        f"{echo}; GET {cfg.prefix}/health: {health}){hint}; to check a production app, "
        "pass --sample-input '<an input it accepts, as JSON>' (spec 13.4), or declare the "
        "app's features with --features/--target-config"
    )
