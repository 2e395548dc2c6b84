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
SPECIAL_TOKEN = "rt+jwt/7f3a=&x y%"  # every character here needs percent-encoding
KEY = "rt-key-id:rt-key-secret"
MIB = 1024 * 1024
UNKNOWN_ERROR_CODE = "RT_FUTURE_CODE"
BURST = 20

# Binary outputs a client must deliver as data although they look like control frames
# (RT-MSG-024): only TEXT frames carry control messages.
LOOKALIKE_OUTPUTS: tuple[dict[str, Any], ...] = (
    {"type": "x-fal-error", "error": "INTERNAL_ERROR", "reason": "inside an output"},
    {"type": "x-fal-message", "action": "timings", "timing": 1.0},
    {"status": "error", "error": "Unauthorized"},
)

# One output with every value of the profile (RT-CONV-005), written as bytes:
# {"f32": float32 1.5, "u64": 2^64-1, "i64": -2^63, "s": "", "b": bin "", "a": [], "m": {},
#  "ключ": "значение", "n": nil, "t": true}
PROFILE_OUTPUT_HEX = (
    "8a"
    "a3663332"
    "ca3fc00000"
    "a3753634"
    "cfffffffffffffffff"
    "a3693634"
    "d38000000000000000"
    "a173"
    "a0"
    "a162"
    "c400"
    "a161"
    "90"
    "a16d"
    "80"
    "a8d0bad0bbd18ed187"
    "b0d0b7d0bdd0b0d187d0b5d0bdd0b8d0b5"
    "a16e"
    "c0"
    "a174"
    "c3"
)
PROFILE_OUTPUT_JSON: dict[str, Any] = {
    "f32": 1.5,
    "u64": 2**64 - 1,
    "i64": -(2**63),
    "s": "",
    "b": b"",
    "a": [],
    "m": {},
    "\u043a\u043b\u044e\u0447": "\u0437\u043d\u0430\u0447\u0435\u043d\u0438\u0435",
    "n": None,
    "t": True,
}

# {"output": [[...[]...]]}: the map is level 1, then 63 levels of arrays (RT-CONV-006).
DEEP_OUTPUT_HEX = "81a66f7574707574" + "91" * 62 + "90"
DEEP_OUTPUT_JSON: dict[str, Any] = {"output": []}
for _ in range(62):
    DEEP_OUTPUT_JSON = {"output": [DEEP_OUTPUT_JSON["output"]]}

# Messages that are not exactly one msgpack value (RT-CONV-010): {"a": "b"} then trailing
# nil; the never-used byte c1; an empty message; a map of two with one member.
MALFORMED_HEX = ("81a161a162c0", "c1", "", "82a161a162")

# {"output": "f"} cut into three fragments (RT-TRANS-041).
FRAGMENTS_HEX = ("81a6", "6f7574707574", "a166")


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
    token_shape: str | None = None  # "string" | "object" | "fail": run the token endpoint
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
        await peer.send_text("not json at all")
        await peer.send_output(echo_of(frame))
    await peer.close(1000)


async def _abrupt(peer: Peer) -> None:
    await _answer(peer, 1)
    await peer.recv()
    peer.abort()


def large_text(size: int) -> str:
    """The output string of a ``size``-byte output message (msgpack ``{"output": str}``)."""
    return "x" * (size - 13)  # 1 map byte, 7 key bytes, 5 str32 header bytes


def _large_output(size: int) -> Script:
    async def script(peer: Peer) -> None:
        if await peer.recv() is not None:
            await peer.send_output({"output": large_text(size)})
        await peer.close(1000)

    return script


async def _never_answers(peer: Peer) -> None:
    # Read (and record) inputs but answer nothing until the client gives up.
    await peer.drain_until_closed(timeout=30.0)


async def _ping(peer: Peer) -> None:
    frame = await peer.recv()
    if frame is not None:
        await peer.ping()
        await peer.send_output(echo_of(frame))
    await peer.close(1000)


