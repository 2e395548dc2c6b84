"""The floor for the round-trip benchmark: an asyncio TCP echo with length-prefixed msgpack.

Asyncio streams, as the floor of the perf research (perf-anchors.md). It does the same codec
work as a realtime endpoint (decode the request map, build
`{"output": prompt}`, encode) with 4-byte big-endian length framing and nothing else.
Prints `tcp://127.0.0.1:PORT` when listening; SIGINT/SIGTERM stop it.
"""

from __future__ import annotations

import asyncio
import signal
import sys

import msgpack

_pack = msgpack.Packer(use_bin_type=True).pack


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            size = int.from_bytes(await reader.readexactly(4), "big")
            request = msgpack.unpackb(await reader.readexactly(size), raw=False)
            reply = _pack({"output": request["prompt"]})
            writer.write(len(reply).to_bytes(4, "big") + reply)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await asyncio.start_server(_serve, "127.0.0.1", port)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"tcp://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
