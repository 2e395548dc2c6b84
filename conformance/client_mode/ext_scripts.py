"""What the scripted server plays to a client that opts in to extensions (spec chapter 15).

Each script answers ``rt_ext`` with a ``hello`` that enables the offered tokens it implements
(RT-EXT-002/004), then exercises one client-side requirement: end-of-input, end-of-output,
correlation by input index, heartbeat. ``ext_cases`` pairs them with what the adapter asks for.
"""

from __future__ import annotations

import json

from conformance.client_mode.recording import Frame
from conformance.client_mode.scripts import echo_of
from conformance.client_mode.server import Peer, Script

HEARTBEAT_INTERVAL = 1.0
LIMITS = {"max_message_bytes": 16777216, "session_timeout": None, "buffering": None}


def offered(peer: Peer) -> list[str] | None:
    """The tokens of the client's ``rt_ext`` (None: it did not opt in)."""
    values = peer.record.handshake.query.get("rt_ext")
    if values is None:
        return None
    return [t for value in values for t in value.split(",") if t]


def is_end_of_input(frame: Frame) -> bool:
    """Whether ``frame`` is exactly an end-of-input frame (RT-EXT-012)."""
    if frame.kind != "text":
        return False
    try:
        value: object = json.loads(frame.payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return False
    return value == {"type": "x-fal-message", "action": "end-of-input"}


async def send_hello(peer: Peer, implements: tuple[str, ...]) -> list[str]:
    """Send the hello enabling the offered tokens in ``implements``; return them (RT-EXT-004)."""
    enabled = [t for t in offered(peer) or [] if t in implements]
    hello: dict[str, object] = {
        "type": "x-fal-message",
        "action": "hello",
        "version": "1.1",
        "extensions": enabled,
        "mode": "unary",
        "limits": {**LIMITS, "max_batch_size": 1},
    }
    if "heartbeat" in enabled:
        hello["heartbeat_interval"] = HEARTBEAT_INTERVAL
    await peer.send_control(hello)
    return enabled


async def end_of_output(peer: Peer, reason: str) -> None:
    """End the session the 1.1 way: end-of-output, then close 1000 (RT-EXT-020)."""
    await peer.send_control({"type": "x-fal-message", "action": "end-of-output", "reason": reason})
    await peer.close(1000)


async def end_of_input_session(peer: Peer) -> None:
    # The hello goes out only once an input is in: a client that waits for it before sending
    # its inputs stalls here (RT-EXT-008). Then echo every input up to end-of-input (RT-EXT-010).
    first = await peer.recv()
    if first is None:
        await peer.close(1000)
        return
    await send_hello(peer, ("end-of-input", "end-of-output"))
    frames = [first]
    while (frame := await peer.recv()) is not None and not is_end_of_input(frame):
        frames.append(frame)
    for data in frames:
        await peer.send_output(echo_of(data))
    await peer.drain_until_closed(timeout=0.3)  # a data message after end-of-input is recorded
    await end_of_output(peer, "end-of-input" if frame is not None else "idle-timeout")


async def end_of_output_session(peer: Peer) -> None:
    await send_hello(peer, ("end-of-output",))
    frame = await peer.recv()
    if frame is not None:
        await peer.send_output(echo_of(frame))
    await end_of_output(peer, "complete")


async def correlation_session(peer: Peer) -> None:
    # Answers three inputs out of order (2, then an error of 1, then 0) so that a client
    # numbering outputs by position reports the wrong inputs (RT-EXT-033). It implements
    # correlation only: end-of-input stays off, so the client must not send it (RT-EXT-006).
    await send_hello(peer, ("correlation", "end-of-output"))
    frames: list[Frame] = []
    while len(frames) < 3 and (frame := await peer.recv()) is not None:
        frames.append(frame)
    if len(frames) == 3:
        await peer.send_control({"type": "x-fal-message", "action": "output", "inputs": [2]})
        await peer.send_output(echo_of(frames[2]))
        await peer.send_error("INVALID_INPUT", "prompt: field required", input_index=1)
        await peer.send_control({"type": "x-fal-message", "action": "output", "inputs": [0]})
        await peer.send_output(echo_of(frames[0]))
    await peer.drain_until_closed(timeout=0.3)
    await end_of_output(peer, "complete")


async def heartbeat_session(peer: Peer) -> None:
    # Answers one input, then goes silent: no message, no heartbeat (RT-EXT-042).
    await send_hello(peer, ("heartbeat",))
    frame = await peer.recv()
    if frame is not None:
        await peer.send_output(echo_of(frame))
    await peer.drain_until_closed(timeout=15.0)


def old_server(count: int) -> Script:
    """A 1.0 server: no hello; echo ``count`` inputs, then TIMEOUT and 1000 (RT-EXT-007)."""

    async def script(peer: Peer) -> None:
        for _ in range(count):
            frame = await peer.recv()
            if frame is None:
                break
            await peer.send_output(echo_of(frame))
        await peer.drain_until_closed(timeout=0.3)
        await peer.send_error("TIMEOUT", "no inputs, reconnect when needed!")
        await peer.close(1000)

    return script
