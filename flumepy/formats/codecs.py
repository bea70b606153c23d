"""Hadoop compression codecs by Flume's names (``hdfs.codeC``), as pure in-memory compressors.

Each codec knows its Hadoop class name (written into SequenceFile headers), its default file
extension (Flume appends it to file names) and how to compress one independent chunk (a SequenceFile
block buffer, a CompressedStream member).  gzip, deflate and bzip2 come with Python; snappy and lz4
need a library Hadoop-compatible framing would use, and are refused with a clear message when none
is installed.
"""

from __future__ import annotations

import bz2
import zlib
from dataclasses import dataclass
from typing import Any

__all__ = ["Codec", "CODECS", "codec_for", "UnknownCodecError"]


class UnknownCodecError(ValueError):
    """``hdfs.codeC`` names no codec flumepy can write."""


@dataclass(frozen=True)
class Codec:
    name: str  # Flume's short name: gzip, deflate, bzip2
    hadoop_class: str
    extension: str
    wbits: int = 0  # zlib window bits (31 = gzip container, 15 = zlib container); 0 = bzip2

    def compress(self, data: bytes) -> bytes:
        """One complete, independently decodable compressed stream (gzip member, zlib or bz2 stream)."""
        if self.wbits:
            c = zlib.compressobj(6, zlib.DEFLATED, self.wbits)
            return c.compress(data) + c.flush()
        return bz2.compress(data, 9)

    def decompress(self, data: bytes) -> bytes:
        """Inverse of compress, accepting concatenated streams (as Hadoop and CompressedStream write them)."""
        out = []
        while data:
            d: Any
            if self.wbits:
                d = zlib.decompressobj(self.wbits)
            else:
                d = bz2.BZ2Decompressor()
            out.append(d.decompress(data))
            data = d.unused_data
            if not d.eof:
                break
        return b"".join(out)


CODECS: dict[str, Codec] = {
    "gzip": Codec("gzip", "org.apache.hadoop.io.compress.GzipCodec", ".gz", 31),
    "deflate": Codec("deflate", "org.apache.hadoop.io.compress.DefaultCodec", ".deflate", 15),
    "bzip2": Codec("bzip2", "org.apache.hadoop.io.compress.BZip2Codec", ".bz2", 0),
}

# Every spelling Flume accepts (short name, class simple name, full class name), lower-cased.
_ALIASES = {
    "gz": "gzip", "gzipcodec": "gzip",
    "default": "deflate", "defaultcodec": "deflate", "zlib": "deflate",
    "bz2": "bzip2", "bzip2codec": "bzip2",
}
_UNAVAILABLE = {"snappy", "snappycodec", "lz4", "lz4codec", "lzo", "lzocodec", "lzop", "lzopcodec",
                "zstd", "zstandard", "zstandardcodec"}


def codec_for(name: str) -> Codec:
    """The codec for a ``hdfs.codeC`` value (case-insensitive; short or Hadoop class name)."""
    key = name.strip().lower().rsplit(".", 1)[-1]
    key = _ALIASES.get(key, key)
    if key in CODECS:
        return CODECS[key]
    if key in _UNAVAILABLE:
        raise UnknownCodecError(
            f"codec {name!r} is not available in flumepy (no Hadoop-compatible {key} library is "
            f"installed); use one of: {', '.join(CODECS)}")
    raise UnknownCodecError(f"unknown codec {name!r}; expected one of: {', '.join(CODECS)}")
