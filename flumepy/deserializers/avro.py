"""Deserializer ``AVRO``: Flume's AvroEventDeserializer — one event per record of an Avro container file.

Each record is re-encoded as Avro binary (the file's schema) into the body.  Key ``schemaType``:
``HASH`` (default) puts the schema's CRC-64-AVRO fingerprint (hex) in header ``flume.avro.schema.hash``,
``LITERAL`` puts the schema JSON in ``flume.avro.schema.literal``.  The resume offset is the start
of the block holding the next record, as in Flume: after a crash the records of that block that
were already delivered are delivered again.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import IO, Any

import fastavro
from fastavro.schema import fingerprint, to_parsing_canonical_form

from flumepy.core.context import Context, Prop
from flumepy.core.event import Event
from flumepy.deserializers import DeserializerReader, EventDeserializer

HASH_HEADER = "flume.avro.schema.hash"
LITERAL_HEADER = "flume.avro.schema.literal"


class AvroEventDeserializer(EventDeserializer):
    """Reads Avro container files record by record."""

    PROPS = (
        Prop("schemaType", "string", "HASH", "HASH: schema fingerprint header; LITERAL: schema JSON header.",
             choices=("HASH", "LITERAL")),
    )

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self.schema_type = self.settings["schemaType"]

    def open(self, stream: IO[bytes], offset: int, charset: str, errors: str) -> DeserializerReader:
        return AvroReader(stream, offset, self.schema_type)


class AvroReader(DeserializerReader):
    def __init__(self, stream: IO[bytes], offset: int, schema_type: str) -> None:
        stream.seek(0)
        self._stream = stream
        self._blocks = fastavro.block_reader(stream)
        schema = self._blocks.writer_schema
        self._schema = fastavro.parse_schema(schema)
        if schema_type == "HASH":
            value = fingerprint(to_parsing_canonical_form(self._schema), "CRC-64-AVRO")
            self._header = (HASH_HEADER, value)
        else:
            self._header = (LITERAL_HEADER, json.dumps(schema, separators=(",", ":")))
        self.offset = offset
        self._records: Iterator[Any] = iter(())
        self._block_left = 0
        self._skip_to = offset

    def _next_records(self) -> bool:
        for block in self._blocks:
            if block.offset < self._skip_to:
                continue
            self.offset = block.offset
            self._block_left = block.num_records
            self._records = iter(block)
            return True
        return False

    def read(self, n: int) -> list[Event]:
        out: list[Event] = []
        key, value = self._header
        schema = self._schema
        while len(out) < n:
            rec = next(self._records, _END)
            if rec is _END:
                if not self._next_records():
                    self.offset = self._end_offset()
                    break
                continue
            buf = io.BytesIO()
            fastavro.schemaless_writer(buf, schema, rec)
            out.append(Event(buf.getvalue(), {key: value}))
            self._block_left -= 1
            if self._block_left == 0:
                self.offset = self._end_offset()  # the block is done: resume at the next one
        return out

    def _end_offset(self) -> int:
        return int(self._stream.tell())


_END = object()