async def _error_extra_members(peer: Peer) -> None:
    await _answer(peer, 1)
    # Members a client does not know must be ignored (RT-CTRL-023).
    await peer.send_control(
        {
            "type": "x-fal-error",
            "error": "INTERNAL_ERROR",
            "reason": "requested failure",
            "rt_detail": {"attempt": 1},
            "request_id": None,
        }
    )
    await peer.close(1000)


async def _legacy_error(peer: Peer) -> None:
    await _answer(peer, 1)
    await peer.send_text('{"status":"error","error":"Unauthorized"}')
    await peer.close(1000)


async def _lookalike_outputs(peer: Peer) -> None:
    frame = await peer.recv()
    if frame is not None:
        for value in LOOKALIKE_OUTPUTS:
            await peer.send_output(value)
    await peer.close(1000)


def raw_outputs(*hexes: str) -> Script:
    """Answer the first input with these messages, written as hex, then close 1000."""

    async def script(peer: Peer) -> None:
        if await peer.recv() is not None:
            for text in hexes:
                await peer.send_binary(bytes.fromhex(text))
        await peer.close(1000)

    return script


async def _fragmented(peer: Peer) -> None:
    if await peer.recv() is not None:
        await peer.send_fragments([bytes.fromhex(h) for h in FRAGMENTS_HEX])
    await peer.close(1000)


async def _burst(peer: Peer) -> None:
    # Answer nothing until every input is in: a client (or adapter) that waits for an output
    # before sending the next input delivers only one (RT-CONF-041, RT-FLOW-030).
    frames = []
    for _ in range(BURST):
        frame = await peer.recv()
        if frame is None:
            break
        frames.append(frame)
    for frame in frames:
        await peer.send_output(echo_of(frame))
    await peer.close(1000)


