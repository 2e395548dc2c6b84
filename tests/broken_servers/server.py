"""A small conformance-app server with fault switches, for the suite's self-test (spec 13).

Run: `python tests/broken_servers/server.py --fault NAME [--fault NAME] --port 0 [--key K]`.
It prints its URL (`ws://127.0.0.1:PORT`) alone on one line when ready and stops on SIGINT or
SIGTERM. Without `--fault` it is a correct server at the robust level; `--list-faults` prints
every switch with what it breaks. It shares no code with `reference/` on purpose.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import urllib.parse
from dataclasses import dataclass

from broken_app import FAULTS as APP_FAULTS
from broken_app import InvalidInput, validate
from broken_endpoints import ENDPOINTS
from broken_http import MAX_HEAD, DropConnection, RefuseHead, parse_head, read_head, write_status
from broken_webrtc import FAULTS as WEBRTC_FAULTS
from broken_wire import MAX_FRAGMENTS, FaultyProtocol, WsConnection
from websockets.datastructures import Headers
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.http11 import Request, Response

#: Largest inbound message accepted (spec 02: at least 1 MiB; the reference and fal use 16 MiB).
MAX_MESSAGE = 16 * 2**20

#: Fault switches handled here (the handshake, size limits, HTTP), with what each does.
SERVER_FAULTS: dict[str, str] = {
    "unknown-path-upgraded": "an unknown WebSocket path is upgraded (served as /realtime)",
    "unknown-path-403": "an unknown WebSocket path is refused with 403 instead of 404",
    "refuse-unknown-query": "a handshake with an unknown query parameter is refused (400)",
    "refuse-max-buffering": "a handshake with `max_buffering` is refused (400)",
    "deflate-breaks-session": "with permessage-deflate negotiated, an input gets close 1011",
    "gateway-paths-unrouted": "`/{owner}/{app}/...` paths are not routed",
    "auth-not-enforced": "the declared key is never checked",
    "auth-wrong-status": "a handshake without credentials is refused with 403 instead of 401",
    "echo-auth-not-enforced": "the raw /echo endpoint accepts handshakes without credentials",
    "http-auth-not-enforced": "HTTP POST / accepts calls without credentials",
    "no-1009-accept": "messages over the size limit are accepted",
    "no-1009-drop": "a message over the size limit drops the TCP connection (no close frame)",
    "small-size-limit": "messages over 512 KiB are refused with 1009 (spec: at least 1 MiB)",
    "no-pong": "pings are never answered",
    "protocol-error-1011": "a framing violation by the client is closed with 1011, not 1002",
    "no-close-reply": "a client's close frame is answered by dropping the TCP connection",
    "http-disagrees": "HTTP POST / answers a different output than realtime",
    "http-validation-200": "HTTP POST / answers 200 with an error body to an invalid input",
    "health-broken": "GET /health answers 503",
    "http-failure-200": "HTTP POST / answers a handler failure with 200 and an error body",
    "http-unknown-path-200": "HTTP requests for unknown paths get 200",
    "many-fragments-served": "a message of any number of fragments is reassembled and served",
    "no-431": "an oversized request head is answered 400 instead of 431",
    "late-431": "a header field is counted only once it ends: an endless one gets no answer",
    "no-414": "an oversized request target is answered 431 instead of 414",
    "no-413": "an oversized Content-Length is not refused: the server waits for the body",
    "no-handshake-timeout": "a request head that never completes is kept open forever",
    "auth-after-body": "POST / reads the whole body before it checks the credential",
    "non-ascii-credential-crash": "a non-ASCII credential drops TCP with no HTTP response",
    "upgrade-any-method": "POST and HTTP/1.0 upgrade requests are upgraded",
    "frames-before-101": "frames sent with the upgrade request are answered before the 101",
}

ALL_FAULTS: dict[str, str] = {**APP_FAULTS, **SERVER_FAULTS, **WEBRTC_FAULTS}


@dataclass(frozen=True)
class Config:
    """What one server instance does."""

    faults: frozenset[str]
    key: str | None


# Routing and the opening handshake ----------------------------------------------------------


def route(path: str, config: Config) -> str | None:
    """The conformance-app path a request path names (gateway prefix removed), or None."""
    if path in ENDPOINTS:
        return path
    parts = path.split("/")  # "", owner, app, rest...
    if len(parts) >= 4 and parts[1] and parts[2] and "gateway-paths-unrouted" not in config.faults:
        rest = "/" + "/".join(parts[3:])
        if rest in ENDPOINTS:
            return rest
    if "unknown-path-upgraded" in config.faults:
        return "/realtime"
    return None


def credential(headers: Headers, query: dict[str, list[str]]) -> str | None:
    """The credential a request carries (spec 03: query token, `Key` or `Bearer` header)."""
    if "fal_jwt_token" in query:
        return query["fal_jwt_token"][0]
    authorization = headers.get("Authorization", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() in ("key", "bearer") and value:
        return value.strip()
    return None


CHALLENGE = 'Key realm="broken-servers"'  # RT-AUTH-014: the scheme of a 401


def auth_refusal(given: str | None, config: Config) -> tuple[int, str] | None:
    """Status and reason refusing a request's credential (spec 03), or None to accept it."""
    if given is not None and not given.isascii() and "non-ascii-credential-crash" in config.faults:
        raise DropConnection  # as a comparison routine that raises on non-ASCII would
    if given is None:
        return (403 if "auth-wrong-status" in config.faults else 401), "credentials required"
    if given != config.key:
        return 403, "credentials not accepted"
    return None


