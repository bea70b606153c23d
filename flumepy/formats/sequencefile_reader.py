"""Hadoop SequenceFile reader (versions 4-6), fed incrementally so a file still being written can be followed.

    reader = SequenceFileReader()
    for key, value in reader.feed(chunk):   # complete records in the bytes seen so far
        ...
    reader.finish()                          # at end of file: raises if a record was cut short

Keys and values are decoded by their Writable class: ``LongWritable`` and ``IntWritable`` to int,
``Text`` to bytes (UTF-8 as stored), ``BytesWritable`` to bytes, ``NullWritable`` to None; any other
class gives the serialized bytes. NONE, RECORD and BLOCK compression are read with the codecs Python
has (DefaultCodec/zlib, GzipCodec, BZip2Codec); others raise :class:`SequenceFileError` naming them.
"""

from __future__ import annotations

import bz2
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

__all__ = ["SequenceFileReader", "SequenceFileError", "read_vlong", "MAGIC", "iter_records"]

MAGIC = b"SEQ"
SYNC_HASH_SIZE = 16


class SequenceFileError(ValueError):
    """Not a SequenceFile, a codec flumepy cannot decode, or a truncated/corrupt file."""


class _NeedMore(Exception):
    """Not enough bytes buffered yet."""


def _multi_stream(make: Callable[[], object]) -> Callable[[bytes], bytes]:
    def decompress(data: bytes) -> bytes:
        out = []
        while data:
            d = make()
            out.append(d.decompress(data))  # type: ignore[attr-defined]
            if not d.eof:  # type: ignore[attr-defined]
                raise SequenceFileError("truncated compressed buffer")
            data = d.unused_data  # type: ignore[attr-defined]
        return b"".join(out)

    return decompress


DECOMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "org.apache.hadoop.io.compress.DefaultCodec": _multi_stream(lambda: zlib.decompressobj(15)),
    "org.apache.hadoop.io.compress.DeflateCodec": _multi_stream(lambda: zlib.decompressobj(15)),
    "org.apache.hadoop.io.compress.GzipCodec": _multi_stream(lambda: zlib.decompressobj(31)),
    "org.apache.hadoop.io.compress.BZip2Codec": _multi_stream(bz2.BZ2Decompressor),
}


def read_vlong(buf: bytes | bytearray | memoryview, pos: int) -> tuple[int, int]:
    """Hadoop's ``WritableUtils.readVLong``: (value, position after it)."""
    if pos >= len(buf):
        raise _NeedMore
    first = buf[pos] - 256 if buf[pos] > 127 else buf[pos]
    if first >= -112:
        return first, pos + 1
    negative = first < -120
    n = -(first + 120) if negative else -(first + 112)
    if pos + 1 + n > len(buf):
        raise _NeedMore
    value = int.from_bytes(buf[pos + 1:pos + 1 + n], "big")
    return (~value if negative else value), pos + 1 + n


def _text(buf: bytes | bytearray, pos: int) -> tuple[str, int]:
    n, pos = read_vlong(buf, pos)
    if pos + n > len(buf):
        raise _NeedMore
    return bytes(buf[pos:pos + n]).decode("utf-8", "replace"), pos + n


def _int(buf: bytes | bytearray, pos: int) -> tuple[int, int]:
    if pos + 4 > len(buf):
        raise _NeedMore
    return struct.unpack_from(">i", buf, pos)[0], pos + 4


def _decoder(cls: str) -> Callable[[bytes], object]:
    if cls == "org.apache.hadoop.io.LongWritable":
        return lambda b: struct.unpack(">q", b)[0] if len(b) == 8 else b
    if cls == "org.apache.hadoop.io.IntWritable":
        return lambda b: struct.unpack(">i", b)[0] if len(b) == 4 else b
    if cls == "org.apache.hadoop.io.NullWritable":
        return lambda b: None
    if cls == "org.apache.hadoop.io.BytesWritable":
        return lambda b: b[4:4 + struct.unpack_from(">i", b)[0]] if len(b) >= 4 else b
    if cls == "org.apache.hadoop.io.Text":
        def text(b: bytes) -> bytes:
            n, p = read_vlong(b, 0)
            return b[p:p + n]
        return text
    return lambda b: b


@dataclass
class Header:
    version: int
    key_class: str
    value_class: str
    compressed: bool
    block_compressed: bool
    codec: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    sync: bytes = b""


