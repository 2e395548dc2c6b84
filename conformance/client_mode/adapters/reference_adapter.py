"""Client adapter for the reference client (spec chapter 13, client-adapter contract).

    pytest conformance --client-cmd \
        ".venv/bin/python -m conformance.client_mode.adapters.reference_adapter"

Adapters are not part of the suite core: this one imports ``reference.client`` (the suite
itself never does). It maps the RT_* environment to ``reference.client.realtime`` arguments and
what the caller sees to the contract's records.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from reference.client import RealtimeError, RecvTimeout, realtime

Event = dict[str, Any]


def emit(event: Event) -> None:
    """Print one record as a JSON line (RT-CONF-042)."""
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def from_json(value: Any) -> Any:
    """Restore ``{"$bytes": hex}`` to bytes."""
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return bytes.fromhex(value["$bytes"])
        return {k: from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def to_json(value: Any) -> Any:
    """Replace bytes by ``{"$bytes": hex}``."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"$bytes": bytes(value).hex()}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


def client_kwargs(env: dict[str, str]) -> dict[str, Any]:
    """``realtime()`` keyword arguments for the RT_* environment."""
    kwargs: dict[str, Any] = {"base_url": env["RT_SERVER_URL"]}
    path = env.get("RT_PATH", "/realtime")
    if path:
        kwargs["path"] = path  # empty: the caller gives no path and the client's default applies
    if env.get("RT_TOKEN") is not None:
        kwargs["token"] = env["RT_TOKEN"]
    elif env.get("RT_KEY"):
        kwargs["key"] = env["RT_KEY"]
        if env.get("RT_REST_URL"):
            kwargs["rest_url"] = env["RT_REST_URL"]  # token mode: POST {rest}/tokens/ first
    return kwargs


def requested_extensions(env: dict[str, str]) -> list[str] | None:
    """The tokens of RT_EXTENSIONS (spec 13.3); None when unset: a 1.0 session."""
    value = env.get("RT_EXTENSIONS")
    return None if value is None else [t for t in value.split(",") if t]


def output_record(conn: Any, output: Any) -> Event:
    """An output record, with the input indexes the server gave it (RT-EXT-033)."""
    record: Event = {"event": "output", "data": to_json(output)}
    if conn.last_inputs is not None:
        record["inputs"] = list(conn.last_inputs)
    return record


def error_record(exc: RealtimeError) -> Event:
    """An error record, with the input index the server gave it (RT-EXT-033)."""
    record: Event = {"event": "error", "code": exc.code, "reason": exc.reason}
    if exc.input_index is not None:
        record["input_index"] = exc.input_index
    return record


def closed_record(conn: Any, extensions: list[str] | None, clean: bool) -> Event:
    """The closed record, with the end-of-output reason when there was one (RT-EXT-021)."""
    if extensions is not None:
        emit({"event": "extensions", "on": list(conn.extensions)})  # the claim (13.3)
    record: Event = {"event": "closed", "code": _close_code(conn), "clean": clean}
    if conn.end_reason:
        record["end_reason"] = conn.end_reason
    return record


def _close_code(conn: Any) -> int | None:
    code = conn.websocket.close_code
    return None if code in (None, 1005, 1006) else int(code)


def main() -> int:
    """Run one case; exit 0 after the final record."""
    env = dict(os.environ)
    inputs = from_json(json.loads(env.get("RT_INPUTS", "[]")))
    timeout = float(env.get("RT_RECV_TIMEOUT", "5"))
    extensions = requested_extensions(env)
    try:
        with realtime(env["RT_APP_ID"], extensions=extensions, **client_kwargs(env)) as conn:
            for value in inputs:
                conn.send(value)
            if extensions is not None and "end-of-input" in extensions:
                conn.end_input()  # sent only when the hello enabled it (RT-EXT-007/010)
            while True:
                try:
                    output = conn.recv(timeout=timeout)
                except RecvTimeout:
                    if extensions is not None:
                        emit({"event": "extensions", "on": list(conn.extensions)})
                    emit({"event": "timeout"})
                    break  # leaving the block closes the session with 1000
                except RealtimeError as exc:
                    if exc.code == "CONNECTION_CLOSED":
                        emit(closed_record(conn, extensions, False))
                        break
                    emit(error_record(exc))
                    continue
                if output is None and conn.ended:
                    emit(closed_record(conn, extensions, True))
                    break
                emit(output_record(conn, output))
    except Exception as exc:  # a refused handshake or token request, a decode failure
        emit({"event": "exception", "type": type(exc).__name__, "message": str(exc)[:500]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
