"""Client-mode cases built from the spec's vectors (spec/vectors: msgpack-output, url-building).

Each `msgpack-output` error vector gets its own case (a client may end the session on it, which
must not hide the next vector); the deliver vectors share one case. Each `url-building` vector
whose options the adapter contract can express (app id, path, token) gets a case whose judge
is the handshake's request line.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from conformance.catalog import data_path
from conformance.client_mode.case_model import Case
from conformance.client_mode.scripts import echo_of
from conformance.client_mode.server import Peer, Script

BEFORE = {"output": "before"}
AFTER = {"output": "after"}


def load(name: str) -> list[dict[str, Any]]:
    """The cases of one vector file (the packaged copy)."""
    cases: list[dict[str, Any]] = json.loads(data_path("vectors", name).read_text("utf-8"))["cases"]
    return cases


def output_error_vectors() -> list[dict[str, Any]]:
    """The `msgpack-output` cases a client must not deliver."""
    return [c for c in load("msgpack-output.json") if c["verdict"] == "error"]


def output_deliver_vectors() -> list[dict[str, Any]]:
    """The `msgpack-output` cases a client delivers, in file order."""
    return [c for c in load("msgpack-output.json") if c["verdict"] == "deliver"]


def url_vectors() -> list[dict[str, Any]]:
    """The `url-building` cases the adapter contract can drive (no `max_buffering`)."""
    return [c for c in load("url-building.json") if "max_buffering" not in c]


def _send_after_echo(payloads: list[bytes], then_after: bool) -> Script:
    async def script(peer: Peer) -> None:
        frame = await peer.recv()
        if frame is not None:
            await peer.send_output(BEFORE)
            for payload in payloads:
                await peer.send_binary(payload)
            if then_after:
                await peer.send_output(AFTER)
        await peer.close(1000)

    return script


def _echo_once(peer_script_outputs: int = 1) -> Script:
    async def script(peer: Peer) -> None:
        for _ in range(peer_script_outputs):
            frame = await peer.recv()
            if frame is None:
                break
            await peer.send_output(echo_of(frame))
        await peer.close(1000)

    return script


def url_path(case: dict[str, Any]) -> str:
    """The request target (path and query) the vector's URL names."""
    parts = urllib.parse.urlsplit(str(case["url"]))
    return parts.path + ("?" + parts.query if parts.query else "")


def vector_case_list() -> list[Case]:
    """Every client-mode case built from vectors."""
    cases = [
        Case(
            "output-vectors-deliver",
            "Answers one input with {output: before} and every deliver vector of "
            "msgpack-output.json, then closes 1000.",
            [{"prompt": "v"}],
            _send_after_echo([bytes.fromhex(c["hex"]) for c in output_deliver_vectors()], False),
        )
    ]
    for n, vector in enumerate(output_error_vectors()):
        cases.append(
            Case(
                f"output-vector-error-{n}",
                f"Answers one input with {{output: before}}, then {vector['description']} "
                "(hex in msgpack-output.json), then {output: after}, then closes 1000.",
                [{"prompt": "v"}],
                _send_after_echo([bytes.fromhex(vector["hex"])], True),
            )
        )
    for n, vector in enumerate(url_vectors()):
        cases.append(
            Case(
                f"url-vector-{n}",
                f"URL building: {vector['description']}; echoes one input, closes 1000.",
                [{"prompt": "u"}],
                _echo_once(),
                path=vector["path"] or "",
                app_id=vector["app_id"],
                token=vector.get("token"),
                recv_timeout=3.0,
            )
        )
    return cases
