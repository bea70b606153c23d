"""Type ``file``: Flume's FileChannel — a durable channel backed by a write-ahead log.

Every commit appends the transaction's records (puts, takes, a commit marker) to a log file with one
write and returns only after fdatasync; concurrent committers share one fdatasync (group commit).
The in-memory queue holds 64-bit pointers (file id << 32 | offset) to the events in the log, so a
1,000,000-event channel needs about 40 MB of queue whatever the event size; recently put events are
also kept in a small bounded cache (``CACHE_BYTES``, ``CACHE_EVENTS``) so a sink that keeps up never reads them back
from disk.  A checkpoint of the queue is written every ``checkpointInterval`` ms (and on stop); log
files that hold no live event and precede every checkpointed replay start are then deleted.  On start,
checkpoint + log tail are replayed (see replay.py and docs/file-channel.md).
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import logging
import os
import threading
import time
from array import array
from collections import deque
from collections.abc import Callable, Sequence
from itertools import repeat
from operator import add, attrgetter

from flumepy.channels.file import checkpoint as ckpt
from flumepy.channels.file.log import LogWriter, encode_puts, encode_takes, read_events
from flumepy.channels.file.replay import replay
from flumepy.core.component import Channel
from flumepy.core.context import Context, Prop
from flumepy.core.errors import ChannelError, ChannelFullError
from flumepy.core.event import Event
from flumepy.core.transaction import Transaction

log = logging.getLogger(__name__)

MIN_REQUIRED_SPACE = 1 << 20  # Flume's floor for minimumRequiredSpace
LOCK_NAME = "in_use.lock"
DEFAULT_HOME = os.path.join("~", ".flume", "file-channel")
_body = attrgetter("body")


def free_space(path: str) -> int:
    """Bytes available to this process on the file system holding ``path``."""
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


class DirLock:
    """An exclusive flock on ``<dir>/in_use.lock`` holding the owner's pid."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.path = os.path.join(directory, LOCK_NAME)
        self.fd = -1

    def acquire(self, channel: str) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            try:
                other = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            finally:
                os.close(fd)
            if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise ChannelError(
                    f"file channel {channel}: directory {self.directory} is in use by another file channel "
                    f"(pid {other}, lock {self.path}); two channels cannot share checkpoint or data directories"
                ) from None
            raise ChannelError(f"file channel {channel}: cannot lock {self.path}: {e}") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd >= 0:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            finally:
                os.close(self.fd)
                self.fd = -1


