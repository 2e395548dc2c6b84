"""Reading HTTP request heads within bounds, and short refusals (spec 12-security, 12.2).

The broken-server fixture's own small HTTP/1.1 layer: a head is read line by line so a long
request target is told from a long header block (414 vs 431, RT-SEC-014/015), within a time
bound (RT-SEC-017); each switch of `faults` turns one of those bounds off or wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import json

from websockets.datastructures import Headers

#: Bounds of spec 12.2: request head (431), request target (414), time to send the head.
MAX_HEAD = 64 * 1024
MAX_TARGET = 8 * 1024
HEAD_TIMEOUT_S = 10.0


class RefuseHead(Exception):
    """A request head past a bound: answer `status` and close (RT-SEC-014/015)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class DropConnection(Exception):
    """End the TCP connection with no response (fault `non-ascii-credential-crash`)."""


async def write_status(writer: asyncio.StreamWriter, status: int, reason: str) -> None:
    """A small JSON error response, then close (the limit refusals of spec 12)."""
    payload = json.dumps({"detail": reason}).encode()
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
        + payload
    )
    with contextlib.suppress(ConnectionError):
        await writer.drain()
    writer.close()


async def read_head(reader: asyncio.StreamReader, faults: frozenset[str]) -> bytes:
    """One request head, line by line, within the bounds of RT-SEC-014/015/017."""

    async def lines() -> bytes:
        try:
            head = await reader.readuntil(b"\r\n")
        except asyncio.LimitOverrunError:
            raise RefuseHead(431 if "no-414" in faults else 414) from None
        if len(head) > MAX_TARGET:
            raise RefuseHead(431 if "no-414" in faults else 414)
        while not head.endswith(b"\r\n\r\n"):
            try:
                head += await reader.readuntil(b"\r\n")
            except asyncio.LimitOverrunError as exc:
                if "late-431" not in faults:
                    head = b"x" * (MAX_HEAD + 1)
                else:  # wait for the field to end before counting it, however long
                    head += await reader.readexactly(exc.consumed) + await _rest_of_line(reader)
            if len(head) > MAX_HEAD:
                raise RefuseHead(400 if "no-431" in faults else 431)
        return head

    if "no-handshake-timeout" in faults:
        return await lines()
    return await asyncio.wait_for(lines(), HEAD_TIMEOUT_S)


async def _rest_of_line(reader: asyncio.StreamReader) -> bytes:
    """Everything up to the next CRLF, past the reader's limit (fault `late-431`)."""
    line = b""
    while True:
        try:
            return line + await reader.readuntil(b"\r\n")
        except asyncio.LimitOverrunError as exc:
            line += await reader.readexactly(exc.consumed)


def parse_head(head: bytes) -> tuple[str, str, str, Headers]:
    """Method, target, version and headers of an HTTP/1.1 request head."""
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = lines[0].split(" ", 2)
    headers = Headers()
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
    return method, target, version, headers
