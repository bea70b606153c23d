"""Hadoop SequenceFile writer (version 6, as Hadoop 2.x/3.x and Flume's HDFS sink write it).

Pure and in-memory: the writer appends bytes to an internal buffer that the caller takes with
:meth:`SequenceFileWriter.take` and writes to its stream, so one batch becomes one ``write()``.

Layout (big-endian)::

    "SEQ" 6 | Text keyClass | Text valueClass | bool compressed | bool blockCompressed
    | [Text codecClass] | int metadataCount, (Text, Text)* | 16-byte sync
    record (NONE):   int recordLen | int keyLen | key | value
    record (RECORD): the same, the value compressed by the codec on its own
    block (BLOCK):   sync escape | vint records | 4 x (vint size, compressed buffer):
                     key lengths (vints), keys, value lengths (vints), values
    sync escape:     int -1 | 16-byte sync

Keys are ``org.apache.hadoop.io.LongWritable`` (8-byte long, the event timestamp); values are
``BytesWritable`` (int length + bytes) or ``Text`` (vint length + bytes).  A sync escape is written
before a record once ``SYNC_INTERVAL`` bytes have passed since the last one (Hadoop 2.x's
``100 * SYNC_SIZE``; Flume pins Hadoop 2.10) and at every :meth:`sync` (Flume's flush).
"""

from __future__ import annotations

import hashlib
import os
import struct
import time
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from itertools import accumulate, repeat
from operator import add

from flumepy.formats.codecs import Codec

__all__ = ["SequenceFileWriter", "SYNC_INTERVAL", "write_vlong", "write_text", "LONG_WRITABLE",
           "BYTES_WRITABLE", "TEXT"]

LONG_WRITABLE = "org.apache.hadoop.io.LongWritable"
BYTES_WRITABLE = "org.apache.hadoop.io.BytesWritable"
TEXT = "org.apache.hadoop.io.Text"
VERSION = 6
SYNC_HASH_SIZE = 16
SYNC_SIZE = 4 + SYNC_HASH_SIZE
SYNC_INTERVAL = 100 * SYNC_SIZE  # Hadoop 2.x (Hadoop 3 uses 5 KiB * SYNC_SIZE; readers accept either)
SYNC_ESCAPE = b"\xff\xff\xff\xff"
BLOCK_SIZE = 1_000_000  # io.seqfile.compress.blocksize default

_pack_ii = struct.Struct(">ii").pack
_pack_iiq = struct.Struct(">iiq").pack
_pack_iiqi = struct.Struct(">iiqi").pack
_pack_q = struct.Struct(">q").pack
_pack_i = struct.Struct(">i").pack


def write_vlong(i: int) -> bytes:
    """Hadoop's ``WritableUtils.writeVLong`` encoding."""
    if -112 <= i <= 127:
        return struct.pack(">b", i)
    n = -112
    if i < 0:
        i ^= -1
        n = -120
    tmp = i
    while tmp != 0:
        tmp >>= 8
        n -= 1
    out = bytearray(struct.pack(">b", n))
    size = -(n + 120) if n < -120 else -(n + 112)
    for idx in range(size, 0, -1):
        out.append((i >> ((idx - 1) * 8)) & 0xFF)
    return bytes(out)


_vlong_cached = lru_cache(maxsize=4096)(write_vlong)


def write_text(s: str | bytes) -> bytes:
    """Hadoop ``Text.writeString``: vint length + UTF-8 bytes."""
    data = s.encode("utf-8") if isinstance(s, str) else s
    return write_vlong(len(data)) + data


def new_sync_marker() -> bytes:
    """16 bytes, made as Hadoop makes them (MD5 of a unique id and the time)."""
    return hashlib.md5(os.urandom(16) + f"@{time.time_ns()}".encode()).digest()


