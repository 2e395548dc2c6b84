"""A minimal client that follows the adapter contract and every client requirement.

The broken clients next to it subclass it and break one or a few requirements each; run it
directly to see it pass (`pytest conformance --client-cmd "python .../_minimal.py"`). It speaks
WebSocket through `_wsclient`, which starts much faster than a full library: the catalogue
runs it hundreds of times.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any
from urllib.parse import urlencode

import msgpack
from _wsclient import Closed, WebSocket

Event = dict[str, Any]


def from_json(value: Any) -> Any:
    """Restore ``{"$bytes": hex}`` to bytes (adapter contract)."""
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return bytes.fromhex(value["$bytes"])
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def outside_profile(value: Any, top: bool = True) -> str:
    """Why a decoded output is outside the msgpack profile ("" when it is inside)."""
    if top and not isinstance(value, dict):
        return f"the output is a {type(value).__name__}, not a map"
    if isinstance(value, msgpack.ExtType | msgpack.Timestamp):
        return "the output holds an ext value"
    if isinstance(value, dict):
        if any(not isinstance(k, str) for k in value):
            return "the output has a map key that is not a str"
        return next((p for p in (outside_profile(v, False) for v in value.values()) if p), "")
    if isinstance(value, list):
        return next((p for p in (outside_profile(v, False) for v in value) if p), "")
    return ""


def to_json(value: Any) -> Any:
    """Replace bytes by ``{"$bytes": hex}`` (adapter contract)."""
    if isinstance(value, bytes):
        return {"$bytes": value.hex()}
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


class MinimalClient:
    """Connect, send RT_INPUTS, print events until the session ends."""

    max_size: int | None = 64 * 1024 * 1024

    def __init__(self) -> None:
        env = os.environ
        self.base = env["RT_SERVER_URL"].rstrip("/")
        self.app_id = env.get("RT_APP_ID", "local/conformance-app")
        self.path = env.get("RT_PATH", "/realtime")
        self.inputs = from_json(json.loads(env.get("RT_INPUTS", "[]")))
        self.token = env.get("RT_TOKEN")
        self.key = env.get("RT_KEY")
        self.rest = env.get("RT_REST_URL")
        self.recv_timeout = float(env.get("RT_RECV_TIMEOUT", "5"))

    def emit(self, event: Event) -> None:
        """Print one event as a JSON line."""
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()

    def fetch_token(self) -> str:
        """Exchange the key for a token at the REST endpoint."""
        import urllib.request  # only clients given RT_REST_URL pay for this import

        alias = self.app_id.split("/")[-1]
        body = json.dumps({"allowed_apps": [alias], "token_expiration": 120}).encode()
        request = urllib.request.Request(
            f"{self.rest}/tokens/",
            data=body,
            method="POST",
            headers={"Authorization": f"Key {self.key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            payload = json.loads(response.read())
        return payload if isinstance(payload, str) else str(payload["token"])

    def app_path(self) -> str:
        """The app id as a path: legacy ``<digits>-<alias>`` becomes ``<digits>/<alias>``."""
        owner, _, alias = self.app_id.partition("-")
        if "/" not in self.app_id and owner.isdigit() and alias:
            return f"{owner}/{alias}"
        if "/" not in self.app_id:  # RT-TRANS-015: refused before connecting
            raise ValueError(f"app id {self.app_id!r} is not owner/alias")
        return self.app_id

    def endpoint_path(self) -> str:
        """RT_PATH; when empty, /realtime unless the app id already ends with it."""
        if self.path:  # RT-TRANS-016: exactly one leading slash
            return "/" + self.path.lstrip("/")
        return "" if self.app_id.rstrip("/").endswith("/realtime") else "/realtime"

    def url(self, token: str | None) -> str:
        """The gateway-form URL: base, app id, path, token query."""
        url = f"{self.base}/{self.app_path()}{self.endpoint_path()}"
        if token is not None:
            url += "?" + urlencode({"fal_jwt_token": token})
        return url

    def headers(self) -> dict[str, str]:
        """Handshake headers: the key, when no token is used."""
        if self.token is None and self.key is not None and self.rest is None:
            return {"Authorization": f"Key {self.key}"}
        return {}

    def encode(self, value: Any) -> bytes | str:
        """One input: a msgpack map in a binary frame."""
        return bytes(msgpack.packb(value, use_bin_type=True))

    def on_text(self, text: str) -> Event | None:
        """A text frame: an error frame becomes an error event; everything else is ignored."""
        try:
            frame = json.loads(text)
        except ValueError:
            return None
        if not isinstance(frame, dict):
            return None
        if frame.get("status") == "error":  # the legacy error shape
            return {"event": "error", "code": str(frame.get("error")), "reason": ""}
        if frame.get("type") != "x-fal-error":
            return None
        if frame.get("error") == "TIMEOUT":
            return None  # the session ends normally
        return {"event": "error", "code": frame.get("error"), "reason": frame.get("reason", "")}

    def on_binary(self, data: bytes) -> Event | None:
        """A binary frame: one msgpack output."""
        try:
            value = msgpack.unpackb(data, raw=False, strict_map_key=False)
        except Exception as exc:  # any decoding failure: the message is malformed
            return {"event": "error", "code": "DECODE_ERROR", "reason": str(exc)}
        problem = outside_profile(value)
        if problem:  # RT-CONV-016, RT-CTRL-026: not delivered, reported as DECODE_ERROR
            return {"event": "error", "code": "DECODE_ERROR", "reason": problem}
        return {"event": "output", "data": to_json(value)}

    def closed_event(self, ws: WebSocket) -> Event:
        """How the session ended, from the close frame seen (if any)."""
        code = ws.close_code
        return {"event": "closed", "code": code, "clean": code in (1000, 1001)}

    def session(self, ws: WebSocket) -> None:
        """Send every input, then print what arrives until the end."""
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

    def main(self) -> int:
        """Run the adapter; exit 0 when the session ended."""
        try:
            token = self.token
            if token is None and self.key is not None and self.rest is not None:
                token = self.fetch_token()
            ws = WebSocket(self.url(token), self.headers(), self.max_size)
            try:
                self.session(ws)
            finally:
                ws.close(1000)
        except Exception as exc:  # a refused handshake, a failed token call, a client bug
            self.emit({"event": "exception", "type": type(exc).__name__, "message": str(exc)})
        return 0


if __name__ == "__main__":
    sys.exit(MinimalClient().main())
