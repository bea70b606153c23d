"""The SequenceFile writer: exact header bytes, vints, sync markers, and every compression mode read back."""

from __future__ import annotations

import struct

import pytest

from flumepy.formats.codecs import CODECS, UnknownCodecError, codec_for
from flumepy.formats.sequencefile import BYTES_WRITABLE, SYNC_INTERVAL, TEXT, SequenceFileWriter, write_vlong
from tests.sinks.hdfs.seqread import parse, read_vlong

SYNC = bytes(range(16))


@pytest.mark.parametrize("value, encoded", [
    (0, b"\x00"), (127, b"\x7f"), (-112, b"\x90"), (128, b"\x8f\x80"), (255, b"\x8f\xff"),
    (256, b"\x8e\x01\x00"), (-113, b"\x87\x70"), (2**31 - 1, b"\x8c\x7f\xff\xff\xff"),
])
def test_vlong_matches_hadoop(value: int, encoded: bytes) -> None:
    import io

    assert write_vlong(value) == encoded
    assert read_vlong(io.BytesIO(encoded)) == value


def test_header_bytes_of_an_uncompressed_file() -> None:
    w = SequenceFileWriter(BYTES_WRITABLE, sync_marker=SYNC)
    key = b"org.apache.hadoop.io.LongWritable"
    val = b"org.apache.hadoop.io.BytesWritable"
    assert w.take() == (b"SEQ\x06" + bytes([len(key)]) + key + bytes([len(val)]) + val + b"\x00\x00"
                        + b"\x00\x00\x00\x00" + SYNC)


def test_record_layout_bytes_writable_and_text() -> None:
    w = SequenceFileWriter(BYTES_WRITABLE, sync_marker=SYNC)
    w.take()
    w.append(1700000000000, b"hello")
    assert w.take() == struct.pack(">iiqi", 8 + 4 + 5, 8, 1700000000000, 5) + b"hello"
    t = SequenceFileWriter(TEXT, sync_marker=SYNC)
    t.take()
    t.append(7, b"hi")
    assert t.take() == struct.pack(">iiq", 8 + 1 + 2, 8, 7) + b"\x02hi"


def test_sync_markers_every_sync_interval_and_at_each_flush() -> None:
    w = SequenceFileWriter(BYTES_WRITABLE, sync_marker=SYNC)
    records = [(i, b"x" * 100) for i in range(100)]  # 120 bytes a record
    w.append_many(records[:50])
    flush_pos = w.pos
    w.sync()  # a flush point writes a sync escape right there
    w.append_many(records[50:])
    f = parse(w.take())
    assert f.records == records
    assert f.sync == SYNC
    assert flush_pos in f.sync_positions
    automatic = [p for p in f.sync_positions if p != flush_pos]
    assert automatic and automatic[0] >= SYNC_INTERVAL
    gaps = [b - a for a, b in zip(f.sync_positions, f.sync_positions[1:])]
    assert all(g <= SYNC_INTERVAL + 120 + 20 for g in gaps)


def test_no_double_sync_marker_when_nothing_was_written() -> None:
    w = SequenceFileWriter(BYTES_WRITABLE, sync_marker=SYNC)
    w.append(1, b"a")
    w.sync()
    n = len(w.take())
    w.sync()
    assert w.take() == b""
    assert n > 0


@pytest.mark.parametrize("codec", sorted(CODECS))
@pytest.mark.parametrize("mode", ["BLOCK", "RECORD"])
@pytest.mark.parametrize("value_class", [BYTES_WRITABLE, TEXT])
def test_compressed_files_read_back(codec: str, mode: str, value_class: str) -> None:
    c = CODECS[codec]
    w = SequenceFileWriter(value_class, c, mode, block_size=5000)
    records = [(1000 + i, f"event {i} ".encode() * (i % 7 + 1)) for i in range(500)]
    for i in range(0, 500, 37):
        w.append_many(records[i:i + 37])
        w.sync()
    w.close()
    f = parse(w.take())
    assert (f.compressed, f.block, f.codec) == (True, mode == "BLOCK", c.hadoop_class)
    assert f.value_class == value_class
    assert f.records == records


def test_metadata_is_written() -> None:
    w = SequenceFileWriter(metadata={"writer": "flumepy"})
    assert parse(w.take()).metadata == {"writer": "flumepy"}


def test_codec_names_as_flume_accepts_them() -> None:
    assert codec_for("gzip").name == "gzip"
    assert codec_for("GzipCodec").name == "gzip"
    assert codec_for("org.apache.hadoop.io.compress.BZip2Codec").name == "bzip2"
    assert codec_for("DefaultCodec").name == "deflate"
    with pytest.raises(UnknownCodecError, match="not available"):
        codec_for("snappy")
    with pytest.raises(UnknownCodecError, match="unknown codec 'zip'"):
        codec_for("zip")