class SequenceFileReader:
    """A push parser: feed() bytes in order, get back the (key, value) records they complete."""

    def __init__(self) -> None:
        self.header: Header | None = None
        self._buf = bytearray()
        self._consumed = 0  # file offset of _buf[0]
        self._decompress: Callable[[bytes], bytes] | None = None
        self._key: Callable[[bytes], object] = lambda b: b
        self._value: Callable[[bytes], object] = lambda b: b
        self.records = 0

    @property
    def position(self) -> int:
        """File offset just past the last complete record or block returned."""
        return self._consumed

    def feed(self, data: bytes) -> list[tuple[object, object]]:
        self._buf += data
        out: list[tuple[object, object]] = []
        pos = 0
        try:
            if self.header is None:
                pos = self._read_header()
            while True:
                pos = self._read_next(pos, out)
        except _NeedMore:
            pass
        finally:
            del self._buf[:pos]
            self._consumed += pos
        self.records += len(out)
        return out

    def finish(self) -> None:
        """At the end of a complete (closed) file: fail if bytes of a partial record remain."""
        if self.header is None and self._buf:
            raise SequenceFileError(f"truncated SequenceFile header ({len(self._buf)} bytes)")
        if self._buf:
            raise SequenceFileError(f"{len(self._buf)} trailing bytes at offset {self._consumed} "
                                    "do not form a complete record (file truncated or still being written)")

    def _read_header(self) -> int:
        buf = self._buf
        if len(buf) < 4:
            if buf and not MAGIC.startswith(bytes(buf[:3])):
                raise SequenceFileError("not a SequenceFile (no SEQ magic)")
            raise _NeedMore
        if bytes(buf[:3]) != MAGIC:
            raise SequenceFileError("not a SequenceFile (no SEQ magic)")
        version = buf[3]
        if version < 4 or version > 6:
            raise SequenceFileError(f"unsupported SequenceFile version {version} (4-6 are read)")
        key_class, pos = _text(buf, 4)
        value_class, pos = _text(buf, pos)
        if pos + 2 > len(buf):
            raise _NeedMore
        compressed, block = bool(buf[pos]), bool(buf[pos + 1])
        pos += 2
        codec = None
        if compressed:
            codec, pos = _text(buf, pos)
        meta: dict[str, str] = {}
        if version >= 6:
            count, pos = _int(buf, pos)
            for _ in range(count):
                k, pos = _text(buf, pos)
                v, pos = _text(buf, pos)
                meta[k] = v
        if pos + SYNC_HASH_SIZE > len(buf):
            raise _NeedMore
        sync = bytes(buf[pos:pos + SYNC_HASH_SIZE])
        pos += SYNC_HASH_SIZE
        if codec is not None:
            if codec not in DECOMPRESSORS:
                raise SequenceFileError(f"SequenceFile compressed with {codec}, which flumepy cannot decode "
                                        f"(readable: {', '.join(c.rsplit('.', 1)[1] for c in DECOMPRESSORS)})")
            self._decompress = DECOMPRESSORS[codec]
        self.header = Header(version, key_class, value_class, compressed, block, codec, meta, sync)
        self._key, self._value = _decoder(key_class), _decoder(value_class)
        return pos

    def _read_next(self, pos: int, out: list[tuple[object, object]]) -> int:
        assert self.header is not None
        buf = self._buf
        n, p = _int(buf, pos)
        if n == -1:  # sync escape
            if p + SYNC_HASH_SIZE > len(buf):
                raise _NeedMore
            if bytes(buf[p:p + SYNC_HASH_SIZE]) != self.header.sync:
                raise SequenceFileError(f"corrupt SequenceFile: bad sync marker at offset {self._consumed + pos}")
            pos = p + SYNC_HASH_SIZE
            if not self.header.block_compressed:
                return pos
            return self._read_block(pos, out)
        if self.header.block_compressed:
            raise SequenceFileError(f"corrupt block-compressed SequenceFile at offset {self._consumed + pos}")
        if n < 0:
            raise SequenceFileError(f"corrupt SequenceFile: record length {n} at offset {self._consumed + pos}")
        klen, p = _int(buf, p)
        if p + n > len(buf):
            raise _NeedMore
        key = bytes(buf[p:p + klen])
        value = bytes(buf[p + klen:p + n])
        if self.header.compressed and self._decompress is not None:  # RECORD: the value alone
            value = self._decompress(value)
        out.append((self._key(key), self._value(value)))
        return p + n

    def _read_block(self, pos: int, out: list[tuple[object, object]]) -> int:
        assert self._decompress is not None
        buf = self._buf
        count, p = read_vlong(buf, pos)
        parts = []
        for _ in range(4):
            size, p = read_vlong(buf, p)
            if p + size > len(buf):
                raise _NeedMore
            parts.append(self._decompress(bytes(buf[p:p + size])))
            p += size
        klens, keys, vlens, values = parts
        kp = vp = ki = vi = 0
        for _ in range(count):
            kl, kp = read_vlong(klens, kp)
            vl, vp = read_vlong(vlens, vp)
            out.append((self._key(keys[ki:ki + kl]), self._value(values[vi:vi + vl])))
            ki += kl
            vi += vl
        return p


def iter_records(data: bytes) -> Iterator[tuple[object, object]]:
    """Every record of a complete SequenceFile held in memory."""
    reader = SequenceFileReader()
    yield from reader.feed(data)
    reader.finish()
