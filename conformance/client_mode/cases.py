"""The scripted cases a client under test is run against (spec chapter 13, client adapter contract).

Each case names the inputs the adapter sends (RT_INPUTS), the credentials and path it is given,
and a script the server plays: what it answers to each input, which control frames and close
codes it sends. The server answers leniently (it reads text or JSON inputs too) so that a client
breaking one requirement is caught on that requirement alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import msgpack

from conformance.client_mode.recording import Frame
from conformance.client_mode.server import Peer, Script

DEFAULT_APP_ID = "local/conformance-app"
TOKEN = "rt-conformance-jwt-7f3a"
KEY = "rt-key-id:rt-key-secret"
LARGE_OUTPUT_BYTES = 16 * 1024 * 1024  # clients SHOULD accept outputs of at least 16 MiB
UNKNOWN_ERROR_CODE = "RT_FUTURE_CODE"


@dataclass(frozen=True)
class Case:
    """One scripted server behaviour and what the adapter is told to do against it."""

    name: str
    summary: str
    inputs: list[dict[str, Any]]
    script: Script
    path: str = "/realtime"
    app_id: str = DEFAULT_APP_ID
    token: str | None = None
    key: str | None = None
    token_shape: str | None = None  # "string" | "object": run the fake token endpoint
    accept_deflate: bool = False
    refuse_status: int | None = None
    recv_timeout: float = 5.0
    input_wait: float = 5.0
    expected_outputs: list[Any] = field(default_factory=list)


def lenient_decode(frame: Frame) -> Any:
    """Read an input the way a forgiving server would: msgpack first, then JSON text."""
    if frame.kind == "binary":
        try:
            return msgpack.unpackb(frame.payload, raw=False, strict_map_key=False)
        except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError):
            pass
    try:
        return json.loads(frame.payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def echo_of(frame: Frame) -> dict[str, Any]:
    """The conformance app's unary answer to an input: ``{"output": prompt}``."""
    value = lenient_decode(frame)
    prompt = value.get("prompt") if isinstance(value, dict) else None
    return {"output": prompt}


def _prompts(*words: str) -> list[dict[str, Any]]:
    return [{"prompt": w} for w in words]


def _outputs(*words: str) -> list[Any]:
    return [{"output": w} for w in words]


async def _answer(peer: Peer, count: int) -> int:
    """Answer up to ``count`` inputs with their echo; return how many arrived."""
    for seen in range(count):
        frame = await peer.recv()
        if frame is None:
            return seen
        await peer.send_output(echo_of(frame))
    return count


def echo_then_close(count: int, code: int = 1000) -> Script:
    """Echo ``count`` inputs, then close with ``code``."""

    async def script(peer: Peer) -> None:
        await _answer(peer, count)
        await peer.close(code, "" if code == 1000 else "scripted close")

    return script


def _echo_then_timeout(count: int) -> Script:
    async def script(peer: Peer) -> None:
        await _answer(peer, count)
        await peer.send_error("TIMEOUT", "no inputs, reconnect when needed!")
        await peer.close(1000)

    return script


async def _types(peer: Peer) -> None:
    frame = await peer.recv()
    if frame is not None:
        await peer.send_output({"output": lenient_decode(frame)})
    await peer.close(1000)


async def _error_internal(peer: Peer) -> None:
    await _answer(peer, 1)
    if await peer.recv() is not None:
        await peer.send_error("INTERNAL_ERROR", "requested failure")
    await peer.close(1000)


async def _error_unknown_code(peer: Peer) -> None:
    await _answer(peer, 1)
    # Extra keys in an error frame are allowed; clients ignore them (RT decision 4).
    await peer.send_error(UNKNOWN_ERROR_CODE, "a code this client does not know", detail={"k": 1})
    await peer.close(1000)


async def _error_invalid_input(peer: Peer) -> None:
    await _answer(peer, 1)
    if await peer.recv() is not None:
        await peer.send_error("INVALID_INPUT", "prompt: field required")
    await _answer(peer, 1)
    await peer.close(1000)


async def _server_streaming(peer: Peer) -> None:
    frame = await peer.recv()
    if frame is not None:
        value = lenient_decode(frame)
        prompt = value.get("prompt") if isinstance(value, dict) else None
        count = value.get("count", 0) if isinstance(value, dict) else 0
        for i in range(count if isinstance(count, int) else 0):
            await peer.send_output({"output": f"{prompt}-{i}"})
    await peer.send_error("TIMEOUT", "no inputs, reconnect when needed!")
    await peer.close(1000)


async def _x_fal_message(peer: Peer) -> None:
    frame = await peer.recv()
    if frame is not None:
        await peer.send_control({"type": "x-fal-message", "action": "timings", "timing": 0.0})
        await peer.send_output(echo_of(frame))
        await peer.send_control({"type": "x-fal-message", "action": "timings", "timing": 0.012})
    frame = await peer.recv()
    if frame is not None:
        await peer.send_control({"type": "x-fal-message", "action": "rt-future", "data": [1]})
        await peer.send_output(echo_of(frame))
    await peer.close(1000)


async def _unknown_control(peer: Peer) -> None:
    frame = await peer.recv()
    if frame is not None:
        await peer.send_control({"type": "x-rt-future", "value": 1})
        await peer.send_output(echo_of(frame))
    await peer.close(1000)


async def _abrupt(peer: Peer) -> None:
    await _answer(peer, 1)
    await peer.recv()
    peer.abort()


