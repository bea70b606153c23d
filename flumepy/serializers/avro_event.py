"""Serializer ``avro_event`` (Flume's FlumeEventAvroEventSerializer): an Avro object container file.

Each output file is an Avro container (magic ``Obj\\x01``, ``avro.schema``/``avro.codec`` metadata,
16-byte sync marker) holding one datum per event with Flume's schema, exactly as Flume writes it::

    {"type":"record","name":"Event","fields":[{"name":"headers","type":{"type":"map","values":"string"}},
     {"name":"body","type":"bytes"}]}

(Flume's schema has no namespace; readers see the record name ``Event``.)

Keys (relative to the serializer's context, e.g. ``sink.serializer.compressionCodec``):

* ``syncIntervalBytes`` (int, 2048000): uncompressed bytes buffered before a block is written.
* ``compressionCodec`` (string, null): ``null``, ``deflate``, ``bzip2``, ``xz``, and ``snappy``/
  ``zstandard``/``lz4`` when their Python libraries are installed (checked at configure time).

Every ``flush()`` (the sinks call it once per batch) ends the current block, as Flume's does.  An
Avro file cannot be appended to by a new writer, so ``supports_reopen()`` is false (as in Flume).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import IO, Any

from fastavro import parse_schema
from fastavro.write import Writer

from flumepy.core.component import EventSerializer, SerializerWriter
from flumepy.core.context import Context, Prop
from flumepy.core.event import Event

SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Event",
    "fields": [
        {"name": "headers", "type": {"type": "map", "values": "string"}},
        {"name": "body", "type": "bytes"},
    ],
}


class AvroEventWriter(SerializerWriter):
    __slots__ = ("_writer",)

    def __init__(self, stream: IO[bytes], schema: Any, codec: str, sync_interval: int) -> None:
        # Writes the container header to the stream right away (Flume's afterCreate).
        self._writer = Writer(stream, schema, codec=codec, sync_interval=sync_interval)

    def write_batch(self, events: Sequence[Event]) -> None:
        write = self._writer.write
        for e in events:
            write({"headers": e.headers, "body": e.body})

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.flush()


class AvroEventSerializer(EventSerializer):
    PROPS = (
        Prop("syncIntervalBytes", "int", 2048000, "Bytes buffered before an Avro block is written.", min=1),
        Prop("compressionCodec", "string", "null", "Avro codec: null, deflate, bzip2, xz, snappy (needs "
             "cramjam), zstandard, lz4."),
    )

    def __init__(self, name: str = "avro_event") -> None:
        super().__init__(name)
        self.codec = "null"
        self.sync_interval = 2048000
        self._schema = parse_schema(SCHEMA)

    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        self.sync_interval = self.settings["syncIntervalBytes"]
        codec = (self.settings["compressionCodec"] or "null").strip().lower()
        # Try the codec on an in-memory file: catches unknown names and missing codec libraries.
        try:
            probe = Writer(io.BytesIO(), self._schema, codec=codec)
            probe.write({"headers": {}, "body": b"x"})
            probe.flush()
        except Exception as e:
            raise ctx.error("compressionCodec", f"{codec!r} is not a usable Avro codec: {e}") from None
        self.codec = codec

    def open(self, stream: IO[bytes], reopen: bool = False) -> SerializerWriter:
        if reopen:
            raise NotImplementedError("Avro files cannot be appended to (avro_event does not support reopen)")
        return AvroEventWriter(stream, self._schema, self.codec, self.sync_interval)

    def supports_reopen(self) -> bool:
        return False
