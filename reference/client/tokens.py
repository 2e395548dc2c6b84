"""The token REST call: a key becomes a short-lived token (spec chapter 03-authentication, 3.3).

    token = fetch_token("http://127.0.0.1:9000", key, "owner/app")   # POST {rest}/tokens/

The request is `POST {rest}/tokens/` with `Authorization: Key <key>` and the body
`{"allowed_apps": [alias], "token_expiration": 120}` (RT-AUTH-020). The answer is a JSON
string (RT-AUTH-022) or `{"token": s}` (RT-AUTH-023); anything else, a refusal or an
unreachable service raises `TokenError` before any connection is made (RT-AUTH-024). Runs
once per connection, never on the send/recv path; stdlib only (the async client calls it in
a worker thread).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from reference.client.connection import RealtimeError
from reference.client.urls import normalize_app_id

#: Both fal clients ask for 120 s (spec 3.3, note to RT-AUTH-020).
TOKEN_EXPIRATION = 120
REST_TIMEOUT = 10.0
_MAX_RESPONSE = 64 * 1024
_HINTS = {
    401: "the token service did not accept the key: check key=... (the API key, id:secret)",
    403: "the key may not use this app: check the key's scopes and the app id",
    404: "no token service at this URL: check rest_url (the REST base, without /tokens/)",
}


class TokenError(RealtimeError):
    """The token request failed or its answer held no token (code TOKEN_REQUEST_FAILED)."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__("TOKEN_REQUEST_FAILED", reason, {"status": status} if status else None)
        self.status = status


def app_alias(app_id: str) -> str:
    """The alias fal puts in `allowed_apps`: the app name without owner or path.

    `owner/app/realtime` -> `app`; `workflows/owner/app` -> `app`; `123-app` -> `app`.
    """
    parts = normalize_app_id(app_id).split("/")
    if parts[0] == "workflows" and len(parts) >= 3:
        return parts[2]
    return parts[1]


def tokens_url(rest_url: str) -> str:
    """`{rest}/tokens/` for an http(s) REST base."""
    if not rest_url.startswith(("http://", "https://")):
        raise ValueError(f"rest_url must be an http:// or https:// base URL, got {rest_url!r}")
    return rest_url.rstrip("/") + "/tokens/"


def token_request(
    rest_url: str, key: str, app_id: str, expiration: int = TOKEN_EXPIRATION
) -> urllib.request.Request:
    """The RT-AUTH-020 request (no network I/O)."""
    body = {"allowed_apps": [app_alias(app_id)], "token_expiration": expiration}
    return urllib.request.Request(
        tokens_url(rest_url),
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Key {key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "reference-realtime-client",
        },
    )


def parse_token_response(body: bytes, url: str) -> str:
    """The token from a JSON string or `{"token": s}` body; TokenError for anything else."""
    try:
        value: Any = json.loads(body)
    except ValueError:
        raise TokenError(
            f"the token service at {url} answered something that is not JSON "
            f"({len(body)} bytes); expected a JSON string holding the token"
        ) from None
    if isinstance(value, dict) and isinstance(value.get("token"), str):
        value = value["token"]  # older proxies wrap the token (RT-AUTH-023)
    if isinstance(value, str) and value:
        return value  # RT-AUTH-022
    if isinstance(value, dict) and isinstance(value.get("detail"), str):
        raise TokenError(f"the token service at {url} refused: {value['detail']}")
    shape = f"an object with keys {sorted(value)}" if isinstance(value, dict) else repr(value)[:40]
    raise TokenError(
        f"the token service at {url} answered {shape}, not a token: expected a JSON string "
        'or {"token": "..."}; check that rest_url points at the REST API'
    )


def _refusal(exc: urllib.error.HTTPError, url: str) -> TokenError:
    try:
        detail: Any = json.loads(exc.read(_MAX_RESPONSE) or b"null")
    except (ValueError, OSError):
        detail = None
    said = f": {detail['detail']}" if isinstance(detail, dict) and "detail" in detail else ""
    hint = _HINTS.get(exc.code, "the token service refused the request")
    return TokenError(f"HTTP {exc.code} from {url}{said}; {hint}", exc.code)


def fetch_token(
    rest_url: str,
    key: str,
    app_id: str,
    *,
    expiration: int = TOKEN_EXPIRATION,
    timeout: float = REST_TIMEOUT,
) -> str:
    """Obtain a token for `app_id` with `key` (blocking); raises TokenError on any failure."""
    request = token_request(rest_url, key, app_id, expiration)
    url = request.full_url
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
            body = response.read(_MAX_RESPONSE + 1)
    except urllib.error.HTTPError as exc:
        raise _refusal(exc, url) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TokenError(
            f"cannot reach the token service at {url}: {reason}; check rest_url and that the "
            "service is running"
        ) from None
    if status not in (200, 201):
        raise TokenError(f"HTTP {status} from {url}; expected 200 or 201 with a token", status)
    if len(body) > _MAX_RESPONSE:
        raise TokenError(f"the token service at {url} answered more than {_MAX_RESPONSE} bytes")
    return parse_token_response(body, url)
