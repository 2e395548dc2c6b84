"""A probe for `speed.py`: the conformance app's work on the fastest stack, with no session.

picows (C framing) on uvloop; each binary message is decoded with the reference's msgpack
profile, validated with the app's pydantic `Input`, answered with its `Output` dumped and
encoded, and sent back. There is no session at all: no idle timeout, ordering, error frames,
flow control, keepalive or fairness, and anything but a binary frame is ignored. So it is
not a server anyone should run: it shows what the *app's* work costs per message on a stack
whose own cost is about the smallest Python offers, i.e. the lowest figure any Python
realtime server running this app could reach. If that alone costs about what the TCP floor
costs, no session layer on top can come in under the floor (issue 14's goals).
Prints `ws://127.0.0.1:PORT` when listening; SIGINT/SIGTERM stop it. Loopback only.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import msgpack
import uvloop
from picows import WSListener, WSMsgType, ws_create_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reference.apps.conformance import Input, Output
from reference.core.codec import decode_input

_pack = msgpack.Packer(use_bin_type=True).pack
_validate = Input.model_validate


def answer(payload: bytes) -> bytes:
    """The conformance app's work for one input, with no protocol around it (also the
    baseline of `inprocess.py`)."""
    value = _validate(decode_input(payload))
    return bytes(_pack(Output(output=value.prompt).model_dump()))


class _AppOnly(WSListener):
    def on_ws_frame(self, transport: Any, frame: Any) -> None:
        if frame.msg_type == WSMsgType.BINARY:
            transport.send(WSMsgType.BINARY, answer(frame.get_payload_as_bytes()))
        elif frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()


async def main(port: int) -> None:
    server = await ws_create_server(
        lambda _request: _AppOnly(), "127.0.0.1", port, max_frame_size=1 << 25
    )
    print(f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