def refusal(request: Request, config: Config) -> tuple[int, str] | None:
    """Why a WebSocket handshake is refused before the upgrade, or None to accept it."""
    url = urllib.parse.urlsplit(request.path)
    query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
    faults = config.faults
    if route(url.path, config) is None:
        return (403 if "unknown-path-403" in faults else 404), "unknown path"
    exempt = "auth-not-enforced" in faults
    if route(url.path, config) == "/echo" and "echo-auth-not-enforced" in faults:
        exempt = True
    if config.key is not None and not exempt:
        refused = auth_refusal(credential(request.headers, query), config)
        if refused is not None:
            return refused
    if "refuse-unknown-query" in faults and set(query) - {"fal_jwt_token", "max_buffering"}:
        return 400, "unknown query parameter"
    if "refuse-max-buffering" in faults and "max_buffering" in query:
        return 400, "max_buffering is not supported"
    return None


async def serve_websocket(
    head: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, config: Config
) -> None:
    faults = config.faults
    limit: int | None = MAX_MESSAGE
    if "small-size-limit" in faults:
        limit = 512 * 1024
    elif "no-1009-accept" in faults or "no-1009-drop" in faults:
        limit = None
    protocol = FaultyProtocol(faults, extensions=[ServerPerMessageDeflateFactory()], max_size=limit)
    protocol.receive_data(head)
    request = protocol.events_received()[0]
    assert isinstance(request, Request)
    refused = refusal(request, config)
    early = b""
    if "frames-before-101" in faults:  # look for frames sent with the request, answer them now
        with contextlib.suppress(TimeoutError):
            early = await asyncio.wait_for(reader.read(65536), 0.2)
        if early:
            writer.write(b"\x8a\x05early")  # an unmasked PONG, ahead of the 101 (RT-SEC-042)
    response: Response
    response = protocol.reject(*refused) if refused is not None else protocol.accept(request)
    if response.status_code == 401:
        response.headers["WWW-Authenticate"] = CHALLENGE  # RT-AUTH-014
    protocol.send_response(response)
    for data in protocol.data_to_send():
        if data:
            writer.write(data)
    await writer.drain()
    if response.status_code != 101:
        writer.close()
        return
    if early:
        protocol.receive_data(early)
    path = route(urllib.parse.urlsplit(request.path).path, config)
    assert path is not None
    drop_above = MAX_MESSAGE if "no-1009-drop" in faults else None
    conn = WsConnection(
        protocol,
        reader,
        writer,
        drop_tcp_above=drop_above,
        drop_tcp_on_close="no-close-reply" in faults,
        max_fragments=None if "many-fragments-served" in faults else MAX_FRAGMENTS,
    )
    deflate = "permessage-deflate" in response.headers.get("Sec-WebSocket-Extensions", "")
    try:
        if deflate and "deflate-breaks-session" in faults:
            await conn.recv()
            await conn.close(1011)
            return
        await ENDPOINTS[path](conn, faults)
    finally:
        if conn.open:
            await conn.close(1000)
        else:
            await conn.closed.wait()


# HTTP ----------------------------------------------------------------------------------------


