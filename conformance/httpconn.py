"""One traced HTTP request to the target (spec chapter 10-http)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from conformance.failures import ConformanceFailure
from conformance.rawconn import DEFAULT_WAIT
from conformance.trace import Recorder


@dataclass(frozen=True)
class HttpResponse:
    """An HTTP response from the target."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


def request(
    host_port: tuple[str, int],
    secure: bool,
    method: str,
    path: str,
    payload: bytes | None,
    headers: dict[str, str],
    recorder: Recorder,
    scale: Callable[[float], float],
) -> HttpResponse:
    """Send `method path` with `payload`; every request and response lands in the trace."""
    host, port = host_port
    conn_id = recorder.new_conn(f"http {method} {path}")
    cls = http.client.HTTPSConnection if secure else http.client.HTTPConnection
    client = cls(host, port, timeout=scale(DEFAULT_WAIT * 2))
    try:
        recorder.record(
            conn_id,
            "C->S",
            "HTTP",
            payload or b"",
            note=f"{method} {path} {(payload or b'')[:80]!r}",
        )
        client.request(method, path, body=payload, headers=headers)
        resp = client.getresponse()
        data = resp.read()
    except (OSError, http.client.HTTPException) as exc:
        raise ConformanceFailure(f"HTTP {method} {path} failed: {exc!r}") from None
    finally:
        client.close()
    recorder.record(conn_id, "S->C", "HTTP", data, note=f"{resp.status} {data[:80]!r}")
    return HttpResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
