"""Reference server and client of the realtime endpoint protocol (see spec/).

The app-facing names load on first use, so `import reference.client` loads neither the
server nor pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reference.app import App, endpoint, realtime
    from reference.server.raw import WebSocket, WebSocketDisconnect

__all__ = ["App", "WebSocket", "WebSocketDisconnect", "endpoint", "realtime"]

_HOMES = {
    "App": "reference.app",
    "endpoint": "reference.app",
    "realtime": "reference.app",
    "WebSocket": "reference.server.raw",
    "WebSocketDisconnect": "reference.server.raw",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'reference' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