class FileChannel(Channel):
    """Durable channel (Flume's ``file``): committed events survive process and machine crashes."""

    TYPE_NAME = "file"
    CACHE_BYTES = 64 << 20  # recently put events kept in memory for takes (bodies + EVENT_OVERHEAD each)
    EVENT_OVERHEAD = 200  # bytes charged per cached event besides its body (Event, bytes and dict objects)
    TAKE_LINGER = 0.25  # seconds a take on an empty channel waits for events
    overlapping_takes = True  # transactions are independent (by txid); a rollback puts events back at the head

    PROPS = (
        Prop("checkpointDir", "string", os.path.join(DEFAULT_HOME, "checkpoint"), "Directory of the checkpoint."),
        Prop("useDualCheckpoints", "bool", False, "Also keep a backup checkpoint in backupCheckpointDir."),
        Prop("backupCheckpointDir", "string", None, "Directory of the backup checkpoint (required with "
             "useDualCheckpoints; must differ from checkpointDir)."),
        Prop("dataDirs", "csv", [os.path.join(DEFAULT_HOME, "data")], "Comma-separated log directories; "
             "transactions are spread across them."),
        Prop("capacity", "int", 1000000, "Maximum number of events stored in the channel.", min=1),
        Prop("transactionCapacity", "int", 10000, "Maximum events per put or take transaction.", min=1),
        Prop("checkpointInterval", "int", 30000, "Milliseconds between checkpoints.", min=1),
        Prop("checkpointOnClose", "bool", True, "Write a checkpoint when the channel stops."),
        Prop("maxFileSize", "int", 2146435071, "Bytes after which a new log file is started.", min=1,
             max=2146435071),
        Prop("minimumRequiredSpace", "int", 524288000, "Puts are refused while a data directory has less "
             "free space than this many bytes (at least 1 MiB); takes go on.", min=0),
        Prop("keep-alive", "int", 3, "Seconds a commit waits for room in a full channel.", min=0),
        Prop("compressBackupCheckpoint", "bool", False, "Compress the backup checkpoint.",
             ignored="the backup checkpoint is written uncompressed"),
        Prop("use-log-replay-v1", "bool", False, "Flume's legacy replay.", ignored="flumepy has one replay"),
        Prop("use-fast-replay", "bool", False, "Flume's replay without a queue.",
             ignored="flumepy's replay always rebuilds the queue from checkpoint + log tail"),
        Prop("fsyncPerTransaction", "bool", True, "fsync on every commit.",
             ignored="every commit is fdatasync'd (group commit keeps that cheap)"),
        Prop("fsyncInterval", "int", 5, "Seconds between fsyncs without per-transaction fsync.",
             ignored="every commit is fdatasync'd"),
        Prop("checkpointPerTransaction", "bool", False, "Unused Flume key.", ignored="not used"),
        Prop("encryption.", doc="Flume's log encryption settings (not implemented: a warning is given).",
             prefix=True),
    )

    def __init__(self, name: str, free_space_probe: Callable[[str], int] | None = None) -> None:
        super().__init__(name)
        #: Returns the free bytes for a directory; tests replace it to simulate a full disk.
        self.free_space_probe = free_space_probe or free_space
        self.capacity = 1000000
        self.transaction_capacity = 10000
        self.keep_alive = 3.0
        self._lock = threading.Lock()
        self._not_full = threading.Condition(self._lock)
        self._not_empty = threading.Condition(self._lock)
        # The queue: segments [pointers, events or None, head index, cached bytes], one per committed
        # put batch (whole batches move with C-level slicing, no per-event Python work); ``events`` is the
        # batch itself while it is cached, None once it must be read back from the log.
        self._queue: deque[list] = deque()
        self._size = 0
        self._inflight: dict[int, list[int]] = {}  # txid -> pointers taken, not yet committed
        self._inflight_n = 0
        self._reserved = 0  # puts being written: their room is held
        self._cache_bytes = 0
        self._writers: list[LogWriter] = []
        self._locks: list[DirLock] = []
        self._files: dict[int, tuple[int, str]] = {}  # fileid -> (dir index, path)
        self._read_fds: dict[int, int] = {}
        self._fd_lock = threading.Lock()
        self._txids = itertools.count(1)
        self._seqs: itertools.count[int] = itertools.count(1)
        self._fileids: itertools.count[int] = itertools.count(1)
        self._ckpt_lock = threading.Lock()
        self._stop = threading.Event()
        self._ckpt_thread: threading.Thread | None = None
        self._open = False
        self._space_warned = False
        self.data_dirs: list[str] = []
        self.checkpoint_dir = ""
        self.backup_dir = ""
        self.last_replay: object = None
        c = self.counters
        for k in ("CheckpointWriteCount", "CheckpointWriteErrorCount", "CheckpointBackupWriteErrorCount",
                  "ReplayCount", "ReplayMillis", "LastCheckpointMillis", "UnhealthyCount", "LogFilesDeleted"):
            c.values.setdefault(k, 0)
        g = c.gauges
        g["ChannelSize"] = self.size
        g["ChannelCapacity"] = lambda: self.capacity
        g["ChannelFillPercentage"] = lambda: self.size() * 100.0 / self.capacity if self.capacity else 0.0
        g["Open"] = lambda: str(self._open).lower()

    # -- configuration ----------------------------------------------------------------------------
    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        if s["transactionCapacity"] > s["capacity"]:
            if "transactionCapacity" not in ctx:
                raise ctx.error("capacity", f"{s['capacity']} is smaller than transactionCapacity (default "
                                f"{s['transactionCapacity']}); set transactionCapacity too: a transaction can "
                                "never be bigger than the channel")
            raise ctx.error("transactionCapacity", f"{s['transactionCapacity']} is larger than capacity "
                            f"({s['capacity']}); a transaction can never be bigger than the channel")
        if not s["dataDirs"]:
            raise ctx.error("dataDirs", "is empty: name at least one directory")
        data_dirs = [_abs(d) for d in s["dataDirs"]]
        if len(set(data_dirs)) != len(data_dirs):
            raise ctx.error("dataDirs", "names the same directory twice")
        checkpoint_dir = _abs(s["checkpointDir"])
        backup = ""
        if s["useDualCheckpoints"]:
            if not s["backupCheckpointDir"]:
                raise ctx.error("backupCheckpointDir", "is required when useDualCheckpoints is true")
            backup = _abs(s["backupCheckpointDir"])
            if backup == checkpoint_dir:
                raise ctx.error("backupCheckpointDir", "must differ from checkpointDir")
        elif s["backupCheckpointDir"]:
            ctx.warn("backupCheckpointDir", "is not used unless useDualCheckpoints is true")
        enc = s["encryption."]
        if enc.keys():
            ctx.warn("encryption." + sorted(enc.keys())[0],
                     "accepted but not implemented by flumepy: log files are written unencrypted "
                     "(use disk encryption instead)")
        with self._lock:
            self.capacity = s["capacity"]
            self.transaction_capacity = s["transactionCapacity"]
            self.keep_alive = float(s["keep-alive"])
            self.min_space = max(s["minimumRequiredSpace"], MIN_REQUIRED_SPACE)
            self.checkpoint_interval = s["checkpointInterval"] / 1000.0
            self.max_file_size = s["maxFileSize"]
            self.data_dirs = data_dirs
            self.checkpoint_dir = checkpoint_dir
            self.backup_dir = backup
            self._not_full.notify_all()

    # -- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        if self._open:
            return
        self._stop.clear()
        try:
            self._open_dirs()
            self._replay()
        except BaseException:
            self._close_files()
            raise
        self._open = True
        self._ckpt_thread = threading.Thread(target=self._checkpoint_loop, name=f"{self.name}-checkpoint",
                                             daemon=True)
        self._ckpt_thread.start()
        super().start()

    def _open_dirs(self) -> None:
        dirs = [self.checkpoint_dir, *([self.backup_dir] if self.backup_dir else []), *self.data_dirs]
        for d in dict.fromkeys(dirs):
            try:
                os.makedirs(d, exist_ok=True)
            except OSError as e:
                raise ChannelError(f"file channel {self.name}: cannot create directory {d}: {e}") from None
            if not os.access(d, os.W_OK):
                raise ChannelError(f"file channel {self.name}: directory {d} is not writable")
            lk = DirLock(d)
            lk.acquire(self.name)
            self._locks.append(lk)

    def _load_checkpoint(self) -> ckpt.Checkpoint | None:
        """The newest good checkpoint: primary, else backup; None means a full replay."""
        candidates = [("checkpoint", self.checkpoint_dir)]
        if self.backup_dir:
            candidates.append(("backup checkpoint", self.backup_dir))
        for what, d in candidates:
            try:
                cp = ckpt.read(d)
            except ckpt.CheckpointError as e:
                log.warning("file channel %s: %s in %s is unusable (%s)", self.name, what, d, e)
                continue
            if cp is None:
                log.info("file channel %s: no %s in %s", self.name, what, d)
                continue
            if what != "checkpoint":
                log.warning("file channel %s: using the backup checkpoint in %s", self.name, d)
            return cp
        return None

    def _replay(self) -> None:
        t0 = time.monotonic()
        cp = self._load_checkpoint()
        has_logs = any(n.startswith("log-") for d in self.data_dirs for n in os.listdir(d))
        if cp is None and has_logs:
            log.warning("file channel %s: no usable checkpoint; replaying every log file (full replay)",
                        self.name)
        res = replay(self.name, self.data_dirs, cp)
        self.last_replay = res
        self._files = dict(res.files)
        next_fid = max(res.max_fileid, cp.next_fileid if cp else 0) + 1
        next_seq = max(res.max_seq, cp.next_seq if cp else 0) + 1
        self._fileids = itertools.count(next_fid)
        self._seqs = itertools.count(next_seq)
        self._queue = deque([[list(res.pointers), None, 0, 0]]) if len(res.pointers) else deque()
        self._size = len(res.pointers)
        self._inflight.clear()
        self._inflight_n = self._reserved = 0
        self._cache_bytes = 0
        self._writers = []
        for i, d in enumerate(self.data_dirs):
            w = LogWriter(d, i, self.max_file_size, self._next_fileid)
            w.on_new_file = self._new_file_cb(i)
            w.open_new_file()
            self._writers.append(w)
        ms = int((time.monotonic() - t0) * 1000)
        self.counters.values["ReplayCount"] += 1
        self.counters.values["ReplayMillis"] = ms
        if self._size > self.capacity:
            log.warning("file channel %s: %d events replayed, more than capacity %d; puts wait until sinks "
                        "have taken the excess", self.name, self._size, self.capacity)
        log.info("file channel %s: replay done in %d ms: %s, %d log records read, %d commits applied, "
                 "%d events in the channel", self.name, ms, "from checkpoint" if cp else "full replay",
                 res.records, res.commits, self._size)
        if res.commits or cp is None:
            self.checkpoint()

    def _next_fileid(self) -> int:
        return next(self._fileids)

    def _new_file_cb(self, index: int) -> Callable[[int, str], None]:
        def cb(fileid: int, path: str) -> None:
            self._files[fileid] = (index, path)
        return cb

    def stop(self) -> None:
        if not self._open:
            self._close_files()
            return
        self._stop.set()
        if self._ckpt_thread is not None:
            self._ckpt_thread.join(30)
            self._ckpt_thread = None
        if self.settings.get("checkpointOnClose", True):
            try:
                self.checkpoint()
            except Exception:  # noqa: BLE001 - logged; the log tail replays anyway
                log.exception("file channel %s: checkpoint on close failed", self.name)
        with self._lock:
            self._open = False
            self._not_empty.notify_all()
            self._not_full.notify_all()
        self._close_files()
        super().stop()

    def _close_files(self) -> None:
        for w in self._writers:
            try:
                w.close()
            except OSError as e:
                log.warning("file channel %s: closing log in %s failed: %s", self.name, w.directory, e)
        self._writers = []
        with self._fd_lock:
            for fd in self._read_fds.values():
                os.close(fd)
            self._read_fds.clear()
        for lk in self._locks:
            lk.release()
        self._locks = []

    # -- checkpoints ----------------------------------------------------------------------------------
    def _checkpoint_loop(self) -> None:
        while not self._stop.wait(self.checkpoint_interval):
            try:
                self.checkpoint()
            except Exception:  # noqa: BLE001 - logged and retried at the next interval
                log.exception("file channel %s: checkpoint failed", self.name)

    def checkpoint(self) -> None:
        """Write the queue state (atomically, then the backup), then delete consumed log files."""
        with self._ckpt_lock:
            t0 = time.monotonic()
            with self._lock:
                for w in self._writers:
                    w.lock.acquire()
                try:
                    inflight = [p for ptrs in self._inflight.values() for p in ptrs]
                    pointers = array("Q", inflight)
                    for seg in self._queue:
                        pointers.extend(seg[0][seg[2]:] if seg[2] else seg[0])
                    next_seq = next(self._seqs)
                    starts, pending = [], []
                    for w in self._writers:
                        fid, off, seqs = w.replay_state()
                        starts.append((w.directory, fid, off))
                        pending.extend(seqs)
                    next_fid = next(self._fileids)
                    active = {w.fileid for w in self._writers}
                finally:
                    for w in self._writers:
                        w.lock.release()
            cp = ckpt.Checkpoint(pointers, next_fid, next_seq, starts, pending)
            try:
                size = ckpt.write(self.checkpoint_dir, cp)
            except OSError as e:
                self.counters.values["CheckpointWriteErrorCount"] += 1
                raise ChannelError(f"file channel {self.name}: cannot write checkpoint in "
                                   f"{self.checkpoint_dir}: {e}") from e
            if self.backup_dir:
                try:
                    ckpt.write(self.backup_dir, cp)
                except OSError as e:
                    self.counters.values["CheckpointBackupWriteErrorCount"] += 1
                    log.warning("file channel %s: cannot write backup checkpoint in %s: %s", self.name,
                                self.backup_dir, e)
                    ckpt.remove(self.backup_dir)  # a stale backup must not be used; files are kept
                    return
            self._delete_consumed(pointers, starts, active)
            ms = int((time.monotonic() - t0) * 1000)
            self.counters.values["CheckpointWriteCount"] += 1
            self.counters.values["LastCheckpointMillis"] = ms
            log.debug("file channel %s: checkpoint of %d events (%d bytes) written in %d ms", self.name,
                      len(pointers), size, ms)

    def _delete_consumed(self, pointers: array, starts: list[tuple[str, int, int]], active: set[int]) -> None:
        live = set(map((32).__rrshift__, pointers)) if pointers else set()
        start_of = {i: fid for i, (_, fid, _) in enumerate(starts)}
        for fid, (index, path) in list(self._files.items()):
            if fid in active or fid in live or fid >= start_of.get(index, 0):
                continue
            with self._fd_lock:
                fd = self._read_fds.pop(fid, None)
                if fd is not None:
                    os.close(fd)
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as e:
                log.warning("file channel %s: cannot delete consumed log %s: %s", self.name, path, e)
                continue
            self._files.pop(fid, None)
            self.counters.values["LogFilesDeleted"] += 1
            log.debug("file channel %s: deleted consumed log file %s", self.name, path)

    # -- queue access (used by transactions) ------------------------------------------------------------
    def size(self) -> int:
        return self._size

    def drop_cache(self) -> None:
        """Forget the cached events: later takes read them back from the log (used by tests)."""
        with self._lock:
            for seg in self._queue:
                seg[1] = None
                seg[3] = 0
            self._cache_bytes = 0

    def transaction(self) -> Transaction:
        if not self._open:
            raise ChannelError(f"file channel {self.name} is not open")
        return _FileTransaction(self, next(self._txids))

    def _fd_for(self, fileid: int) -> int | None:
        fd = self._read_fds.get(fileid)
        if fd is not None:
            return fd
        with self._fd_lock:
            fd = self._read_fds.get(fileid)
            if fd is None:
                entry = self._files.get(fileid)
                if entry is None:
                    return None
                try:
                    fd = os.open(entry[1], os.O_RDONLY)
                except OSError as e:
                    log.error("file channel %s: cannot open log %s: %s", self.name, entry[1], e)
                    return None
                self._read_fds[fileid] = fd
            return fd

    def _take(self, txid: int, held: list[int], n: int) -> list[Event | None]:
        q = self._queue
        with self._not_empty:
            if not q:
                self._not_empty.wait(self.TAKE_LINGER)
                if not q or not self._open:
                    return []
            k = min(n, self._size)
            ptrs: list[int] = []
            events: list[Event | None] = []
            missing: list[tuple[int, list[int]]] = []  # (index in events, pointers) to read from the log
            freed = 0
            while len(ptrs) < k:
                seg = q[0]
                sp, se, pos, nb = seg
                m = min(len(sp) - pos, k - len(ptrs))
                if pos == 0 and m == len(sp):
                    q.popleft()
                    chunk, echunk = sp, se
                    freed += nb
                else:
                    chunk = sp[pos:pos + m]
                    echunk = se[pos:pos + m] if se is not None else None
                    if pos + m == len(sp):
                        q.popleft()
                        freed += nb
                    else:
                        seg[2] = pos + m
                        if echunk is not None:
                            part = sum(map(len, map(_body, echunk))) + self.EVENT_OVERHEAD * m
                            seg[3] = nb - part
                            freed += part
                if echunk is None:
                    missing.append((len(events), chunk))
                    events.extend(repeat(None, m))
                else:
                    events.extend(echunk)
                ptrs.extend(chunk)
            self._size -= k
            self._cache_bytes -= freed
            held.extend(ptrs)
            self._inflight[txid] = held
            self._inflight_n += k
        for i, chunk in missing:
            got = read_events(chunk, self._fd_for)
            events[i:i + len(chunk)] = got
            if not all(got):  # (C-level truth test: Events are always true)
                for p, ev in zip(chunk, got):
                    if ev is None:
                        entry = self._files.get(p >> 32)
                        log.error("file channel %s: event at %s offset %d is corrupt or unreadable; it is "
                                  "skipped (removed from the channel when this take commits)", self.name,
                                  entry[1] if entry else f"log-{p >> 32} (missing)", p & 0xFFFFFFFF)
        return events

    def _return(self, txid: int, ptrs: list[int]) -> None:
        with self._lock:
            self._inflight.pop(txid, None)
            self._inflight_n -= len(ptrs)
            if ptrs:
                self._queue.appendleft([list(ptrs), None, 0, 0])  # read back from the log when taken again
                self._size += len(ptrs)
            self._not_empty.notify_all()

    def _check_space(self, writer: LogWriter, need: int) -> None:
        try:
            free = self.free_space_probe(writer.directory)
        except OSError as e:
            raise ChannelError(f"file channel {self.name}: cannot check free space of {writer.directory}: {e}") \
                from None
        if free - need < self.min_space:
            self.counters.values["UnhealthyCount"] += 1
            if not self._space_warned:
                self._space_warned = True
                log.warning("file channel %s: %s has %d bytes free, below minimumRequiredSpace %d: puts are "
                            "refused until space is freed (takes go on)", self.name, writer.directory, free,
                            self.min_space)
            raise ChannelError(
                f"file channel {self.name}: only {free} bytes free in {writer.directory}, below "
                f"minimumRequiredSpace {self.min_space}: puts are refused until space is freed (takes go on)")
        if self._space_warned:
            self._space_warned = False
            log.info("file channel %s: free space in %s is above minimumRequiredSpace again; puts resume",
                     self.name, writer.directory)

    def _commit(self, txid: int, puts: list[Event], takes: list[int]) -> None:
        if not self._open:
            raise ChannelError(f"file channel {self.name} is closed")
        n = len(puts)
        writer = self._writers[txid % len(self._writers)]
        chunks: list[bytes] = []
        offsets: list[int] = []
        nbytes = 0
        if n:
            chunks, offsets, nbytes = encode_puts(txid, puts)
            self._check_space(writer, sum(map(len, chunks)))
            self._reserve(n)
        try:
            if takes:
                chunks.append(encode_takes(txid, takes))
            ticket, fid, start = writer.append(chunks, txid, self._seqs)
            try:
                writer.sync(ticket)
            except BaseException:
                writer.done(ticket)
                raise
        except BaseException:
            if n:
                with self._lock:
                    self._reserved -= n
                    self._not_full.notify_all()
            raise
        with self._lock:
            if n:
                ptrs = list(map(add, repeat((fid << 32) | start, n), offsets))
                self._reserved -= n
                self._size += n
                cost = nbytes + self.EVENT_OVERHEAD * n
                if self._cache_bytes + cost <= self.CACHE_BYTES:
                    self._queue.append([ptrs, puts, 0, cost])
                    self._cache_bytes += cost
                else:
                    self._queue.append([ptrs, None, 0, 0])
                self._not_empty.notify_all()
            if takes:
                self._inflight.pop(txid, None)
                self._inflight_n -= len(takes)
                self._not_full.notify_all()
            writer.done(ticket)

    def _reserve(self, n: int) -> None:
        deadline = time.monotonic() + self.keep_alive
        with self._not_full:
            while self._size + self._inflight_n + self._reserved + n > self.capacity:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._open:
                    held = f", {self._inflight_n} more taken but not committed" if self._inflight_n else ""
                    raise ChannelFullError(
                        f"file channel {self.name} is full ({self._size} of {self.capacity} events{held}; "
                        f"a put of {n} did not fit within keep-alive {self.keep_alive:g}s): sinks are not "
                        "keeping up, or raise capacity")
                self._not_full.wait(remaining)
            self._reserved += n


