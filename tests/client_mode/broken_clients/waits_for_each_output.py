"""Broken client: waits for each output before it sends the next input."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient
from _wsclient import Closed, WebSocket


class WaitsForEachOutput(MinimalClient):
    def session(self, ws: WebSocket) -> None:
        pending = list(self.inputs)
        if pending:
            ws.send(self.encode(pending.pop(0)))
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
                if pending:
                    ws.send(self.encode(pending.pop(0)))


if __name__ == "__main__":
    sys.exit(WaitsForEachOutput().main())
