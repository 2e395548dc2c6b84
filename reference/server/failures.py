"""How the server logs a handler that raised (spec chapter 12: quiet logs).

One rule for every kind of endpoint (realtime, raw WebSocket, HTTP): a failure the client
asked for (`RequestedFailure`, the conformance app's `fail: true`) is one INFO line, since
nothing on the server is broken; any other is an ERROR with its traceback.
"""

from __future__ import annotations

import logging

from reference.core.session import RequestedFailure

log = logging.getLogger("reference.server")


def log_handler_failure(kind: str, path: str, exc: BaseException) -> None:
    """Log that the `kind` handler on `path` raised `exc`."""
    if isinstance(exc, RequestedFailure):
        log.info("%s handler failed on %s as requested: %s", kind, path, exc)
    else:
        log.error("%s handler failed on %s", kind, path, exc_info=exc)
