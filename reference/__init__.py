"""Reference server and client of the realtime endpoint protocol (see spec/)."""

from reference.app import App, endpoint, realtime
from reference.server.raw import WebSocket, WebSocketDisconnect

__all__ = ["App", "WebSocket", "WebSocketDisconnect", "endpoint", "realtime"]