def http_answer(
    method: str, target: str, headers: Headers, body: bytes, config: Config
) -> tuple[int, bytes]:
    """Status and JSON body for one plain HTTP request (spec 10-http)."""
    url = urllib.parse.urlsplit(target)
    faults = config.faults
    if url.path == "/health" and method == "GET":
        if "health-broken" in faults:
            return 503, b'{"status":"unavailable"}'
        return 200, b'{"status":"ok"}'
    if url.path != "/":
        return (200 if "http-unknown-path-200" in faults else 404), b'{"detail":"not found"}'
    if method != "POST":
        return 405, b'{"detail":"method not allowed"}'
    if config.key is not None and "http-auth-not-enforced" not in faults:
        query = urllib.parse.parse_qs(url.query)
        refused = auth_refusal(credential(headers, query), config)
        if refused is not None:
            return refused[0], json.dumps({"detail": refused[1]}).encode()
    try:
        request = validate(json.loads(body))
    except (ValueError, InvalidInput) as problem:
        status = 200 if "http-validation-200" in config.faults else 422
        return status, json.dumps({"detail": str(problem)}).encode()
    if request.fail:
        return (200 if "http-failure-200" in faults else 500), b'{"detail":"requested failure"}'
    output = request.prompt + ("!" if "http-disagrees" in faults else "")
    return 200, json.dumps({"output": output}).encode()


async def serve_http(
    method: str,
    path: str,
    headers: Headers,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    config: Config,
) -> None:
    length = int(headers.get("Content-Length", "0") or "0")
    url = urllib.parse.urlsplit(path)
    faults = config.faults
    if length > MAX_MESSAGE and "no-413" not in faults:
        await write_status(writer, 413, "Content Too Large")  # before any of it (RT-SEC-016)
        return
    if (
        config.key is not None
        and method == "POST"
        and url.path == "/"
        and not {"auth-after-body", "http-auth-not-enforced"} & faults
    ):  # refused from the head alone, the body never read (RT-SEC-030)
        refused = auth_refusal(credential(headers, urllib.parse.parse_qs(url.query)), config)
        if refused is not None:
            await write_status(writer, refused[0], refused[1])
            return
    body = await reader.readexactly(length) if length else b""
    if method == "POST":
        with contextlib.suppress(ValueError, InvalidInput):
            delay = validate(json.loads(body)).delay_ms
            await asyncio.sleep(delay / 1000)
    status, payload = http_answer(method, path, headers, body, config)
    reasons = {
        200: "OK",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        405: "Method Not Allowed",
        422: "Unprocessable Content",
        500: "Internal Server Error",
        503: "Service Unavailable",
    }
    reason = reasons.get(status, "Error")
    writer.write(
        (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            + (f"WWW-Authenticate: {CHALLENGE}\r\n" if status == 401 else "")
            + f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        ).encode()
        + payload
    )
    await writer.drain()
    writer.close()


# The listener ---------------------------------------------------------------------------------


async def handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, config: Config
) -> None:
    try:
        head = await read_head(reader, config.faults)
        method, target, version, headers = parse_head(head)
        if "websocket" in headers.get("Upgrade", "").lower():
            if (method, version) != ("GET", "HTTP/1.1"):  # RT-SEC-041
                if "upgrade-any-method" not in config.faults:
                    status = 405 if method != "GET" else 505
                    await write_status(writer, status, "upgrade needs GET over HTTP/1.1")
                    return
                head = head.replace(f"{method} ".encode(), b"GET ", 1)
                head = head.replace(f" {version}\r\n".encode(), b" HTTP/1.1\r\n", 1)
            await serve_websocket(head, reader, writer, config)
        else:
            await serve_http(method, target, headers, reader, writer, config)
    except RefuseHead as refused:
        await write_status(writer, refused.status, "request head too large")
    except DropConnection:
        writer.transport.abort()
    except (
        asyncio.IncompleteReadError,
        asyncio.LimitOverrunError,
        TimeoutError,
        ValueError,
        ConnectionError,
    ):
        writer.close()
    except asyncio.CancelledError:  # the server is stopping: end quietly, no traceback
        writer.transport.abort()


async def main(host: str, port: int, config: Config) -> None:
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, config), host, port, limit=MAX_HEAD
    )
    bound = server.sockets[0].getsockname()[1]
    print(f"ws://{host}:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()


def cli(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fault", action="append", default=[], choices=sorted(ALL_FAULTS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--key", default=None, help="require this credential (feature `auth`)")
    parser.add_argument("--list-faults", action="store_true", help="print the switches as JSON")
    args = parser.parse_args(argv)
    if args.list_faults:
        print(json.dumps(ALL_FAULTS, indent=2, sort_keys=True))
        return 0
    config = Config(faults=frozenset(args.fault), key=args.key)
    asyncio.run(main(args.host, args.port, config))
    return 0


if __name__ == "__main__":
    sys.exit(cli())
