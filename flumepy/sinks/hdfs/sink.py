"""Type ``hdfs`` (Flume's HDFSEventSink): events into rolling files on HDFS, WebHDFS or a local disk.

``hdfs.path`` is a URL: ``hdfs://namenode:8020/flumedata`` (native RPC), ``webhdfs://host:9870/...``,
``file:///dir`` or a plain local path (the embedded default).  Keys, defaults and file naming are
Flume 1.11's (see ``PROPS`` and ``flumepy describe hdfs``).

Delivery (at least once): each batch is encoded per bucket, written with one write and made durable
and visible with ``sync()`` (hsync on HDFS; local files are written O_DSYNC) before the channel
transaction commits.  A failure (write, sync, create, rename, timeout, a missing ``timestamp``
header) rolls the transaction back; the failing file is closed (its close/rename retried every
``retryInterval`` s up to ``closeTries``), and the sink runner backs off before retrying the batch
into a new file.

Calls to HDFS and WebHDFS run in an I/O pool (``hdfs.threadsPoolSize``) under ``hdfs.callTimeout``;
calls on local files run on the sink's own thread (a pool hop costs a GIL hand-off each way).

Group commit on local files (beyond Flume): with a channel that allows several open take transactions
(memory, file), while the channel holds another full batch the sink takes it too, each batch in its
own transaction, up to ``GROUP_EVENTS`` events; one write and one sync make them all durable, then
they commit in order.  A sync costs about the same for 100 KB as for 1 MB, so a backlog drains with
one sync per group instead of one per batch; a channel that is not behind still gets one per batch.

Overlap (beyond Flume): with an I/O pool and a channel that allows several open take transactions (memory,
file), a batch's write and sync run in the I/O pool while ``process()`` returns and the next call takes and
encodes the next batch, and while that write still runs, more full batches the channel holds (a group,
as on local files, each batch in its own transaction); that call then waits for the write, commits the
earlier transactions (or rolls back all of them, the latest first, so their order in the channel is
kept) and starts the group's write: one write and one sync per file for the whole group.  Every
filesystem call waits for the write in flight first, so calls on a file stay in order.  A failed write
is reported by the call after the one that started it.

Rolls by ``rollInterval`` and ``idleTimeout`` are checked each time the runner calls ``process()``
(at most the runner's 5 s backoff late); count and size rolls happen before the event that would
exceed them, as in Flume.

Beyond Flume: when it first runs, the sink renames in-use files (``.tmp``) left by a crash under
the escape-free part of ``hdfs.path`` (recovering the HDFS lease first), so no data stays hidden;
if the filesystem is unreachable it tries again every 30 s.  ``hdfs.recoverInUseFiles = false``
turns this off.  ``hdfs.fileType = Parquet`` writes Parquet.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures import wait as futures_wait
from datetime import timedelta, timezone, tzinfo
from functools import partial
from typing import Any

from flumepy.core.component import Sink, Status
from flumepy.core.context import Context, Prop
from flumepy.core.errors import EventDeliveryError
from flumepy.core.event import Event, header_values_of
from flumepy.core.transaction import Transaction, TxState
from flumepy.fs import FileSystem, filesystem_for
from flumepy.sinks.hdfs.bucket import BucketContext, BucketWriter, PendingClose, join_path
from flumepy.sinks.hdfs.escapes import HostInfo, Template, compile_template, round_down
from flumepy.sinks.hdfs.writers import (
    CompressedStreamType,
    DataStreamType,
    FileType,
    ParquetType,
    SequenceFileType,
)

log = logging.getLogger(__name__)

_SECURITY = "Kerberos/proxy users are not supported; use an unsecured cluster or WebHDFS with a gateway"
RECOVERY_RETRY = 30  # seconds between attempts to recover in-use files when the filesystem fails
GROUP_EVENTS = 10000  # events of several batches made durable by one write and sync (a group)
_PARQUET_CODECS = ("none", "snappy", "gzip", "zstd", "lz4", "brotli")


class HDFSEventSink(Sink):
    PROPS = (
        Prop("hdfs.path", "string", None, "Directory URL (hdfs://, webhdfs://, file:// or a local path); "
             "escapes allowed.", required=True),
        Prop("hdfs.filePrefix", "string", "FlumeData", "File name prefix; escapes allowed."),
        Prop("hdfs.fileSuffix", "string", "", "Appended after the counter (e.g. .avro)."),
        Prop("hdfs.inUsePrefix", "string", "", "Prefix of files being written."),
        Prop("hdfs.inUseSuffix", "string", ".tmp", "Suffix of files being written."),
        Prop("hdfs.emptyInUseSuffix", "bool", False, "Write open files without an in-use suffix."),
        Prop("hdfs.rollInterval", "int", 30, "Seconds after opening before a file is rolled; 0 = never.", min=0),
        Prop("hdfs.rollSize", "int", 1024, "Body bytes before a file is rolled; 0 = never.", min=0),
        Prop("hdfs.rollCount", "int", 10, "Events before a file is rolled; 0 = never.", min=0),
        Prop("hdfs.idleTimeout", "int", 0, "Seconds without writes before a file is closed; 0 = never.", min=0),
        Prop("hdfs.batchSize", "int", 100, "Events per channel transaction (and per flush).", min=1),
        Prop("hdfs.codeC", "string", "", "Compression codec: gzip, deflate, bzip2 (Parquet: snappy, gzip, "
             "zstd, lz4, brotli)."),
        Prop("hdfs.fileType", "string", "SequenceFile", "File format.",
             choices=("SequenceFile", "DataStream", "CompressedStream", "Parquet")),
        Prop("hdfs.writeFormat", "string", "Writable", "SequenceFile value type: Writable (BytesWritable) or Text.",
             choices=("Writable", "Text")),
        Prop("hdfs.maxOpenFiles", "int", 5000, "Open files kept; the least recently used is closed first.", min=1),
        Prop("hdfs.minBlockReplicas", "int", None, "Under-replication threshold.", min=0,
             ignored="files are not rolled on under-replication"),
        Prop("hdfs.callTimeout", "int", 30000, "Milliseconds allowed for each HDFS/WebHDFS call "
             "(local files are written on the sink's thread).", min=1),
        Prop("hdfs.threadsPoolSize", "int", 10, "Threads running filesystem calls.", min=1),
        Prop("hdfs.rollTimerPoolSize", "int", 1, "Roll timer threads.", min=1,
             ignored="rolls are checked by the sink runner"),
        Prop("hdfs.kerberosPrincipal", "string", "", "Kerberos principal.", ignored=_SECURITY),
        Prop("hdfs.kerberosKeytab", "string", "", "Kerberos keytab.", ignored=_SECURITY),
        Prop("hdfs.proxyUser", "string", "", "User to impersonate.", ignored=_SECURITY),
        Prop("hdfs.round", "bool", False, "Round the timestamp down for the time escapes."),
        Prop("hdfs.roundValue", "int", 1, "Round down to a multiple of this many units.", min=1),
        Prop("hdfs.roundUnit", "string", "second", "Unit of roundValue.", choices=("second", "minute", "hour")),
        Prop("hdfs.timeZone", "string", "", "Time zone of the time escapes (e.g. UTC, Europe/Paris); "
             "default: the machine's."),
        Prop("hdfs.useLocalTimeStamp", "bool", False, "Use the sink's clock instead of the timestamp header."),
        Prop("hdfs.closeTries", "int", 0, "Close/rename attempts for a file; 0 = until it succeeds."),
        Prop("hdfs.retryInterval", "int", 180, "Seconds between close/rename attempts; <= 0 = one attempt."),
        Prop("hdfs.useRawLocalFileSystem", "bool", False, "Raw local filesystem for file://.",
             ignored="local files are always written directly"),
        Prop("hdfs.recoverInUseFiles", "bool", True, "flumepy extension: on start, rename in-use files a "
             "crash left under the path."),
        Prop("serializer", "string", "TEXT", "Event serializer for DataStream/CompressedStream."),
        Prop("serializer.", doc="Settings of the serializer.", prefix=True),
    )

    #: Time source (seconds since the epoch); tests replace it with a fake clock.
    clock: Callable[[], float] = staticmethod(time.time)  # type: ignore[assignment]
    sleep: Callable[[float], None] = staticmethod(time.sleep)  # type: ignore[assignment]
    #: Registry to resolve the serializer type with; read from entry points when None.
    registry: Any = None
    #: Filesystem to use instead of the one named by hdfs.path (tests wrap it to inject failures).
    filesystem: FileSystem | None = None

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.url = ""
        self.path_template: Template = compile_template("")
        self.prefix_template: Template = compile_template("FlumeData")
        self.file_type: FileType | None = None
        self.tz: tzinfo | None = None
        self.fs: FileSystem | None = None
        self._root = ""  # path inside the filesystem (template text)
        self._buckets: OrderedDict[str, BucketWriter] = OrderedDict()
        self._pending: list[PendingClose] = []
        self._pool: ThreadPoolExecutor | None = None
        self._host = HostInfo()
        self._lock = threading.RLock()
        self._bctx: BucketContext | None = None
        self._stopped = True
        self._full_prefix = ""
        self._recovery_due: float | None = None
        self._inflight: _InFlight | None = None  # a batch whose write runs in the pool, not yet committed

    # -- configuration -------------------------------------------------------------------------
    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        url = s["hdfs.path"].strip()
        if not url:
            raise ctx.error("hdfs.path", "is required (directory URL the files are written to)")
        self.url = url
        self._full_prefix = ctx.prefix or f"{self.name}."
        try:
            self.path_template = compile_template(url)
        except ValueError as e:
            raise ctx.error("hdfs.path", str(e)) from None
        try:
            self.prefix_template = compile_template(s["hdfs.filePrefix"])
        except ValueError as e:
            raise ctx.error("hdfs.filePrefix", str(e)) from None
        self.batch_size = s["hdfs.batchSize"]
        self.tz = _zone(ctx, s["hdfs.timeZone"])
        file_type, codec_name = s["hdfs.fileType"], s["hdfs.codeC"].strip()
        codec = None
        if codec_name and file_type != "Parquet":
            from flumepy.formats.codecs import UnknownCodecError, codec_for

            try:
                codec = codec_for(codec_name)
            except UnknownCodecError as e:
                raise ctx.error("hdfs.codeC", str(e)) from None
        if file_type == "SequenceFile":
            self.file_type = SequenceFileType(s["hdfs.writeFormat"], codec)
        elif file_type == "DataStream":
            if codec is not None:
                raise ctx.error("hdfs.codeC", "DataStream files are not compressed; use hdfs.fileType = "
                                "CompressedStream for a codec")
            self.file_type = DataStreamType(self._serializer(ctx))
        elif file_type == "CompressedStream":
            if codec is None:
                raise ctx.error("hdfs.codeC", "is required for hdfs.fileType = CompressedStream (gzip, deflate "
                                "or bzip2)")
            self.file_type = CompressedStreamType(self._serializer(ctx), codec)
        else:
            comp = (codec_name or "none").lower()
            if comp not in _PARQUET_CODECS:
                raise ctx.error("hdfs.codeC", f"{codec_name!r} is not a Parquet codec; expected one of: "
                                f"{', '.join(_PARQUET_CODECS)}")
            try:
                self.file_type = ParquetType(comp)
            except ImportError:
                raise ctx.error("hdfs.fileType", "Parquet needs pyarrow: pip install flumepy[parquet]") from None
        if s["hdfs.round"]:
            unit, value = s["hdfs.roundUnit"], s["hdfs.roundValue"]
            if value > (24 if unit == "hour" else 60):
                raise ctx.error("hdfs.roundValue", f"{value} is too large for roundUnit {unit} "
                                f"(at most {24 if unit == 'hour' else 60})")
        for key in ("serializer",):
            if key in ctx and file_type in ("SequenceFile", "Parquet"):
                ctx.warn(key, f"is used only with hdfs.fileType DataStream or CompressedStream, not {file_type}")

    def _serializer(self, ctx: Context) -> Any:
        from flumepy.serializers import build_serializer

        return build_serializer(ctx, "serializer", f"{self.name}.serializer", "TEXT", self.registry)

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        s = self.settings
        fs, self._root = filesystem_for(self.url)
        if self.filesystem is not None:
            fs = self.filesystem
        self.fs = fs
        in_use_suffix = "" if s["hdfs.emptyInUseSuffix"] else s["hdfs.inUseSuffix"]
        assert self.file_type is not None
        # Local files are written on the sink's thread: a pool hop costs a GIL hand-off each way.
        self._pool = (ThreadPoolExecutor(s["hdfs.threadsPoolSize"], thread_name_prefix=f"hdfs-{self.name}")
                      if fs.calls_can_hang else None)
        self._bctx = BucketContext(
            fs=fs, file_type=self.file_type, file_suffix=s["hdfs.fileSuffix"],
            in_use_prefix=s["hdfs.inUsePrefix"], in_use_suffix=in_use_suffix,
            roll_size=s["hdfs.rollSize"], roll_count=s["hdfs.rollCount"], call=self._call,
            on_close_failed=self._close_failed, counters=self.counters.values)
        self._root_template = compile_template(self._root) if self._root != self.url else self.path_template
        self._stopped = False
        super().start()
        log.info("hdfs sink %s writing %s files to %s", self.name, self.file_type.name, fs.url(self._root))
        # In-use files a crash left are recovered by the first process() call (never blocking start()).
        self._recovery_due = self.clock() if s["hdfs.recoverInUseFiles"] else None

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                super().stop()
                return
            self._stopped = True
            if self._inflight is not None:  # normally settled by the runner's thread before this
                try:
                    self._finish_inflight()
                except Exception as e:  # noqa: BLE001 - e.g. another thread's transaction: left uncommitted
                    log.warning("hdfs sink %s: the batch in flight at stop was not committed: %s", self.name, e)
            for key, bucket in list(self._buckets.items()):
                try:
                    bucket.flush()
                    bucket.close()
                except Exception as e:  # noqa: BLE001 - keep closing the others
                    log.error("hdfs sink %s: closing %s failed: %s", self.name, bucket.in_use_path, e)
                self._buckets.pop(key, None)
            for p in list(self._pending):
                self._retry_close(p, final_attempt=True)
            self._pending.clear()
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
        super().stop()

    # -- filesystem calls with hdfs.callTimeout --------------------------------------------------------
    def _call(self, fn: Callable[[], Any], what: str) -> Any:
        pool = self._pool
        if pool is None:
            return fn()
        timeout = self.settings["hdfs.callTimeout"] / 1000.0
        inflight = self._inflight
        if inflight is not None and not inflight.future.done():  # calls on a file stay in order
            futures_wait([inflight.future], timeout)
            if not inflight.future.done():
                raise TimeoutError(f"{what}: the write of the previous batch still runs after "
                                   f"{self.settings['hdfs.callTimeout']} ms (hdfs.callTimeout)")
        fut = pool.submit(fn)
        try:
            return fut.result(timeout=timeout)
        except FuturesTimeout:
            fut.cancel()
            raise TimeoutError(f"{what} timed out after {self.settings['hdfs.callTimeout']} ms "
                               "(hdfs.callTimeout)") from None

    def _close_failed(self, p: PendingClose) -> None:
        interval = self.settings["hdfs.retryInterval"]
        p.next_try = self.clock() + max(interval, 0)
        if p.stream is not None:
            try:
                p.stream.close()
            except Exception:  # noqa: BLE001 - the lease is recovered before the rename
                pass
            p.stream = None
        self._pending.append(p)

    def _retry_close(self, p: PendingClose, final_attempt: bool = False) -> bool:
        """Recover the lease and rename; True when done (or given up)."""
        s = self.settings
        fs = self.fs
        assert fs is not None
        tries = s["hdfs.closeTries"] if s["hdfs.retryInterval"] > 0 else 1
        try:
            self._call(lambda: fs.recover_lease(p.in_use), f"recovering the lease of {fs.url(p.in_use)}")
            if p.in_use != p.final:
                self._call(lambda: fs.rename(p.in_use, p.final), f"renaming {fs.url(p.in_use)}")
            log.info("hdfs sink %s: closed %s after %d attempts", self.name, fs.url(p.final), p.tries + 1)
            return True
        except Exception as e:  # noqa: BLE001 - retried later
            p.tries += 1
            if (tries > 0 and p.tries >= tries) or final_attempt:
                log.error("hdfs sink %s: giving up closing %s after %d attempts (%s); it is renamed when the "
                          "sink starts again", self.name, fs.url(p.in_use), p.tries, e)
                return True
            p.next_try = self.clock() + s["hdfs.retryInterval"]
            log.warning("hdfs sink %s: closing %s failed (%s); retrying in %ss", self.name, fs.url(p.in_use), e,
                        s["hdfs.retryInterval"])
            return False

    # -- processing --------------------------------------------------------------------------------
    def process(self) -> Status:
        with self._lock:
            now = self.clock()
            if self._recovery_due is not None and now >= self._recovery_due:
                self._try_recovery(now)
            self._check_timers(now)
            if not self.channel.overlapping_takes:
                return self.drain(self.batch_size, self._write)
            if self._pool is None:
                return self._drain_grouped()
            return self._drain_overlapped()

    def _drain_grouped(self) -> Status:
        """Local files (see the module docstring): take a group of batches (``_take_group``), write and
        sync them together, then commit them in order; a failed write rolls back all of them, the
        latest first.  The same counters as ``drain()``."""
        group, touched, failed = self._take_group(lambda: True)
        if group:
            try:
                self._flush(touched)
            except BaseException as e:
                self.counters.values["EventWriteFail"] += 1
                for tx, _ in reversed(group):
                    _end(tx, commit=False)
                raise self._delivery_error(sum(n for _, n in group), e) from e
            for tx, n in group:
                self._committed(tx, n)
        return self._outcome(group, failed)

    def _drain_overlapped(self) -> Status:
        """Take and encode a batch (and, while the write in flight still runs, more full batches: a
        group, as on local files), finish the write in flight, then start this group's write (see the
        module docstring); the same counters and outcomes as ``drain()``, one call later."""
        inflight = self._inflight
        group, touched, failed = self._take_group(
            lambda: inflight is not None and not inflight.future.done())
        if not group:
            if failed is None and self._inflight is not None:
                self._finish_inflight()
                return Status.READY
            if failed is not None:
                self._finish_inflight()
            return self._outcome(group, failed)
        writes = [(b, io) for b in touched if (io := b.flush_io()) is not None]
        txs = [tx for tx, _ in group]
        try:
            self._finish_inflight(later=txs)
        except BaseException:
            for tx in reversed(txs):
                if tx.state is TxState.OPEN:
                    _end(tx, commit=False)
            raise
        if writes:
            assert self._pool is not None
            self._inflight = _InFlight(group, self._pool.submit(_run_writes, writes), [b for b, _ in writes])
        else:  # nothing to write (all went to files that were closed meanwhile)
            for tx, n in group:
                self._committed(tx, n)
        if failed is not None:
            self._finish_inflight()  # the batches before the failed one: written and committed first
        return self._outcome(group, failed)

    def _take_group(self, more: Callable[[], bool]) -> tuple[
            list[tuple[Transaction, int]], dict[BucketWriter, None], tuple[int, BaseException] | None]:
        """Take a batch and append it to its buckets; while ``more()`` and the channel holds another
        full batch, take that too, each in its own transaction, up to GROUP_EVENTS events.  Returns the
        open transactions with their sizes, the buckets touched and, if a later batch
        could not be taken or appended (it was rolled back), its size and the error.  A failure of the
        first take is raised."""
        c = self.counters.values
        ch, size = self.channel, self.batch_size
        limit = max(GROUP_EVENTS, size)
        group: list[tuple[Transaction, int]] = []
        touched: dict[BucketWriter, None] = {}
        total = 0
        while True:
            tx = ch.transaction()
            tx.begin()
            try:
                events = tx.take_batch(size)
            except BaseException as e:
                _end(tx, commit=False)
                if not group:
                    raise
                return group, touched, (0, e)
            n = len(events)
            if not n:
                _end(tx, commit=True)
                return group, touched, None
            c["EventDrainAttemptCount"] += n
            try:
                touched.update(dict.fromkeys(self._append(events)))
            except BaseException as e:
                c["EventWriteFail"] += 1
                _end(tx, commit=False)
                return group, touched, (n, e)
            group.append((tx, n))
            total += n
            if n < size or total + size > limit or not more() or ch.size() < size:
                return group, touched, None

    def _outcome(self, group: list[tuple[Transaction, int]], failed: tuple[int, BaseException] | None) -> Status:
        """What a drain call returns (or raises) once its group was handled."""
        if failed is not None:
            n, cause = failed
            if isinstance(cause, EventDeliveryError) or not n:
                raise cause
            raise self._delivery_error(n, cause) from cause
        if not group:
            self.counters.values["BatchEmptyCount"] += 1
            return Status.BACKOFF
        return Status.READY

    def _finish_inflight(self, later: Sequence[Transaction] = ()) -> None:
        """Wait for the group in flight; commit its transactions, or roll them back (after ``later``,
        batches taken after it, so all return to the channel in their order) and raise
        EventDeliveryError."""
        inflight, self._inflight = self._inflight, None
        if inflight is None:
            return
        timeout = self.settings["hdfs.callTimeout"] / 1000.0
        try:
            inflight.future.result(timeout)
        except BaseException as e:
            self.counters.values["EventWriteFail"] += 1
            for tx in reversed(later):
                _end(tx, commit=False)
            for tx, _ in reversed(inflight.group):
                _end(tx, commit=False)
            failed: list[BucketWriter]
            cause: BaseException
            if isinstance(e, FuturesTimeout):
                inflight.future.cancel()
                failed, cause = inflight.buckets, TimeoutError(
                    f"write timed out after {self.settings['hdfs.callTimeout']} ms (hdfs.callTimeout)")
            elif isinstance(e, _WriteFailed):
                failed, cause = [e.bucket], e.cause
            else:
                failed, cause = inflight.buckets, e
            for bucket in failed:
                self._drop_bucket(bucket)
            raise self._delivery_error(sum(n for _, n in inflight.group), cause) from cause
        for tx, n in inflight.group:
            self._committed(tx, n)

    def _committed(self, tx: Transaction, n: int) -> None:
        _end(tx, commit=True)
        c = self.counters.values
        c["EventDrainSuccessCount"] += n
        c["BatchUnderflowCount" if n < self.batch_size else "BatchCompleteCount"] += 1

    def settle(self) -> None:
        with self._lock:
            try:
                self._finish_inflight()
            except EventDeliveryError as e:
                log.error("hdfs sink %s: %s", self.name, e)

    def _delivery_error(self, n: int, e: BaseException) -> EventDeliveryError:
        return EventDeliveryError(f"writing {n} events to {self.url} failed: {type(e).__name__}: {e}; the batch "
                                  "was rolled back and will be retried")

    def _drop_bucket(self, bucket: BucketWriter) -> None:
        """Close a bucket whose write failed (its close is retried later) and forget it."""
        bucket.abandon()
        for key, b in list(self._buckets.items()):
            if b is bucket:
                del self._buckets[key]

    def _try_recovery(self, now: float) -> None:
        try:
            self.recover_in_use_files()
            self._recovery_due = None
        except Exception as e:  # noqa: BLE001 - recovery must not keep the sink from running
            self._recovery_due = now + RECOVERY_RETRY
            log.warning("hdfs sink %s: looking for in-use files left by a crash failed (retrying in %ds): %s",
                        self.name, RECOVERY_RETRY, e)

    def _check_timers(self, now: float) -> None:
        s = self.settings
        interval, idle = s["hdfs.rollInterval"], s["hdfs.idleTimeout"]
        if interval > 0 or idle > 0:
            for key, b in list(self._buckets.items()):
                if not b.is_open:
                    continue
                if interval > 0 and now >= b.opened_at + interval:
                    why = "rollInterval"
                elif idle > 0 and now >= b.last_write + idle:
                    why = "idleTimeout"
                else:
                    continue
                log.debug("hdfs sink %s: %s reached for %s", self.name, why, b.in_use_path)
                del self._buckets[key]
                try:
                    b.close()
                except Exception as e:  # noqa: BLE001 - queued for retry by close()
                    log.warning("hdfs sink %s: closing %s (%s) failed: %s", self.name, b.in_use_path, why, e)
        if self._pending:
            self._pending = [p for p in self._pending if now < p.next_try or not self._retry_close(p)]

    def _bucket(self, key: str, directory: str, prefix: str, now: float) -> BucketWriter:
        b = self._buckets.get(key)
        if b is not None:
            self._buckets.move_to_end(key)
            return b
        assert self._bctx is not None
        b = BucketWriter(self._bctx, directory, prefix, int(now * 1000))
        self._buckets[key] = b
        while len(self._buckets) > self.settings["hdfs.maxOpenFiles"]:
            _, old = self._buckets.popitem(last=False)
            log.debug("hdfs sink %s: maxOpenFiles reached, closing %s", self.name, old.in_use_path)
            try:
                old.flush()
                old.close()
            except Exception as e:  # noqa: BLE001 - queued for retry by close()
                log.warning("hdfs sink %s: closing %s failed: %s", self.name, old.in_use_path, e)
        return b

    def _resolve(self, events: Sequence[Event], now: float) -> Mapping[str, tuple[str, str, Sequence[Event]]]:
        """Group events by bucket: key -> (directory, file prefix, events)."""
        path_t, prefix_t = self._root_template, self.prefix_template
        if path_t.is_constant and prefix_t.is_constant:
            d = path_t.render({}, None, None, self._host)
            p = prefix_t.render({}, None, None, self._host)
            return {join_path(d, p): (d, p, events)}
        s = self.settings
        tz, host = self.tz, self._host
        needs_time = path_t.needs_time or prefix_t.needs_time
        local = s["hdfs.useLocalTimeStamp"]
        now_ms = int(now * 1000)
        # The bucket depends on the timestamp and the headers the escapes name, nothing else: read
        # those as columns (a Kafka batch gives them without making events) and render each distinct
        # combination once.  A batch that falls in one bucket (the usual case) is passed on whole.
        names = list(dict.fromkeys(v for t in (path_t, prefix_t) for kind, v in t.parts if kind == "hdr"))
        wanted = (["timestamp"] if needs_time and not local else []) + names
        columns = [header_values_of(events, name) for name in wanted]
        index: Sequence[tuple[str | None, ...]] = list(zip(*columns)) if columns else [()] * len(events)
        keys: dict[tuple[str | None, ...], tuple[str, str, str]] = {}
        for values in dict.fromkeys(index):
            ts: int | None = None
            if needs_time:
                ts = now_ms if local else self._timestamp_of(values[0])
                if s["hdfs.round"]:
                    ts = round_down(ts, s["hdfs.roundUnit"], s["hdfs.roundValue"], tz)
            headers = {n: v for n, v in zip(names, values[len(values) - len(names):]) if v is not None}
            d = path_t.render(headers, ts, tz, host)
            p = prefix_t.render(headers, ts, tz, host)
            keys[values] = (join_path(d, p), d, p)
        buckets = set(keys.values())
        if len(buckets) == 1:
            key, d, p = buckets.pop()
            return {key: (d, p, events)}
        groups: dict[str, tuple[str, str, list[Event]]] = {}
        for e, values in zip(events, index):
            key, d, p = keys[values]
            g = groups.get(key)
            if g is None:
                groups[key] = (d, p, [e])
            else:
                g[2].append(e)
        return groups

    def _timestamp_of(self, raw: str | None) -> int:
        if raw is None:
            raise EventDeliveryError(
                f"an event has no 'timestamp' header, which the time escapes in hdfs.path/"
                f"hdfs.filePrefix ({self.url!r}) need; add a timestamp interceptor to the source "
                f"(interceptors = ts, interceptors.ts.type = timestamp) or set "
                f"{self._full_prefix}hdfs.useLocalTimeStamp = true")
        try:
            return int(raw)
        except ValueError:
            raise EventDeliveryError(f"the 'timestamp' header {raw!r} is not epoch milliseconds") from None

    def _write(self, events: Sequence[Event]) -> None:
        """Encode, write and sync a batch, waiting for it (channels without overlapping takes)."""
        try:
            self._flush(self._append(events))
        except Exception as e:
            if isinstance(e, EventDeliveryError):
                raise
            raise self._delivery_error(len(events), e) from e

    def _flush(self, buckets: Iterable[BucketWriter]) -> None:
        """Write and sync what ``buckets`` were given since their last flush, in order, waiting for
        each; a bucket whose write failed is closed and forgotten, and the error raised."""
        for bucket in buckets:
            io = bucket.flush_io()
            if io is None:
                continue
            try:
                self._call(io, bucket.writing())
            except Exception:
                self._drop_bucket(bucket)
                raise

    def _append(self, events: Sequence[Event]) -> list[BucketWriter]:
        """Append a batch to its buckets (opening and rolling files as needed); the buckets touched.
        A bucket that failed here is closed and forgotten."""
        now = self.clock()
        groups = self._resolve(events, now)
        touched: list[BucketWriter] = []
        bucket: BucketWriter | None = None
        try:
            for key, (d, p, evs) in groups.items():
                bucket = self._bucket(key, d, p, now)
                bucket.append(evs, now)
                touched.append(bucket)
        except Exception:
            if bucket is not None:
                self._drop_bucket(bucket)
            raise
        return touched

    # -- crash recovery -------------------------------------------------------------------------------
    def _in_use_pattern(self) -> re.Pattern[str] | None:
        s = self.settings
        in_pre = s["hdfs.inUsePrefix"]
        in_suf = "" if s["hdfs.emptyInUseSuffix"] else s["hdfs.inUseSuffix"]
        if not in_pre and not in_suf:
            return None  # open and closed files look the same
        assert self._bctx is not None
        prefix = "".join(re.escape(v) if k == "lit" else ".*?" for k, v in self.prefix_template.parts)
        return re.compile(f"^{re.escape(in_pre)}({prefix}\\.\\d+{re.escape(self._bctx.final_suffix())})"
                          f"{re.escape(in_suf)}$")

    def recover_in_use_files(self, max_dirs: int = 10000) -> list[str]:
        """Rename in-use files a crash left under the escape-free part of the path; returns new paths."""
        fs = self.fs
        assert fs is not None
        pattern = self._in_use_pattern()
        if pattern is None:
            log.info("hdfs sink %s: no in-use prefix/suffix, so files left open by a crash cannot be told apart; "
                     "not recovering", self.name)
            return []
        template = self._root_template
        base = template.literal_prefix()
        recursive = not template.is_constant
        if recursive:
            base = base[:base.rfind("/") + 1] or "/"
        call = self._call
        if not call(lambda: fs.exists(base), f"checking {fs.url(base)}"):
            return []
        mine = {b.in_use_path for b in self._buckets.values() if b.is_open} | {p.in_use for p in self._pending}
        recovered: list[str] = []
        todo, seen = [base], 0
        while todo and seen < max_dirs:
            d = todo.pop()
            seen += 1
            for info in call(partial(fs.list, d), f"listing {fs.url(d)}"):
                if info.path in mine:
                    continue
                name = info.path.rstrip("/").rsplit("/", 1)[-1]
                if info.is_dir:
                    if recursive:
                        todo.append(info.path)
                    continue
                m = pattern.match(name)
                if m is None:
                    continue
                final = join_path(info.path.rsplit("/", 1)[0], m.group(1))
                if self._recover_one(fs, info.path, final):
                    recovered.append(final)
        if todo:
            log.warning("hdfs sink %s: stopped looking for in-use files after %d directories", self.name, max_dirs)
        return recovered

    def _recover_one(self, fs: FileSystem, in_use: str, final: str) -> bool:
        call = self._call
        if call(lambda: fs.exists(final), f"checking {fs.url(final)}"):
            log.warning("hdfs sink %s: in-use file %s left by a crash was not renamed: %s exists", self.name,
                        fs.url(in_use), fs.url(final))
            return False
        for attempt in range(20):
            if call(lambda: fs.recover_lease(in_use), f"recovering the lease of {fs.url(in_use)}"):
                break
            self.sleep(min(0.25 * (attempt + 1), 2.0))
        call(lambda: fs.rename(in_use, final), f"renaming {fs.url(in_use)}")
        log.warning("hdfs sink %s: renamed %s, left open by an earlier crash, to %s", self.name, fs.url(in_use),
                    fs.url(final))
        return True


def _zone(ctx: Context, name: str) -> tzinfo | None:
    name = name.strip()
    if not name:
        return None
    m = re.fullmatch(r"(?:GMT|UTC)([+-])(\d{1,2})(?::?(\d{2}))?", name, re.I)
    if m:
        delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3) or 0))
        return timezone(-delta if m.group(1) == "-" else delta)
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ctx.error("hdfs.timeZone", f"{name!r} is not a known time zone (e.g. UTC, Europe/Paris, "
                        "America/New_York, GMT+02:00)") from None


__all__ = ["HDFSEventSink"]


class _InFlight:
    """Batches taken and encoded (each in its open transaction, with its size) whose writes run in the
    pool; committed by the next process() call."""

    __slots__ = ("group", "future", "buckets")

    def __init__(self, group: list[tuple[Transaction, int]], future: Future[None], buckets: list[BucketWriter]) -> None:
        self.group = group
        self.future = future
        self.buckets = buckets


class _WriteFailed(Exception):
    def __init__(self, bucket: BucketWriter, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.bucket = bucket
        self.cause = cause


def _run_writes(writes: list[tuple[BucketWriter, Callable[[], None]]]) -> None:
    """Run a batch's writes in order (in the pool), naming the bucket that failed."""
    for bucket, io in writes:
        try:
            io()
        except Exception as e:
            raise _WriteFailed(bucket, e) from e


def _end(tx: Transaction, commit: bool) -> None:
    """Commit (rolling back if that fails) or roll back, then close."""
    try:
        if commit:
            try:
                tx.commit()
            except BaseException:
                tx.rollback()
                raise
        else:
            tx.rollback()
    finally:
        tx.close()