async def _large_output(peer: Peer) -> None:
    frame = await peer.recv()
    if frame is not None:
        # {"output": str} packed: 1 map byte + 7 key bytes + 5 str header bytes.
        await peer.send_output({"output": "x" * (LARGE_OUTPUT_BYTES - 13)})
    await peer.close(1000)


async def _never_answers(peer: Peer) -> None:
    # Read (and record) inputs but answer nothing until the client gives up.
    await peer.drain_until_closed(timeout=30.0)


async def _ping(peer: Peer) -> None:
    frame = await peer.recv()
    if frame is not None:
        await peer.ping()
        await peer.send_output(echo_of(frame))
    await peer.close(1000)


def _case_list() -> list[Case]:
    abc = _prompts("a", "b", "c")
    cases = [
        Case(
            "echo",
            "Echoes three inputs in order, then closes 1000.",
            abc,
            echo_then_close(3),
            expected_outputs=_outputs("a", "b", "c"),
        ),
        Case(
            "types",
            "Echoes one input holding every msgpack type back inside the output.",
            [
                {
                    "s": "h\u00e9llo",
                    "i": -5,
                    "u": 2**32,
                    "f": 0.5,
                    "t": True,
                    "n": None,
                    "b": {"$bytes": "00ff10"},
                    "a": [1, "x", {"$bytes": ""}],
                    "m": {"k": 1.25},
                }
            ],
            _types,
        ),
        Case(
            "error-internal",
            "Answers one input, then INTERNAL_ERROR and close 1000.",
            _prompts("a", "b"),
            _error_internal,
            expected_outputs=_outputs("a"),
        ),
        Case(
            "error-unknown-code",
            "Answers one input, then an error code the client cannot know.",
            _prompts("a"),
            _error_unknown_code,
            expected_outputs=_outputs("a"),
        ),
        Case(
            "error-invalid-input",
            "INVALID_INPUT for the second of three inputs; the session goes on.",
            _prompts("a", "b", "c"),
            _error_invalid_input,
            expected_outputs=_outputs("a", "c"),
        ),
        Case(
            "timeout-end",
            "Answers one input, then ends the session: TIMEOUT and close 1000.",
            _prompts("a"),
            _echo_then_timeout(1),
            expected_outputs=_outputs("a"),
        ),
        Case(
            "server-streaming",
            "Streams three outputs for one input on /realtime/stream, then TIMEOUT.",
            [{"prompt": "s", "count": 3}],
            _server_streaming,
            path="/realtime/stream",
            expected_outputs=_outputs("s-0", "s-1", "s-2"),
        ),
        Case(
            "x-fal-message",
            "Sends x-fal-message frames (timings and an unknown action) around outputs.",
            _prompts("a", "b"),
            _x_fal_message,
            expected_outputs=_outputs("a", "b"),
        ),
        Case(
            "unknown-control",
            "Sends a text control frame of an unknown type before an output.",
            _prompts("a"),
            _unknown_control,
            expected_outputs=_outputs("a"),
        ),
        Case(
            "abrupt-close",
            "Answers one input, then drops TCP with no close frame.",
            _prompts("a", "b"),
            _abrupt,
            expected_outputs=_outputs("a"),
        ),
        Case(
            "deflate-accepted",
            "Accepts permessage-deflate and echoes three inputs.",
            abc,
            echo_then_close(3),
            accept_deflate=True,
            expected_outputs=_outputs("a", "b", "c"),
        ),
        Case("large-output", "Answers with one output of 16 MiB.", _prompts("big"), _large_output),
        Case(
            "never-answers",
            "Reads inputs and never answers nor closes.",
            _prompts("a"),
            _never_answers,
            recv_timeout=1.0,
        ),
        Case(
            "ping",
            "Pings the client before answering.",
            _prompts("a"),
            _ping,
            expected_outputs=_outputs("a"),
        ),
        Case(
            "auth-token",
            "The adapter is given a token (RT_TOKEN).",
            _prompts("a"),
            echo_then_close(1),
            token=TOKEN,
            expected_outputs=_outputs("a"),
        ),
        Case(
            "auth-key",
            "The adapter is given a key (RT_KEY) and a token endpoint answering a JSON string.",
            _prompts("a"),
            echo_then_close(1),
            key=KEY,
            token_shape="string",
            expected_outputs=_outputs("a"),
        ),
        Case(
            "auth-key-token-object",
            'As auth-key, the token endpoint answers {"token": ...}.',
            _prompts("a"),
            echo_then_close(1),
            key=KEY,
            token_shape="object",
            expected_outputs=_outputs("a"),
        ),
        Case(
            "refused-401",
            "Refuses the handshake with HTTP 401.",
            _prompts("a"),
            echo_then_close(1),
            key=KEY,
            refuse_status=401,
        ),
    ]
    for code in (1001, 1008, 1011):
        cases.append(
            Case(
                f"close-{code}",
                f"Answers one input, then closes with {code}.",
                _prompts("a"),
                echo_then_close(1, code),
                expected_outputs=_outputs("a"),
            )
        )
    return cases


CASES: dict[str, Case] = {case.name: case for case in _case_list()}


def get_case(name: str) -> Case:
    """Look a case up by name; a KeyError names the known cases."""
    try:
        return CASES[name]
    except KeyError:
        raise KeyError(f"unknown case {name!r}; known: {', '.join(sorted(CASES))}") from None


def inputs_json(case: Case) -> str:
    """The RT_INPUTS value for ``case``."""
    return json.dumps(case.inputs)
