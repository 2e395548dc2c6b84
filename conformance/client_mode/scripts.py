"""The scripts the suite's server plays against a client under test (spec chapter 13).

A script reads the client's inputs and answers them: outputs, control frames, close codes, byte
vectors written as hex. It answers leniently (it reads text or JSON inputs too) so that a client
breaking one requirement is caught on that requirement alone. `conformance.client_mode.cases`
pairs each script with what the adapter is told to do.
"""

from __future__ import annotations

import json
from typing import Any

import msgpack

from conformance.client_mode.recording import Frame
from conformance.client_mode.server import Peer, Script

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


def echo_then_timeout(count: int) -> Script:
    async def script(peer: Peer) -> None:
        await _answer(peer, count)
        await peer.send_error("TIMEOUT", "no inputs, reconnect when needed!")
        await peer.close(1000)

    return script


async def types(peer: Peer) -> None:
    frame = await peer.recv()
    if frame is not None:
        await peer.send_output({"output": lenient_decode(frame)})
    await peer.close(1000)


async def error_internal(peer: Peer) -> None:
    await _answer(peer, 1)
    if await peer.recv() is not None:
        await peer.send_error("INTERNAL_ERROR", "requested failure")
    await peer.close(1000)


async def error_unknown_code(peer: Peer) -> None:
    await _answer(peer, 1)
    # Extra keys in an error frame are allowed; clients ignore them (RT decision 4).
    await peer.send_error(UNKNOWN_ERROR_CODE, "a code this client does not know", detail={"k": 1})
    await peer.close(1000)


async def error_invalid_input(peer: Peer) -> None:
    await _answer(peer, 1)
    if await peer.recv() is not None:
        await peer.send_error("INVALID_INPUT", "prompt: field required")
    await _answer(peer, 1)
    await peer.close(1000)


async def server_streaming(peer: Peer) -> None:
    frame = await peer.recv()
    if frame is not None:
        value = lenient_decode(frame)
        prompt = value.get("prompt") if isinstance(value, dict) else None
        count = value.get("count", 0) if isinstance(value, dict) else 0
        for i in range(count if isinstance(count, int) else 0):
            await peer.send_output({"output": f"{prompt}-{i}"})
    await peer.send_error("TIMEOUT", "no inputs, reconnect when needed!")
    await peer.close(1000)


async def x_fal_message(peer: Peer) -> None:
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


async def unknown_control(peer: Peer) -> None:
    frame = await peer.recv()
    if frame is not None:
        await peer.send_control({"type": "x-rt-future", "value": 1})
        await peer.send_text("not json at all")
        await peer.send_output(echo_of(frame))
    await peer.close(1000)


async def abrupt(peer: Peer) -> None:
    await _answer(peer, 1)
    await peer.recv()
    peer.abort()


def large_text(size: int) -> str:
    """The output string of a ``size``-byte output message (msgpack ``{"output": str}``)."""
    return "x" * (size - 13)  # 1 map byte, 7 key bytes, 5 str32 header bytes


def large_output(size: int) -> Script:
    async def script(peer: Peer) -> None:
        if await peer.recv() is not None:
            await peer.send_output({"output": large_text(size)})
        await peer.close(1000)

    return script


async def never_answers(peer: Peer) -> None:
    # Read (and record) inputs but answer nothing until the client gives up.
    await peer.drain_until_closed(timeout=30.0)


async def ping(peer: Peer) -> None:
    frame = await peer.recv()
    if frame is not None:
        await peer.ping()
        await peer.send_output(echo_of(frame))
    await peer.close(1000)


async def error_extra_members(peer: Peer) -> None:
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


async def legacy_error(peer: Peer) -> None:
    await _answer(peer, 1)
    await peer.send_text('{"status":"error","error":"Unauthorized"}')
    await peer.close(1000)


async def lookalike_outputs(peer: Peer) -> None:
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


async def fragmented(peer: Peer) -> None:
    if await peer.recv() is not None:
        await peer.send_fragments([bytes.fromhex(h) for h in FRAGMENTS_HEX])
    await peer.close(1000)


async def burst(peer: Peer) -> None:
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
