"""``BucketWriter``: the one open file of a resolved ``hdfs.path`` + ``hdfs.filePrefix`` (a bucket).

A bucket writes ``<dir>/<inUsePrefix><prefix>.<counter><suffix><inUseSuffix>`` and renames it to
``<dir>/<prefix>.<counter><suffix>`` when it closes.  The counter starts at the epoch millis of the
bucket's creation and goes up by one per file, as in Flume (the first file is millis + 1).

Rolling follows Flume: before each event, if the file holds ``rollCount`` events or ``rollSize``
body bytes, it is closed and a new one opened (so a file holds exactly ``rollCount`` events and may
pass ``rollSize`` by one event).  ``rollInterval`` and ``idleTimeout`` are checked by the sink.

Bytes are encoded in memory and reach the filesystem at :meth:`BucketWriter.flush` (one write and
one ``sync()`` per batch), so a committed batch is durable and visible.  Every filesystem call goes
through ``BucketContext.call`` (which applies ``hdfs.callTimeout``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from flumepy.core.event import Event, bodies_of
from flumepy.fs.base import FileSystem, OutputStream
from flumepy.sinks.hdfs.writers import FileType, FileWriter

log = logging.getLogger(__name__)

__all__ = ["BucketWriter", "BucketContext", "PendingClose", "join_path"]


def join_path(directory: str, name: str) -> str:
    return directory.rstrip("/") + "/" + name if directory else name


@dataclass
class PendingClose:
    """A file whose close or rename failed: retried every retryInterval up to closeTries."""

    in_use: str
    final: str
    tries: int = 1
    next_try: float = 0.0
    stream: OutputStream | None = None


@dataclass
class BucketContext:
    """What every bucket of one sink shares: filesystem, file type, naming and roll settings."""

    fs: FileSystem
    file_type: FileType
    file_suffix: str = ""
    in_use_prefix: str = ""
    in_use_suffix: str = ".tmp"
    roll_size: int = 1024
    roll_count: int = 10
    call: Callable[[Callable[[], Any], str], Any] = lambda fn, what: fn()
    on_close_failed: Callable[[PendingClose], None] = lambda p: None
    counters: dict[str, int] = field(default_factory=dict)

    def final_suffix(self) -> str:
        return self.file_suffix or self.file_type.extension


class BucketWriter:
    """One bucket: at most one open file; rolls by count and size; flushes per batch."""

    def __init__(self, ctx: BucketContext, directory: str, prefix: str, seed: int) -> None:
        self.ctx = ctx
        self.directory = directory
        self.prefix = prefix
        self.counter = seed
        self.stream: OutputStream | None = None
        self.writer: FileWriter | None = None
        self.in_use_path = ""
        self.final_path = ""
        self.events = 0  # events in the open file
        self.bytes = 0  # body bytes in the open file
        self.opened_at = 0.0
        self.last_write = 0.0
        self._dirty = False  # appended since the last flush

    @property
    def is_open(self) -> bool:
        return self.stream is not None

    def __repr__(self) -> str:
        return f"<BucketWriter {self.in_use_path or join_path(self.directory, self.prefix)}>"

    # -- files -------------------------------------------------------------------------------------
    def _open(self, now: float) -> None:
        ctx = self.ctx
        suffix = ctx.final_suffix()
        for _ in range(1000):
            self.counter += 1
            name = f"{self.prefix}.{self.counter}{suffix}"
            final = join_path(self.directory, name)
            in_use = join_path(self.directory, f"{ctx.in_use_prefix}{name}{ctx.in_use_suffix}")
            try:
                if in_use != final and ctx.call(partial(ctx.fs.exists, final), f"checking {ctx.fs.url(final)}"):
                    continue  # a file of an earlier bucket writer with the same millis counter
                self.stream = ctx.call(partial(ctx.fs.create, in_use), f"creating {ctx.fs.url(in_use)}")
            except FileExistsError:
                continue
            except Exception:
                ctx.counters["ConnectionFailedCount"] = ctx.counters.get("ConnectionFailedCount", 0) + 1
                raise
            break
        else:
            raise FileExistsError(f"no free file name for {join_path(self.directory, self.prefix)}")
        self.in_use_path, self.final_path = in_use, final
        self.writer = ctx.file_type.new()
        self.events = self.bytes = 0
        self.opened_at = self.last_write = now
        self._dirty = True  # the header
        ctx.counters["ConnectionCreatedCount"] = ctx.counters.get("ConnectionCreatedCount", 0) + 1
        log.info("creating %s", ctx.fs.url(in_use))

    def _should_roll(self) -> bool:
        c = self.ctx
        return (c.roll_count > 0 and self.events >= c.roll_count) or (c.roll_size > 0 and self.bytes >= c.roll_size)

    def append(self, events: Sequence[Event], now: float) -> None:
        """Write events (encoded in memory), rolling by count/size before an event as Flume does."""
        ctx = self.ctx
        n = len(events)
        now_ms = int(now * 1000)
        bodies = bodies_of(events) if ctx.roll_size > 0 else ()  # for rollSize (no event made from a batch)
        i = 0
        while i < n:
            if self.stream is not None and self._should_roll():
                self.close()
            if self.stream is None:
                self._open(now)
            limit = n if ctx.roll_count <= 0 else min(n, i + ctx.roll_count - self.events)
            if ctx.roll_size > 0:
                j, size = i, self.bytes
                while j < limit and size < ctx.roll_size:
                    size += len(bodies[j])
                    j += 1
                self.bytes = size
            else:
                j = limit
            assert self.writer is not None
            chunk = events[i:j] if (i or j != n) else events
            self.writer.append(chunk, now_ms)
            self.events += j - i
            i = j
        self.last_write = now
        self._dirty = True

    def flush(self) -> None:
        """Write what was appended and make it durable and visible (the batch's flush point)."""
        io = self.flush_io()
        if io is None:
            return
        try:
            self.ctx.call(io, self.writing())
        except BaseException:
            self._dirty = True
            raise

    def writing(self) -> str:
        """What a write of this bucket is called in errors and timeouts."""
        return f"writing {self.ctx.fs.url(self.in_use_path)}"

    def flush_io(self) -> Callable[[], None] | None:
        """What ``flush()`` does, as a call for the caller to run (the sink runs a batch's calls in its
        I/O pool while it encodes the next batch): write the encoded bytes, then sync.  None when
        nothing was appended since the last flush."""
        if self.stream is None or not self._dirty:
            return None
        assert self.writer is not None
        self.writer.flush()
        data = self.writer.take()
        stream = self.stream
        self._dirty = False

        def write_sync() -> None:
            if data:
                stream.write(data)
            stream.sync()

        return write_sync

    def close(self) -> None:
        """Flush, close and rename the open file. On failure the file is handed to on_close_failed
        (retried later) and the error is raised."""
        stream, writer = self.stream, self.writer
        if stream is None or writer is None:
            return
        ctx, in_use, final = self.ctx, self.in_use_path, self.final_path
        self.stream = self.writer = None
        self._dirty = False
        url = ctx.fs.url(in_use)

        def finish() -> None:
            writer.close()
            data = writer.take()
            if data:
                stream.write(data)
            stream.sync()
            stream.close()

        try:
            ctx.call(finish, f"closing {url}")
        except Exception:
            ctx.on_close_failed(PendingClose(in_use, final, stream=stream))
            raise
        finally:
            ctx.counters["ConnectionClosedCount"] = ctx.counters.get("ConnectionClosedCount", 0) + 1
        if in_use != final:
            try:
                ctx.call(lambda: ctx.fs.rename(in_use, final), f"renaming {url} to {final}")
            except Exception:
                ctx.on_close_failed(PendingClose(in_use, final))
                raise
        log.info("closed %s (%d events)", ctx.fs.url(final), self.events)

    def abandon(self) -> None:
        """Close after a failure: try a normal close; errors are logged (the retry is queued)."""
        try:
            self.close()
        except Exception as e:  # noqa: BLE001 - already queued for retry by close()
            log.warning("closing %s after a failure failed too: %s (will retry)", self.in_use_path, e)
