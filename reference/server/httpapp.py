"""HTTP requests on the WebSocket port (spec chapter 10-http).

`GET /health` -> 200; `POST /tokens/` issues a short-lived token (the token call of RT
decision 12, so fal-style clients can use `fal_jwt_token` against the reference); `POST` on
an `@endpoint` path runs the handler with the JSON body validated by its pydantic model
(422 on failure, as FastAPI); anything else 404 (405 for a known path with another method,
426 for a WebSocket path without an upgrade).
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

import pydantic

from reference.app import to_output
from reference.server.failures import log_handler_failure
from reference.server.http import Request, response
from reference.server.state import ServerState


def token_request(body: bytes) -> tuple[list[str] | None, object]:
    """`allowed_apps` and `token_expiration` of a `POST /tokens/` body (RT-SEC-007).

    A body that is not a JSON object, or fields of the wrong type, fall back to an unscoped
    token of the default lifetime (fal's clients always send both fields).
    """
    try:
        value: Any = json.loads(body) if body else {}
    except ValueError:
        value = {}
    if not isinstance(value, dict):
        return None, None
    apps = value.get("allowed_apps")
    if not isinstance(apps, list) or not all(isinstance(a, str) for a in apps):
        apps = None
    return apps, value.get("token_expiration")


async def handle_http(server: ServerState, request: Request, keep_alive: bool) -> bytes:
    """Answer one HTTP request; never raises."""
    path = request.path
    method = request.method
    if path == "/health" and method in ("GET", "HEAD"):
        return response(200, {"status": "ok"}, keep_alive=keep_alive)
    if path.rstrip("/") == "/tokens" and method == "POST":
        refused = server.auth.check_key(request)
        if refused is not None:
            return response(
                refused, {"detail": "Authorization: Key <key> required"}, keep_alive=keep_alive
            )
        apps, lifetime = token_request(request.body)
        return response(201, server.auth.issue(apps, lifetime), keep_alive=keep_alive)
    route = server.router.resolve(path, websocket=False)
    if route is None:
        if server.router.resolve(path, websocket=True) is not None:
            return response(
                426,
                {"detail": f"{path} is a WebSocket endpoint; open it with a WebSocket client"},
                keep_alive=keep_alive,
                extra=(("upgrade", "websocket"),),
            )
        return response(404, {"detail": f"Path {path} not found"}, keep_alive=keep_alive)
    if method != "POST":
        return response(
            405, {"detail": "Method Not Allowed"}, keep_alive=keep_alive, extra=(("allow", "POST"),)
        )
    refused = server.auth.check(request)
    if refused is not None:
        return response(
            refused, {"detail": "credentials required or not accepted"}, keep_alive=keep_alive
        )
    try:
        body: Any = json.loads(request.body) if request.body else None
    except ValueError as exc:
        msg = f"JSON decode error: {exc}"
        json_detail = [{"type": "json_invalid", "loc": ["body"], "msg": msg}]
        return response(422, {"detail": json_detail}, keep_alive=keep_alive)
    try:
        arg = route.model.model_validate(body) if route.model is not None else body
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        detail: list[dict[str, Any]] = [dict(e) for e in errors]
        for item in detail:
            item["loc"] = ["body", *item["loc"]]
        return response(
            422, {"detail": json.loads(json.dumps(detail, default=str))}, keep_alive=keep_alive
        )
    try:
        if route.is_async:
            result = await route.handler(arg)
        else:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(None, functools.partial(route.handler, arg))
        out = to_output(result)
        if isinstance(result, pydantic.BaseModel):
            out = result.model_dump(mode="json")
        return response(200, out, keep_alive=keep_alive)
    except Exception as exc:
        log_handler_failure("HTTP", path, exc)
        return response(500, {"detail": "Internal Server Error"}, keep_alive=keep_alive)
