"""What goes into one HDFS sink file, per ``hdfs.fileType``: pure encoders, no I/O.

A :class:`FileWriter` turns events into bytes held in memory; the bucket takes them with ``take()``
at each flush point and writes them to its stream in one call (so a batch is one write + one sync,
each under ``hdfs.callTimeout``).

* ``SequenceFile``: Hadoop SequenceFile, key LongWritable (the ``timestamp`` header, else the sink's
  clock), value BytesWritable (``writeFormat = Writable``) or Text; BLOCK compression with a codec.
* ``DataStream``: the event serializer's bytes (``serializer``, default TEXT), uncompressed.
* ``CompressedStream``: the same, compressed; every flush ends a compressed member (gzip member,
  zlib or bzip2 stream), as Hadoop's ``finish()`` at each Flume sync does.
* ``Parquet`` (flumepy extension, needs pyarrow): columns ``headers`` (map<string,string>) and
  ``body`` (binary); one row group per flush; readable once the file is closed (footer).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

from flumepy.core.component import EventSerializer
from flumepy.core.event import Event, EventBatch, bodies_of, header_values_of
from flumepy.formats.codecs import Codec
from flumepy.formats.sequencefile import BYTES_WRITABLE, TEXT, SequenceFileWriter

__all__ = ["FileWriter", "FileType", "SequenceFileType", "DataStreamType", "CompressedStreamType",
           "ParquetType"]


class FileWriter:
    def append(self, events: Sequence[Event], now_ms: int) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        """A flush point (Flume's ``sync()``): everything appended becomes part of take()."""

    def close(self) -> None:
        """The file ends: trailer/footer into take()."""
        self.flush()

    def take(self) -> bytes:
        raise NotImplementedError


class FileType:
    """Configured once by the sink; ``new()`` makes the writer for each file."""

    name = ""
    extension = ""  # appended to file names when fileSuffix is empty (Flume: the codec's extension)

    def new(self) -> FileWriter:
        raise NotImplementedError


# -- SequenceFile -----------------------------------------------------------------------------------
class _SeqWriter(FileWriter):
    __slots__ = ("_w",)

    def __init__(self, w: SequenceFileWriter) -> None:
        self._w = w

    def append(self, events: Sequence[Event], now_ms: int) -> None:
        # no headers at all (e.g. exec, netcat): every key is the sink's clock; a batch that can gives
        # its timestamps as a column (no event objects)
        plain = events.plain if type(events) is EventBatch else not any(map(_headers, events))
        keys = now_ms if plain else _keys(header_values_of(events, "timestamp"), now_ms)
        self._w.append_columns(keys, bodies_of(events))

    def flush(self) -> None:
        self._w.sync()

    def close(self) -> None:
        self._w.close()

    def take(self) -> bytes:
        return self._w.take()


_headers = attrgetter("headers")


def _keys(values: list[str | None], now_ms: int) -> list[int]:
    """SequenceFile keys of a batch's timestamp headers (each distinct value converted once)."""
    try:
        ints = {v: int(v) for v in set(values)}  # type: ignore[arg-type]
    except (TypeError, ValueError):  # a missing or unusable timestamp: the sink's clock for that one
        return [_key(v, now_ms) for v in values]
    return list(map(ints.__getitem__, values))


def _key(ts: str | None, now_ms: int) -> int:
    """A SequenceFile key: the timestamp header, or the sink's clock without a usable one."""
    if ts is None:
        return now_ms
    try:
        return int(ts)
    except ValueError:
        return now_ms


class SequenceFileType(FileType):
    name = "SequenceFile"

    def __init__(self, write_format: str = "Writable", codec: Codec | None = None) -> None:
        self.value_class = TEXT if write_format == "Text" else BYTES_WRITABLE
        self.codec = codec
        self.extension = codec.extension if codec else ""

    def new(self) -> FileWriter:
        return _SeqWriter(SequenceFileWriter(self.value_class, self.codec))


# -- DataStream / CompressedStream -------------------------------------------------------------
class _StreamWriter(FileWriter):
    def __init__(self, serializer: EventSerializer, codec: Codec | None) -> None:
        self._buf = io.BytesIO()
        self._codec = codec
        self._ready: list[bytes] = []
        self._writer = serializer.open(self._buf)

    def _drain(self) -> bytes:
        data = self._buf.getvalue()
        self._buf.seek(0)
        self._buf.truncate()
        return data

    def append(self, events: Sequence[Event], now_ms: int) -> None:
        self._writer.write_batch(events)

    def flush(self) -> None:
        self._writer.flush()
        if self._codec is not None:
            data = self._drain()
            if data:
                self._ready.append(self._codec.compress(data))

    def close(self) -> None:
        self._writer.close()
        self.flush()

    def take(self) -> bytes:
        if self._codec is None:
            return self._drain()
        data = b"".join(self._ready)
        self._ready.clear()
        return data


class DataStreamType(FileType):
    name = "DataStream"

    def __init__(self, serializer: EventSerializer) -> None:
        self.serializer = serializer

    def new(self) -> FileWriter:
        return _StreamWriter(self.serializer, None)


class CompressedStreamType(FileType):
    name = "CompressedStream"

    def __init__(self, serializer: EventSerializer, codec: Codec) -> None:
        self.serializer = serializer
        self.codec = codec
        self.extension = codec.extension

    def new(self) -> FileWriter:
        return _StreamWriter(self.serializer, self.codec)


# -- Parquet --------------------------------------------------------------------------------------
class _Sink(io.RawIOBase):
    """A write-only stream collecting what pyarrow writes."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[bytes] = []
        self.pos = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self.chunks.append(data)
        self.pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self.pos


class _ParquetWriter(FileWriter):
    def __init__(self, t: ParquetType) -> None:
        self._t = t
        self._sink = _Sink()
        self._rows_h: list[list[tuple[str, str]]] = []
        self._rows_b: list[bytes] = []
        self._writer: Any = t.pq.ParquetWriter(self._sink, t.schema, compression=t.compression)

    def append(self, events: Sequence[Event], now_ms: int) -> None:
        self._rows_h.extend(list(e.headers.items()) if e.headers else [] for e in events)
        self._rows_b.extend(e.body for e in events)

    def flush(self) -> None:
        if not self._rows_b:
            return
        pa = self._t.pa
        table = pa.Table.from_arrays([pa.array(self._rows_h, type=self._t.schema.field("headers").type),
                                      pa.array(self._rows_b, type=pa.binary())], schema=self._t.schema)
        self._writer.write_table(table)
        self._rows_h, self._rows_b = [], []

    def close(self) -> None:
        self.flush()
        self._writer.close()

    def take(self) -> bytes:
        data = b"".join(self._sink.chunks)
        self._sink.chunks.clear()
        return data


class ParquetType(FileType):
    name = "Parquet"

    def __init__(self, compression: str = "none") -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa, self.pq = pa, pq
        self.compression = compression
        self.schema = pa.schema([("headers", pa.map_(pa.string(), pa.string())), ("body", pa.binary())])

    def new(self) -> FileWriter:
        return _ParquetWriter(self)