def _case_list() -> list[Case]:
    abc = _prompts("a", "b", "c")
    words = [f"w{i}" for i in range(BURST)]
    cases = [
        Case(
            "echo",
            "Echoes three inputs in order, then closes 1000.",
            abc,
            echo_then_close(3),
            expected_outputs=_outputs("a", "b", "c"),
        ),
        Case(
            "burst",
            f"Answers nothing until all {BURST} inputs arrived, then echoes them.",
            _prompts(*words),
            _burst,
            input_wait=2.0,
            expected_outputs=_outputs(*words),
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
            "namespaced-app-id",
            "The app id has a namespace: workflows/local/conformance-app.",
            _prompts("a"),
            echo_then_close(1),
            app_id="workflows/local/conformance-app",
            expected_outputs=_outputs("a"),
        ),
        Case(
            "legacy-app-id",
            "The app id has the legacy form 12345-conformance-app.",
            _prompts("a"),
            echo_then_close(1),
            app_id="12345-conformance-app",
            expected_outputs=_outputs("a"),
        ),
        Case(
            "app-id-ends-with-realtime",
            "The app id ends with /realtime and RT_PATH is empty.",
            _prompts("a"),
            echo_then_close(1),
            app_id="local/conformance-app/realtime",
            path="",
            expected_outputs=_outputs("a"),
        ),
        Case(
            "error-internal",
            "Answers one input, then INTERNAL_ERROR and close 1000.",
            _prompts("a", "b"),
            _error_internal,
            expected_outputs=_outputs("a"),
        ),
        Case(
            "error-extra-members",
            "An INTERNAL_ERROR frame with members the client cannot know.",
            _prompts("a"),
            _error_extra_members,
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
            "INVALID_INPUT for the 2nd of three inputs; the session goes on.",
            _prompts("a", "b", "c"),
            _error_invalid_input,
            expected_outputs=_outputs("a", "c"),
        ),
        Case(
            "legacy-error",
            'Answers one input, then a legacy {"status": "error"} text frame.',
            _prompts("a"),
            _legacy_error,
            expected_outputs=_outputs("a"),
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
            "Streams three outputs for one input, then TIMEOUT.",
            [{"prompt": "s", "count": 3}],
            _server_streaming,
            path="/realtime/stream",
            expected_outputs=_outputs("s-0", "s-1", "s-2"),
        ),
        Case(
            "x-fal-message",
            "x-fal-message frames (timings, unknown action) around outputs.",
            _prompts("a", "b"),
            _x_fal_message,
            expected_outputs=_outputs("a", "b"),
        ),
        Case(
            "unknown-control",
            "Sends a text frame of an unknown type and a non-JSON text frame.",
            _prompts("a"),
            _unknown_control,
            expected_outputs=_outputs("a"),
        ),
        Case(
            "control-lookalike-outputs",
            "Binary outputs that look like control frames.",
            _prompts("a"),
            _lookalike_outputs,
            expected_outputs=list(LOOKALIKE_OUTPUTS),
        ),
        Case(
            "receive-profile",
            "One output holding every profile value (written as hex).",
            _prompts("a"),
            raw_outputs(PROFILE_OUTPUT_HEX),
            expected_outputs=[PROFILE_OUTPUT_JSON],
        ),
        Case(
            "deep-output",
            "One output nested 64 levels deep.",
            _prompts("a"),
            raw_outputs(DEEP_OUTPUT_HEX),
            expected_outputs=[DEEP_OUTPUT_JSON],
        ),
        Case(
            "malformed-outputs",
            "Malformed messages: trailing bytes, c1, empty, truncated.",
            _prompts("a"),
            raw_outputs(*MALFORMED_HEX, "81a66f7574707574a26f6b"),
        ),
        Case(
            "fragmented-output",
            "One output sent as three fragments.",
            _prompts("a"),
            _fragmented,
            expected_outputs=[{"output": "f"}],
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
        Case("output-1mib", "Answers with one output of 1 MiB.", _prompts("a"), _large_output(MIB)),
        Case(
            "output-16mib",
            "Answers with one output of 16 MiB.",
            _prompts("a"),
            _large_output(16 * MIB),
        ),
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
            "auth-token-special",
            "The token holds characters that need percent-encoding.",
            _prompts("a"),
            echo_then_close(1),
            token=SPECIAL_TOKEN,
            expected_outputs=_outputs("a"),
        ),
        Case(
            "auth-key-header",
            "The adapter is given a key (RT_KEY) and no token endpoint.",
            _prompts("a"),
            echo_then_close(1),
            key=KEY,
            expected_outputs=_outputs("a"),
        ),
        Case(
            "auth-key",
            "The adapter is given a key and a token endpoint answering a JSON string.",
            _prompts("a"),
            echo_then_close(1),
            key=KEY,
            token_shape="string",
            expected_outputs=_outputs("a"),
        ),
        Case(
            "auth-key-token-object",
            'As auth-key; the token endpoint answers {"token": ...}.',
            _prompts("a"),
            echo_then_close(1),
            key=KEY,
            token_shape="object",
            expected_outputs=_outputs("a"),
        ),
        Case(
            "token-endpoint-fails",
            "The token endpoint answers 401.",
            _prompts("a"),
            echo_then_close(1),
            key=KEY,
            token_shape="fail",
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


def _register_vector_cases() -> None:
    """Add the cases built from the spec's vectors (spec 1.1; `vector_cases`)."""
    from conformance.client_mode.vector_cases import vector_case_list

    CASES.update((case.name, case) for case in vector_case_list())


_register_vector_cases()


def get_case(name: str) -> Case:
    """Look a case up by name; a KeyError names the known cases."""
    try:
        return CASES[name]
    except KeyError:
        raise KeyError(f"unknown case {name!r}; known: {', '.join(sorted(CASES))}") from None


def inputs_json(case: Case) -> str:
    """The RT_INPUTS value for ``case``."""
    return json.dumps(case.inputs)