class SequenceFileWriter:
    """Encodes (LongWritable, BytesWritable|Text) records; take() returns the bytes produced so far.

    ``compression`` is ``NONE``, ``RECORD`` or ``BLOCK`` (a codec is required for the last two);
    Flume always uses ``BLOCK`` when ``hdfs.codeC`` is set.
    """

    def __init__(self, value_class: str = BYTES_WRITABLE, codec: Codec | None = None,
                 compression: str = "", metadata: Mapping[str, str] | None = None,
                 sync_marker: bytes | None = None, block_size: int = BLOCK_SIZE,
                 sync_interval: int = SYNC_INTERVAL) -> None:
        if value_class not in (BYTES_WRITABLE, TEXT):
            raise ValueError(f"unsupported value class {value_class}")
        compression = (compression or ("BLOCK" if codec else "NONE")).upper()
        if compression not in ("NONE", "RECORD", "BLOCK"):
            raise ValueError(f"unknown compression type {compression}")
        if compression != "NONE" and codec is None:
            raise ValueError(f"{compression} compression needs a codec")
        self.value_class = value_class
        self.codec = codec
        self.compression = compression
        self.sync_marker = sync_marker or new_sync_marker()
        self.block_size = block_size
        self.sync_interval = sync_interval
        self._text = value_class == TEXT
        self._out = bytearray()
        self.pos = 0  # bytes produced since the file start (taken or not)
        self._last_sync = 0
        self.records = 0
        # block buffers
        self._nblock = 0
        self._klens = bytearray()
        self._keys = bytearray()
        self._vlens = bytearray()
        self._vals = bytearray()
        header = bytearray(b"SEQ" + bytes([VERSION]))
        header += write_text(LONG_WRITABLE) + write_text(value_class)
        header += bytes([compression != "NONE", compression == "BLOCK"])
        if codec is not None and compression != "NONE":
            header += write_text(codec.hadoop_class)
        meta = dict(metadata or {})
        header += _pack_i(len(meta))
        for k, v in sorted(meta.items()):
            header += write_text(k) + write_text(v)
        header += self.sync_marker
        self._emit(bytes(header))

    def _emit(self, data: bytes | bytearray) -> None:
        self._out += data
        self.pos += len(data)

    def _sync_escape(self) -> None:
        if self._last_sync != self.pos:
            self._emit(SYNC_ESCAPE + self.sync_marker)
            self._last_sync = self.pos

    def _value(self, body: bytes) -> bytes:
        if self._text:
            return write_vlong(len(body)) + body
        return _pack_i(len(body)) + body

    def append(self, key: int, body: bytes) -> None:
        self.append_many(((key, body),))

    def append_columns(self, keys: Sequence[int] | int, bodies: Sequence[bytes]) -> None:
        """Append records given as two equal-length columns (timestamps, bodies); ``keys`` may be one
        int, the key of every record.

        Without compression the whole batch is packed with C-level map/join calls and the sync
        escapes are placed by bisecting the records' running offsets (one step per escape, not per
        record); the bytes are the same as :meth:`append_many`'s.
        """
        key: int | None
        key_col: Iterable[int]
        if isinstance(keys, int):
            key = keys
            key_col = repeat(key, len(bodies))
        else:
            key = None
            key_col = keys
        if self.compression != "NONE":
            self.append_many(zip(key_col, bodies))
            return
        n = len(bodies)
        if not n:
            return
        lens = list(map(len, bodies))
        if key is not None and not self._text:
            # one key: one record head per distinct body length (usually a handful per batch)
            by_len = {blen: _pack_iiqi(12 + blen, 8, key, blen) for blen in set(lens)}
            heads = list(map(by_len.__getitem__, lens))
            sizes = map(add, lens, repeat(20))
        elif self._text:
            vints = list(map(_vlong_cached, lens))
            vals = list(map(add, lens, map(len, vints)))  # value bytes: vint + body
            heads = list(map(add, map(_pack_iiq, map(add, vals, repeat(8)), repeat(8), key_col), vints))
            sizes = map(add, vals, repeat(16))
        else:
            heads = list(map(_pack_iiqi, map(add, lens, repeat(12)), repeat(8), key_col, lens))
            sizes = map(add, lens, repeat(20))
        cum = list(accumulate(sizes, initial=0))  # cum[i]: batch bytes before record i (no escapes)
        pos0, last, interval = self.pos, self._last_sync, self.sync_interval
        marker = SYNC_ESCAPE + self.sync_marker
        m = i = 0
        while True:
            # first record i.. whose start offset (escapes included) reaches last + interval
            j = bisect_left(cum, last + interval - pos0 - SYNC_SIZE * m, i, n)
            if j >= n:
                break
            heads[j] = marker + heads[j]
            m += 1
            last = pos0 + cum[j] + SYNC_SIZE * m
            i = j + 1
        parts: list[bytes] = [b""] * (2 * n)
        parts[0::2] = heads
        parts[1::2] = bodies
        self._out += b"".join(parts)
        self.pos, self._last_sync = pos0 + cum[n] + SYNC_SIZE * m, last
        self.records += n

    def append_many(self, records: Iterable[tuple[int, bytes]]) -> None:
        """Append (timestamp, body) records."""
        if self.compression == "BLOCK":
            self._append_block(records)
            return
        out = self._out
        pos, last, interval = self.pos, self._last_sync, self.sync_interval
        marker = SYNC_ESCAPE + self.sync_marker
        n = 0
        record_codec = self.codec if self.compression == "RECORD" else None
        text = self._text
        for key, body in records:
            if pos >= last + interval:
                out += marker
                pos += SYNC_SIZE
                last = pos
            if record_codec is not None:
                value = record_codec.compress(self._value(body))
                out += _pack_iiq(8 + len(value), 8, key)
                out += value
                pos += 16 + len(value)
            elif text:
                vint = write_vlong(len(body))
                out += _pack_iiq(8 + len(vint) + len(body), 8, key)
                out += vint
                out += body
                pos += 16 + len(vint) + len(body)
            else:
                blen = len(body)
                out += _pack_iiqi(12 + blen, 8, key, blen)
                out += body
                pos += 20 + blen
            n += 1
        self.pos, self._last_sync = pos, last
        self.records += n

    def _append_block(self, records: Iterable[tuple[int, bytes]]) -> None:
        for key, body in records:
            value = self._value(body)
            self._klens += b"\x08"  # vint(8): a LongWritable is 8 bytes
            self._keys += _pack_q(key)
            self._vlens += write_vlong(len(value))
            self._vals += value
            self._nblock += 1
            self.records += 1
            if len(self._keys) + len(self._vals) >= self.block_size:
                self._flush_block()

    def _flush_block(self) -> None:
        if not self._nblock:
            return
        assert self.codec is not None
        self._sync_escape()
        parts = [write_vlong(self._nblock)]
        for buf in (self._klens, self._keys, self._vlens, self._vals):
            packed = self.codec.compress(bytes(buf))
            parts.append(write_vlong(len(packed)))
            parts.append(packed)
        self._emit(b"".join(parts))
        self._nblock = 0
        self._klens, self._keys, self._vlens, self._vals = bytearray(), bytearray(), bytearray(), bytearray()

    def sync(self) -> None:
        """Flume's flush point: write the pending block (BLOCK) or a sync escape (NONE/RECORD)."""
        if self.compression == "BLOCK":
            self._flush_block()
        else:
            self._sync_escape()

    def close(self) -> None:
        """Flush what is buffered (a closed file ends after its last record or block)."""
        if self.compression == "BLOCK":
            self._flush_block()

    def take(self) -> bytes:
        """The bytes produced since the last take()."""
        data = bytes(self._out)
        self._out.clear()
        return data