def _abs(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path.strip()))


class _FileTransaction(Transaction):
    __slots__ = ("ch", "txid", "puts", "takes")

    def __init__(self, ch: FileChannel, txid: int) -> None:
        super().__init__()
        self.ch = ch
        self.txid = txid
        self.puts: list[Event] = []
        self.takes: list[int] = []

    def _do_put_batch(self, events: Sequence[Event]) -> None:
        self.ch.count_put_attempt(len(self.puts), len(events))
        self.puts.extend(events)

    def _do_take_batch(self, max_events: int) -> list[Event]:
        ch = self.ch
        room = ch.count_take_attempt(len(self.takes))
        if not ch._open:
            raise ChannelError(f"file channel {ch.name} is closed")
        events = ch._take(self.txid, self.takes, min(max_events, room))
        got = list(filter(None, events))  # corrupt entries are skipped (and logged by the channel)
        return got if len(got) != len(events) else events  # type: ignore[return-value]

    def _do_commit(self) -> None:
        ch = self.ch
        if not self.puts and not self.takes:
            return
        ch._commit(self.txid, self.puts, self.takes)
        v = ch.counters.values
        if self.puts:
            v["EventPutSuccessCount"] += len(self.puts)
            self.puts = []
            ch.puts_committed()
        if self.takes:
            v["EventTakeSuccessCount"] += len(self.takes)
            self.takes = []

    def _do_rollback(self) -> None:
        if self.takes:
            self.ch._return(self.txid, self.takes)
            self.takes = []
        self.puts = []
