# mypy: disallow-subclassing-any=False, disallow-untyped-decorators=False
"""A fal streaming app: bidi, server-streaming and a custom codec, as a fal user writes it.

`/realtime` is bidi (an async iterator of inputs to an async iterator of outputs) that ends
after one idle second; `/countdown` streams from a plain generator, one input per session;
`/json` speaks JSON bytes instead of msgpack through fal's `encode_message`/`decode_message`,
with `input_modal`, `output_modal` and `content_type` given explicitly. Moved to the reference
by changing only the `import fal` line (`tests/interop/test_moved_fal_apps.py`).
"""

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import fal
from pydantic import BaseModel


class Chunk(BaseModel):
    text: str


class Start(BaseModel):
    n: int


class Token(BaseModel):
    token: str
    index: int


def encode_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class StreamingApp(fal.App):
    @fal.realtime("/realtime", session_timeout=1.0)
    async def words(self, chunks: AsyncIterator[Chunk]) -> AsyncIterator[Token]:
        index = 0
        async for chunk in chunks:
            for word in chunk.text.split():
                yield Token(token=word, index=index)
                index += 1

    @fal.realtime("/countdown")
    def countdown(self, start: Start) -> Iterator[Token]:
        for i in range(start.n):
            yield Token(token=str(start.n - i), index=i)

    @fal.realtime(
        "/json",
        input_modal=Chunk,
        output_modal=Token,
        content_type="application/json",
        encode_message=encode_json,
        decode_message=json.loads,
    )
    def shout(self, chunk: Any) -> dict[str, Any]:
        return {"token": chunk.text.upper(), "index": len(chunk.text)}
