"""Deserializer ``BLOB``: Flume's BlobDeserializer — the whole file (up to ``maxBlobLength``) as one event.

A file longer than ``maxBlobLength`` bytes (default 100000000) becomes several events of at most that
size, as in Flume.  The bytes are passed through; ``inputCharset`` does not apply.
"""

from __future__ import annotations

from typing import IO

from flumepy.core.context import Context, Prop
from flumepy.core.event import Event
from flumepy.deserializers import DeserializerReader, EventDeserializer


class BlobDeserializer(EventDeserializer):
    """One event per file (per maxBlobLength bytes)."""

    PROPS = (
        Prop("maxBlobLength", "int", 100_000_000, "Largest event body in bytes; longer files are split.", min=1),
    )

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self.max_len = self.settings["maxBlobLength"]

    def open(self, stream: IO[bytes], offset: int, charset: str, errors: str) -> DeserializerReader:
        return BlobReader(stream, offset, self.max_len)


class BlobReader(DeserializerReader):
    def __init__(self, stream: IO[bytes], offset: int, max_len: int) -> None:
        self.f = stream
        self.f.seek(offset)
        self.offset = offset
        self.max_len = max_len

    def read(self, n: int) -> list[Event]:
        out = []
        for _ in range(n):
            data = self.f.read(self.max_len)
            if not data:
                break
            self.offset += len(data)
            out.append(Event(data))
        return out
