"""Broken client: ends the session at the first error frame."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient
from _wsclient import Closed, WebSocket


class ClosesOnError(MinimalClient):
    def session(self, ws: WebSocket) -> None:
        for value in self.inputs:
            ws.send(self.encode(value))
        while True:
            try:
                message = ws.recv(timeout=self.recv_timeout)
            except TimeoutError:
                self.emit({"event": "timeout"})
                ws.close(1000)
                return
            except Closed:
                self.emit(self.closed_event(ws))
                return
            event = self.on_text(message) if isinstance(message, str) else self.on_binary(message)
            if event is not None:
                self.emit(event)
            if event is not None and event["event"] == "error":
                ws.close(1000)
                self.emit({"event": "closed", "code": 1000, "clean": True})
                return


if __name__ == "__main__":
    sys.exit(ClosesOnError().main())
