"""A small independent SequenceFile reader for the tests (written from the format description)."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field

from flumepy.formats.codecs import CODECS


def read_vlong(f: io.BytesIO) -> int:
    first = struct.unpack(">b", f.read(1))[0]
    if first >= -112:
        return first
    negative = first < -120
    size = (-119 - first) if negative else (-111 - first)
    value = 0
    for _ in range(size - 1):
        value = (value << 8) | f.read(1)[0]
    return value ^ -1 if negative else value


def read_text(f: io.BytesIO) -> str:
    n = read_vlong(f)
    return f.read(n).decode()


@dataclass
class SeqFile:
    key_class: str
    value_class: str
    compressed: bool
    block: bool
    codec: str
    metadata: dict[str, str]
    sync: bytes
    records: list[tuple[int, bytes]] = field(default_factory=list)
    sync_positions: list[int] = field(default_factory=list)


def _codec(name: str):
    for c in CODECS.values():
        if c.hadoop_class == name:
            return c
    raise AssertionError(f"unknown codec {name}")


def _value(raw: bytes, value_class: str) -> bytes:
    f = io.BytesIO(raw)
    if value_class.endswith("BytesWritable"):
        n = struct.unpack(">i", f.read(4))[0]
    else:
        n = read_vlong(f)
    body = f.read(n)
    assert len(body) == n and f.read() == b"", "value length does not match the record"
    return body


def parse(data: bytes) -> SeqFile:
    f = io.BytesIO(data)
    assert f.read(4) == b"SEQ\x06", "not a version 6 SequenceFile"
    key_class, value_class = read_text(f), read_text(f)
    compressed, block = bool(f.read(1)[0]), bool(f.read(1)[0])
    codec = read_text(f) if compressed else ""
    meta = {}
    for _ in range(struct.unpack(">i", f.read(4))[0]):
        k = read_text(f)
        meta[k] = read_text(f)
    sync = f.read(16)
    out = SeqFile(key_class, value_class, compressed, block, codec, meta, sync)
    while True:
        pos = f.tell()
        head = f.read(4)
        if not head:
            break
        n = struct.unpack(">i", head)[0]
        if n == -1:
            assert f.read(16) == sync, f"bad sync marker at {pos}"
            out.sync_positions.append(pos)
            if block:
                c = _codec(codec)
                count = read_vlong(f)
                bufs = []
                for _ in range(4):
                    size = read_vlong(f)
                    bufs.append(io.BytesIO(c.decompress(f.read(size))))
                klens, keys, vlens, vals = bufs
                for _ in range(count):
                    klen = read_vlong(klens)
                    assert klen == 8
                    key = struct.unpack(">q", keys.read(8))[0]
                    vlen = read_vlong(vlens)
                    out.records.append((key, _value(vals.read(vlen), value_class)))
            continue
        assert not block, "records outside a block"
        klen = struct.unpack(">i", f.read(4))[0]
        assert klen == 8
        key = struct.unpack(">q", f.read(8))[0]
        raw = f.read(n - klen)
        assert len(raw) == n - klen, "truncated record"
        if compressed:
            raw = _codec(codec).decompress(raw)
        out.records.append((key, _value(raw, value_class)))
    return out
