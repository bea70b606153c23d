"""The write-ahead log of the file channel: record format, a group-committing writer, readers.

Format (all integers little-endian; see docs/file-channel.md)::

    file   := FILE_MAGIC (8 bytes) fileid (u32) reserved (u32) record*
    record := length (u32) crc32 (u32) payload[length]
              crc32 = zlib.crc32(payload); for PUTS: zlib.crc32(type, txid, count, entry headers)
    payload:= type (u8) txid (u64) body
      PUTS     body := count (u32) entry*        entry := hlen (u32) blen (u32) crc (u32) headers body
      TAKES    body := count (u32) pointer (u64)*
      COMMIT   body := seq (u64)
      ROLLBACK body := (empty)

A transaction is written with one ``write`` at commit time: its PUTS record, its TAKES record and its
COMMIT record, then fdatasync (shared with concurrent committers: group commit).  An event is
addressed by a *pointer*: ``fileid << 32 | offset of its entry``.  ``crc`` of an entry is
``zlib.crc32(headers + body)`` so a single event can be verified when it is read back for a take.
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import re
import struct
import threading
import zlib
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import accumulate, chain, repeat
from operator import add, attrgetter

from flumepy.core.errors import ChannelError
from flumepy.core.event import Event

log = logging.getLogger(__name__)

FILE_MAGIC = b"FPYLOG1\n"
FILE_HEADER = struct.Struct("<8sII")
HEADER_SIZE = FILE_HEADER.size  # 16
REC = struct.Struct("<II")  # length, crc32
PAY = struct.Struct("<BQ")  # type, txid
COUNT = struct.Struct("<I")
SEQ = struct.Struct("<Q")
ENTRY = struct.Struct("<III")  # hlen, blen, crc32(headers + body)
REC_OVERHEAD = REC.size + PAY.size  # 17
COMMIT_SIZE = REC_OVERHEAD + SEQ.size

PUTS, TAKES, COMMIT, ROLLBACK = 1, 2, 3, 4
OFFSET_MASK = (1 << 32) - 1
LOG_NAME = re.compile(r"^log-(\d+)$")

_body = attrgetter("body")
_headers = attrgetter("headers")
_crc32 = zlib.crc32
_entry_pack = ENTRY.pack
_entry_unpack = ENTRY.unpack_from


def log_name(fileid: int) -> str:
    return f"log-{fileid}"


def list_logs(directory: str) -> list[tuple[int, str]]:
    """(fileid, path) of the log files in ``directory``, oldest first."""
    out = []
    for name in os.listdir(directory):
        m = LOG_NAME.match(name)
        if m:
            out.append((int(m.group(1)), os.path.join(directory, name)))
    out.sort()
    return out


# -- headers ------------------------------------------------------------------------------------

def encode_headers(h: dict[str, str]) -> bytes:
    """b"" for no headers; 0x00 + NUL-separated key/value pairs; 0x01 + JSON when a NUL occurs."""
    if not h:
        return b""
    s = "\x00".join(chain.from_iterable(h.items()))
    if s.count("\x00") == 2 * len(h) - 1:
        return b"\x00" + s.encode("utf-8", "surrogatepass")
    return b"\x01" + json.dumps(h).encode()


def decode_headers(b: bytes) -> dict[str, str]:
    if not b:
        return {}
    if b[0] == 0:
        parts = b[1:].decode("utf-8", "surrogatepass").split("\x00")
        return dict(zip(parts[::2], parts[1::2]))
    return dict(json.loads(b[1:].decode()))


# -- encoding a transaction ------------------------------------------------------------------------

def encode_puts(txid: int, events: Sequence[Event]) -> tuple[list[bytes], list[int], int]:
    """The PUTS record as byte chunks, each event's entry offset relative to the record start, and
    the total body bytes.

    Per-event work is done by C-level map/zip/accumulate loops (this runs for every event put).
    """
    n = len(events)
    bodies = list(map(_body, events))
    blens = list(map(len, bodies))
    payload_head = PAY.pack(PUTS, txid) + COUNT.pack(n)
    start = REC.size + len(payload_head)
    if any(map(_headers, events)):
        hbs = list(map(encode_headers, map(_headers, events)))
        hlens = list(map(len, hbs))
        entries = list(map(_entry_pack, hlens, blens, map(_crc32, bodies, map(_crc32, hbs))))
        sizes = map(add, map(add, hlens, blens), repeat(ENTRY.size))
        parts = list(chain.from_iterable(zip(entries, hbs, bodies)))
    else:  # the common case: no headers, fewer per-event steps
        entries = list(map(_entry_pack, repeat(0), blens, map(_crc32, bodies)))
        sizes = map(add, blens, repeat(ENTRY.size))
        parts = list(chain.from_iterable(zip(entries, bodies)))
    offsets = list(accumulate(sizes, initial=start))
    total = offsets.pop()
    # The record CRC covers the fixed part and the entry headers; each entry header carries the CRC of
    # its event, so every byte is covered without hashing the bodies twice.  Bodies are not copied
    # into one buffer: the writer hands the parts to writev.
    crc = _crc32(b"".join(entries), _crc32(payload_head))
    return [REC.pack(total - REC.size, crc), payload_head, *parts], offsets, sum(blens)


def encode_record(rtype: int, txid: int, body: bytes = b"") -> bytes:
    payload = PAY.pack(rtype, txid) + body
    return REC.pack(len(payload), _crc32(payload)) + payload


def encode_takes(txid: int, pointers: Sequence[int]) -> bytes:
    return encode_record(TAKES, txid, COUNT.pack(len(pointers)) + array("Q", pointers).tobytes())


# -- reading events back -------------------------------------------------------------------------

class _BadCrc(Exception):
    """A record or event failed its checksum during a scan."""


def read_events(
    pointers: Sequence[int], fd_for: Callable[[int], int | None], chunk: int = 1 << 18
) -> list[Event | None]:
    """Events at ``pointers`` (None for an entry that is corrupt or unreadable), with few preads."""
    out: list[Event | None] = []
    cur_fid = -1
    base = 0
    buf = b""
    end = 0
    pread = os.pread
    for p in pointers:
        fid = p >> 32
        off = p & OFFSET_MASK
        rel = off - base
        if fid != cur_fid or rel < 0 or rel + 12 > end:
            fd = fd_for(fid)
            if fd is None:
                out.append(None)
                continue
            buf = pread(fd, chunk, off)
            cur_fid, base, rel, end = fid, off, 0, len(buf)
            if end < 12:
                out.append(None)
                continue
        hlen, blen, crc = _entry_unpack(buf, rel)
        a = rel + 12
        b = a + hlen + blen
        if b > end:
            fd = fd_for(fid)
            buf = pread(fd, max(chunk, b - rel), off) if fd is not None else b""
            base, rel, end = off, 0, len(buf)
            a, b = 12, 12 + hlen + blen
            if b > end:
                out.append(None)
                continue
        if hlen:
            hb = buf[a:a + hlen]
            body = buf[a + hlen:b]
            if _crc32(body, _crc32(hb)) != crc:
                out.append(None)
                continue
            try:
                out.append(Event(body, decode_headers(hb)))
            except (ValueError, UnicodeDecodeError):
                out.append(None)
        else:
            body = buf[a:b]
            if _crc32(body) != crc:
                out.append(None)
                continue
            out.append(Event(body, {}))
    return out


# -- the writer ------------------------------------------------------------------------------------

class LogWriter:
    """Appends transactions to the log files of one data directory; group-commits their fdatasync.

    ``append`` writes under the lock and returns a ticket; ``sync(ticket)`` returns once the bytes of
    that ticket are on disk.  The first waiter becomes the leader and runs one fdatasync for every
    ticket written so far; the others wait on the condition and return with it (group commit).
    """

    def __init__(self, directory: str, index: int, max_file_size: int, next_fileid: Callable[[], int]) -> None:
        self.directory = directory
        self.index = index
        self.max_file_size = max_file_size
        self._next_fileid = next_fileid
        self.lock = threading.Lock()
        self._cond = threading.Condition(self.lock)
        self.fd = -1
        self.fileid = 0
        self.pos = 0
        self._written = 0  # tickets handed out
        self._synced = 0  # tickets known durable
        self._syncing = False
        self._failed: tuple[int, BaseException] | None = None  # (up to ticket, error)
        self._rotate_next = False
        # ticket -> (pointer of its first byte, commit seq): written but not yet applied to the queue
        self.pending: dict[int, tuple[int, int]] = {}
        self.on_new_file: Callable[[int, str], None] | None = None

    def open_new_file(self) -> None:
        """Start a fresh log file (at start and when the current one is full)."""
        fileid = self._next_fileid()
        path = os.path.join(self.directory, log_name(fileid))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        try:
            os.write(fd, FILE_HEADER.pack(FILE_MAGIC, fileid, 0))
            os.fsync(fd)
            fsync_dir(self.directory)
        except BaseException:
            os.close(fd)
            raise
        old = self.fd
        self.fd, self.fileid, self.pos = fd, fileid, HEADER_SIZE
        if self.on_new_file is not None:
            self.on_new_file(fileid, path)
        if old >= 0:
            os.close(old)
        log.debug("log file %s opened", path)

    def _rotate(self) -> None:
        # Called with the lock held: wait for a running fdatasync on the old file, then make it durable.
        while self._syncing:
            self._cond.wait()
        if self.fd >= 0 and self._synced < self._written:
            try:
                os.fdatasync(self.fd)
                self._synced = self._written
            except OSError as e:
                self._failed = (self._written, e)
                self._cond.notify_all()
        self.open_new_file()
        self._rotate_next = False

    def append(self, chunks: list[bytes], txid: int, seqs: Iterator[int]) -> tuple[int, int, int]:
        """Write one transaction's records plus its COMMIT record (numbered from ``seqs`` here, under
        the lock, so commit numbers and pending registrations are consistent for checkpoints).

        Returns (ticket, fileid, offset of the transaction's first byte); then call ``sync(ticket)``.
        """
        with self.lock:
            if self.fd < 0:
                raise ChannelError(f"log in {self.directory} is closed")
            size = sum(map(len, chunks)) + COMMIT_SIZE
            if self._rotate_next or (self.pos > HEADER_SIZE and self.pos + size > self.max_file_size):
                self._rotate()
            seq = next(seqs)
            commit = encode_record(COMMIT, txid, SEQ.pack(seq))
            start = self.pos
            try:
                _writev_all(self.fd, [*chunks, commit])
            except OSError as e:
                # A partial write leaves a torn record; start a new file so nothing follows it.
                self._rotate_next = True
                raise ChannelError(f"cannot write to log {self.directory}/{log_name(self.fileid)}: {e}") from e
            self.pos += size
            self._written += 1
            ticket = self._written
            self.pending[ticket] = ((self.fileid << 32) | start, seq)
            return ticket, self.fileid, start

    def sync(self, ticket: int) -> None:
        """Return when the ticket's bytes are durable (one fdatasync serves every waiting ticket)."""
        with self._cond:
            while True:
                if self._failed is not None and ticket <= self._failed[0]:
                    raise ChannelError(f"fdatasync of log in {self.directory} failed: {self._failed[1]}")
                if self._synced >= ticket:
                    return
                if not self._syncing:
                    break
                self._cond.wait()
            self._syncing = True
            target = self._written
            fd = self.fd
        err: BaseException | None = None
        try:
            os.fdatasync(fd)
        except OSError as e:
            err = e
        with self._cond:
            self._syncing = False
            if err is None:
                self._synced = max(self._synced, target)
            else:
                self._failed = (target, err)
                self._rotate_next = True
            self._cond.notify_all()
        if err is not None:
            raise ChannelError(f"fdatasync of log in {self.directory} failed: {err}") from err

    def done(self, ticket: int) -> None:
        """The ticket's transaction was applied (or abandoned): replay need not start before it."""
        with self.lock:
            self.pending.pop(ticket, None)

    def replay_state(self) -> tuple[int, int, list[int]]:
        """(fileid, offset, pending seqs): a replay must read this directory from the oldest written
        but not yet applied transaction (or the current end); the seqs of those transactions.
        Call with ``self.lock`` held (the checkpoint takes every writer's lock)."""
        if self.pending:
            p = min(ptr for ptr, _ in self.pending.values())
            return p >> 32, p & OFFSET_MASK, [seq for _, seq in self.pending.values()]
        return self.fileid, self.pos, []

    def close(self) -> None:
        with self._cond:
            while self._syncing:
                self._cond.wait()
            if self.fd >= 0:
                try:
                    os.fdatasync(self.fd)
                except OSError as e:
                    log.warning("fdatasync of %s failed at close: %s", self.directory, e)
                os.close(self.fd)
                self.fd = -1


IOV_MAX = 1024


def _writev_all(fd: int, parts: list[bytes]) -> None:
    for i in range(0, len(parts), IOV_MAX):
        group = parts[i:i + IOV_MAX]
        n = os.writev(fd, group)
        want = sum(map(len, group))
        if n < want:  # a short write (rare on regular files): finish the group byte by byte
            _write_all(fd, b"".join(group)[n:])


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- scanning a log file for replay ------------------------------------------------------------------

@dataclass
class ScanResult:
    """Committed transactions found in one file: (seq, put pointers, take pointers)."""

    commits: list[tuple[int, list[int], list[int]]] = field(default_factory=list)
    records: int = 0
    torn_at: int = -1  # offset of the first bad record, -1 when the file ended cleanly
    reason: str = ""


def scan_file(path: str, fileid: int, start: int = HEADER_SIZE) -> ScanResult:
    """Read the records of one log file from ``start``; stop at the first torn or corrupt record."""
    res = ScanResult()
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < HEADER_SIZE:
            res.torn_at, res.reason = 0, f"file is {size} bytes, shorter than its header"
            return res
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        magic, fid, _ = FILE_HEADER.unpack_from(mm, 0)
        if magic != FILE_MAGIC or fid != fileid:
            res.torn_at, res.reason = 0, "not a flumepy log file (bad magic or file id)"
            return res
        open_tx: dict[int, tuple[list[int], list[int]]] = {}
        pos = max(start, HEADER_SIZE)
        base = fileid << 32
        while pos < size:
            if pos + REC.size + PAY.size > size:
                res.torn_at, res.reason = pos, "record header cut short"
                break
            length, crc = REC.unpack_from(mm, pos)
            end = pos + REC.size + length
            if length < PAY.size or end > size:
                res.torn_at, res.reason = pos, f"record length {length} runs past the end of the file"
                break
            rtype, txid = PAY.unpack_from(mm, pos + REC.size)
            body = pos + REC.size + PAY.size
            try:
                if rtype == PUTS:
                    (count,) = COUNT.unpack_from(mm, body)
                    e = body + COUNT.size
                    ptrs = []
                    metas = []
                    for _ in range(count):
                        if e + ENTRY.size > end:
                            raise ValueError("entries run past the record")
                        hlen, blen, ecrc = _entry_unpack(mm, e)
                        metas.append(mm[e:e + ENTRY.size])
                        if _crc32(mm[e + ENTRY.size:e + ENTRY.size + hlen + blen]) != ecrc:
                            raise _BadCrc(f"checksum mismatch of the event at offset {e}")
                        ptrs.append(base | e)
                        e += ENTRY.size + hlen + blen
                    if e != end:
                        raise ValueError("entries do not fill the record")
                    if _crc32(b"".join(metas), _crc32(mm[pos + REC.size:body + COUNT.size])) != crc:
                        raise _BadCrc("record checksum mismatch")
                    open_tx.setdefault(txid, ([], []))[0].extend(ptrs)
                elif _crc32(mm[pos + REC.size:end]) != crc:
                    raise _BadCrc("record checksum mismatch")
                elif rtype == TAKES:
                    (count,) = COUNT.unpack_from(mm, body)
                    if body + COUNT.size + 8 * count != end:
                        raise ValueError("pointer count does not match the record length")
                    ptrs = array("Q", mm[body + COUNT.size:end]).tolist()
                    open_tx.setdefault(txid, ([], []))[1].extend(ptrs)
                elif rtype == COMMIT:
                    (seq,) = SEQ.unpack_from(mm, body)
                    puts, takes = open_tx.pop(txid, ([], []))
                    res.commits.append((seq, puts, takes))
                elif rtype == ROLLBACK:
                    open_tx.pop(txid, None)
                else:
                    raise ValueError(f"unknown record type {rtype}")
            except _BadCrc as e:
                res.torn_at, res.reason = pos, str(e)
                break
            except (struct.error, ValueError) as e:
                res.torn_at, res.reason = pos, f"malformed record ({e})"
                break
            res.records += 1
            pos = end
    finally:
        mm.close()
    return res
