"""Broken client: opts in to extensions (spec 15) but never reads the hello or the new frames.

It repeats a token in rt_ext (RT-EXT-001), waits for the server's first message before sending
its inputs (RT-EXT-008), sends end-of-input twice whether or not it is on (RT-EXT-006, -007,
-010), claims every asked extension is on (RT-EXT-007), drops end-of-output reasons (RT-EXT-021)
and input indexes (RT-EXT-033), and never notices a silent heartbeat session (RT-EXT-042).
Without RT_EXTENSIONS it is the minimal 1.0 client.
"""

from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _minimal import MinimalClient
from _wsclient import Closed, WebSocket

END_OF_INPUT = '{"type":"x-fal-message","action":"end-of-input"}'
FINAL = ("closed", "timeout", "exception")


class SloppyExtensions(MinimalClient):
    def __init__(self) -> None:
        super().__init__()
        value = os.environ.get("RT_EXTENSIONS")
        self.asked = None if value is None else [t for t in value.split(",") if t]
        self.claimed = False

    def url(self, token: str | None) -> str:
        url = super().url(token)
        if self.asked is None:
            return url
        tokens = ",".join([*self.asked, *self.asked[:1]]).replace(",", "%2C")
        return url + ("&" if "?" in url else "?") + "rt_ext=" + tokens

    def emit(self, event: dict[str, Any]) -> None:
        if self.asked is not None and event.get("event") in FINAL and not self.claimed:
            self.claimed = True
            super().emit({"event": "extensions", "on": self.asked})
        super().emit(event)

    def session(self, ws: WebSocket) -> None:
        if self.asked is None:
            super().session(ws)
            return
        try:
            ws.recv(timeout=self.recv_timeout)  # waits for the hello (or anything) first
        except TimeoutError:
            pass
        except Closed:
            self.emit(self.closed_event(ws))
            return
        for value in self.inputs:
            ws.send(self.encode(value))
        if "end-of-input" in self.asked:
            ws.send(END_OF_INPUT)
            ws.send(END_OF_INPUT)
        self.inputs = []
        super().session(ws)


if __name__ == "__main__":
    sys.exit(SloppyExtensions().main())
