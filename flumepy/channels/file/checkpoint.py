"""Checkpoints of the file channel: the queue of event pointers, written atomically.

Format (little-endian; see docs/file-channel.md)::

    magic "FPYCKPT1" (8) | crc32 of everything after this field (u32) | version (u32) = 1
    written at, ms (u64) | next file id (u64) | next commit seq (u64) | directories (u32)
    per directory: path length (u32) path (utf-8) replay-start file id (u64) replay-start offset (u64)
    pending (u32) | pending commit seqs (u64 each): written to the log but not yet in the queue
    count (u64) | count pointers (u64 each), head of the queue first

The file is written as ``checkpoint.tmp``, fsync'd, renamed over ``checkpoint`` and the directory is
fsync'd, so a crash leaves either the old or the new checkpoint, never a mix.
"""

from __future__ import annotations

import os
import struct
import time
import zlib
from array import array
from dataclasses import dataclass, field

from flumepy.channels.file.log import fsync_dir

MAGIC = b"FPYCKPT1"
VERSION = 1
NAME = "checkpoint"
HEAD = struct.Struct("<8sII")
META = struct.Struct("<QQQI")
DIR = struct.Struct("<QQ")
U32 = struct.Struct("<I")
U64 = struct.Struct("<Q")


class CheckpointError(Exception):
    """A checkpoint file is missing, truncated or fails its checksum."""


@dataclass
class Checkpoint:
    pointers: array  # array('Q'): head of the queue first
    next_fileid: int
    next_seq: int
    starts: list[tuple[str, int, int]] = field(default_factory=list)  # (dataDir, fileid, offset)
    pending: list[int] = field(default_factory=list)  # seqs < next_seq that the queue does not reflect
    written_at: int = 0


def encode(cp: Checkpoint) -> bytes:
    parts = [META.pack(cp.written_at or int(time.time() * 1000), cp.next_fileid, cp.next_seq, len(cp.starts))]
    for path, fid, off in cp.starts:
        p = path.encode("utf-8", "surrogateescape")
        parts += [U32.pack(len(p)), p, DIR.pack(fid, off)]
    parts += [U32.pack(len(cp.pending)), array("Q", cp.pending).tobytes()]
    parts += [U64.pack(len(cp.pointers)), cp.pointers.tobytes()]
    body = b"".join(parts)
    return HEAD.pack(MAGIC, zlib.crc32(body), VERSION) + body


def decode(data: bytes) -> Checkpoint:
    if len(data) < HEAD.size + META.size:
        raise CheckpointError(f"only {len(data)} bytes")
    magic, crc, version = HEAD.unpack_from(data, 0)
    if magic != MAGIC:
        raise CheckpointError("bad magic (not a flumepy checkpoint)")
    if version != VERSION:
        raise CheckpointError(f"unsupported version {version}")
    body = memoryview(data)[HEAD.size:]
    if zlib.crc32(body) != crc:
        raise CheckpointError("checksum mismatch")
    try:
        written, next_fid, next_seq, ndirs = META.unpack_from(body, 0)
        pos = META.size
        starts = []
        for _ in range(ndirs):
            (n,) = U32.unpack_from(body, pos)
            path = bytes(body[pos + 4:pos + 4 + n]).decode("utf-8", "surrogateescape")
            fid, off = DIR.unpack_from(body, pos + 4 + n)
            starts.append((path, fid, off))
            pos += 4 + n + DIR.size
        (npending,) = U32.unpack_from(body, pos)
        pos += 4
        pending = list(struct.unpack_from(f"<{npending}Q", body, pos))
        pos += 8 * npending
        (count,) = U64.unpack_from(body, pos)
        pos += 8
        if pos + 8 * count != len(body):
            raise CheckpointError("pointer count does not match the file size")
        ptrs = array("Q")
        ptrs.frombytes(body[pos:])
    except struct.error as e:
        raise CheckpointError(f"truncated ({e})") from None
    return Checkpoint(ptrs, next_fid, next_seq, starts, pending, written)


def write(directory: str, cp: Checkpoint) -> int:
    """Write atomically (temp file, fsync, rename, fsync dir); returns the bytes written."""
    data = encode(cp)
    tmp = os.path.join(directory, NAME + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, os.path.join(directory, NAME))
    fsync_dir(directory)
    return len(data)


def read(directory: str) -> Checkpoint | None:
    """The checkpoint in ``directory``; None when there is none; CheckpointError when it is bad."""
    path = os.path.join(directory, NAME)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise CheckpointError(f"cannot read {path}: {e}") from None
    return decode(data)


def remove(directory: str) -> None:
    for n in (NAME, NAME + ".tmp"):
        try:
            os.unlink(os.path.join(directory, n))
        except FileNotFoundError:
            pass
