"""Type ``spooldir``: Flume's SpoolDirectorySource — ingests files dropped into a directory, then marks them done.

Keys (Flume 1.11):

========================  =======  ===========  ============================================================
key                       type     default      meaning
========================  =======  ===========  ============================================================
spoolDir                  string   required     Directory to ingest.
fileSuffix                string   .COMPLETED   Appended to a file's name once it is ingested.
deletePolicy              string   never        ``never`` (rename) or ``immediate`` (delete when done).
trackingPolicy            string   rename       ``rename`` or ``tracker_dir`` (empty marker in trackerDir).
fileHeader                bool     false        Header with the file's absolute path ...
fileHeaderKey             string   file         ... under this name.
basenameHeader            bool     false        Header with the file's name ...
basenameHeaderKey         string   basename     ... under this name.
includePattern            regex    ^.*$         File names to ingest (full match).
ignorePattern             regex    ^$           File names to skip (wins over includePattern).
trackerDir                string   .flumespool  Metadata directory (relative: inside spoolDir).
consumeOrder              string   oldest       ``oldest``, ``youngest`` (by mtime, ties by name), ``random``.
pollDelay                 int      500          ms between directory scans when idle.
recursiveDirectorySearch  bool     false        Also ingest files in subdirectories.
maxBackoff                int      4000         Longest wait (ms) between retries on a full channel.
batchSize                 int      100          Events per channel transaction.
inputCharset              charset  UTF-8        Charset of text files.
decodeErrorPolicy         string   FAIL         ``FAIL``, ``REPLACE`` (U+FFFD) or ``IGNORE`` invalid input.
deserializer              string   LINE         ``LINE``, ``BLOB``, ``AVRO`` or a class; options under
                                                ``deserializer.`` (``maxLineLength``, ``outputCharset``,
                                                ``maxBlobLength``, ``schemaType``).
========================  =======  ===========  ============================================================

Hidden files, files already ending in ``fileSuffix`` and ignored names are skipped.  The byte offset
reached in the current file is stored in ``<trackerDir>/.flumespool-main.meta`` (Flume's Avro
TransferStateFileMeta format) after every channel commit, so a restart resumes mid-file: nothing is
lost, and only a batch that was not yet committed is read again.  Files must not change once they
are in the directory: a file whose size or modification time changed while it was read is an error
that stops that file (it is logged and left as it is); other files go on.  A file whose done name
(``name.COMPLETED``) already exists is refused with an error, before it is read.
"""

from __future__ import annotations

import logging
import os
import random
import re
import threading
from dataclasses import dataclass
from typing import IO, Any

import fastavro

from flumepy.core.component import EventDrivenSource
from flumepy.core.context import Context, Prop
from flumepy.core.errors import ChannelError
from flumepy.core.event import Event
from flumepy.deserializers import ERROR_HANDLERS, DecodeError, DeserializerReader, EventDeserializer, build_deserializer

log = logging.getLogger(__name__)

META_NAME = ".flumespool-main.meta"
META_SCHEMA = fastavro.parse_schema({
    "type": "record", "name": "TransferStateFileMeta", "namespace": "org.apache.flume.serialization",
    "fields": [{"name": "offset", "type": "long"}],
})


class SpoolError(Exception):
    """A file breaks the spooling rules (changed while read, done name taken, ...)."""


class PositionTracker:
    """Flume's DurablePositionTracker: an Avro file with metadata ``file`` and one ``offset`` record per commit."""

    def __init__(self, meta: str, target: str) -> None:
        self.meta = meta
        self.target = target
        self.position = 0
        stored = _read_meta(meta)
        if stored is not None and stored[0] == target:
            self.position = stored[1]
        # Start a fresh file holding just the current position (drops a torn tail from a crash).
        tmp = meta + ".tmp"
        with open(tmp, "wb") as f:
            w = fastavro.write.Writer(f, META_SCHEMA, metadata={"file": target})
            w.write({"offset": self.position})
            w.flush()
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, meta)
        self._f: IO[bytes] = open(meta, "a+b")  # noqa: SIM115 - kept open for appends
        self._w = fastavro.write.Writer(self._f, META_SCHEMA)

    def store(self, position: int) -> None:
        self.position = position
        self._w.write({"offset": position})
        self._w.flush()
        self._f.flush()

    def close(self) -> None:
        try:
            self._f.close()
        except OSError:
            pass


def _read_meta(meta: str) -> tuple[str, int] | None:
    """(target, last offset) from a tracker file, tolerating a torn last block; None if absent/empty."""
    try:
        f = open(meta, "rb")  # noqa: SIM115
    except FileNotFoundError:
        return None
    with f:
        try:
            r = fastavro.reader(f)
        except Exception:
            return None
        target = r.metadata.get("file", "")
        if isinstance(target, bytes):
            target = target.decode("utf-8", "replace")
        offset = 0
        try:
            for rec in r:
                offset = int(rec["offset"])  # type: ignore[index,call-overload,arg-type]
        except Exception:
            log.warning("spooldir: tracker file %s ends with a damaged record; using offset %d", meta, offset)
        return target, offset


@dataclass
class _Current:
    path: str
    size: int
    mtime: int
    stream: IO[bytes]
    reader: DeserializerReader
    tracker: PositionTracker
    first: bool = True


class SpoolDirectorySource(EventDrivenSource):
    """Reads each file of spoolDir once, in consumeOrder, and renames or deletes it when done."""

    TYPE_NAME = "spooldir"

    PROPS = (
        Prop("spoolDir", "string", None, "Directory to ingest.", required=True),
        Prop("fileSuffix", "string", ".COMPLETED", "Suffix appended to ingested files."),
        Prop("deletePolicy", "string", "never", "never (rename) or immediate (delete).",
             choices=("never", "immediate")),
        Prop("trackingPolicy", "string", "rename", "rename, or tracker_dir (marker file in trackerDir).",
             choices=("rename", "tracker_dir")),
        Prop("fileHeader", "bool", False, "Add a header with the file's absolute path."),
        Prop("fileHeaderKey", "string", "file", "Name of the file header."),
        Prop("basenameHeader", "bool", False, "Add a header with the file's name."),
        Prop("basenameHeaderKey", "string", "basename", "Name of the basename header."),
        Prop("includePattern", "regex", re.compile("^.*$"), "File names to ingest (full match)."),
        Prop("ignorePattern", "regex", re.compile("^$"), "File names to skip (wins over includePattern)."),
        Prop("trackerDir", "string", ".flumespool", "Metadata directory (relative paths are inside spoolDir)."),
        Prop("consumeOrder", "string", "oldest", "Which file next: oldest, youngest (by mtime) or random.",
             choices=("oldest", "youngest", "random")),
        Prop("pollDelay", "int", 500, "Milliseconds between directory scans when idle.", min=1),
        Prop("recursiveDirectorySearch", "bool", False, "Also ingest files in subdirectories."),
        Prop("maxBackoff", "int", 4000, "Longest wait in ms between retries when the channel is full.", min=1),
        Prop("batchSize", "int", 100, "Events per channel transaction.", min=1),
        Prop("inputCharset", "charset", "utf-8", "Character set of text files."),
        Prop("decodeErrorPolicy", "string", "FAIL", "FAIL, REPLACE (U+FFFD) or IGNORE invalid input.",
             choices=("FAIL", "REPLACE", "IGNORE")),
        Prop("deserializer", "string", "LINE", "LINE, BLOB, AVRO, or a deserializer class."),
        Prop("deserializer.", "string", None, "Options of the deserializer.", prefix=True),
        Prop("bufferMaxLines", "int", None, "Deprecated in Flume.", ignored="deprecated in Flume, has no effect"),
        Prop("bufferMaxLineLength", "int", None, "Deprecated: deserializer.maxLineLength for LINE."),
    )

    registry: Any = None

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.batch_size = 100
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._current: _Current | None = None
        self.failed: dict[str, str] = {}  # path -> why it was stopped
        self._working_on = ""
        self.deserializer: EventDeserializer | None = None

    # -- configuration ----------------------------------------------------------------------------
    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        self.spool_dir = os.path.normpath(os.path.expanduser(s["spoolDir"].strip()))
        if not s["spoolDir"].strip():
            raise ctx.error("spoolDir", "is required (the directory to ingest)")
        self.suffix = s["fileSuffix"]
        if not self.suffix:
            raise ctx.error("fileSuffix", "must not be empty")
        tracker = os.path.expanduser(s["trackerDir"])
        self.tracker_dir = tracker if os.path.isabs(tracker) else os.path.join(self.spool_dir, tracker)
        self.batch_size = s["batchSize"]
        self.include = s["includePattern"]
        self.ignore = s["ignorePattern"]
        self.order = s["consumeOrder"]
        self.poll_delay = s["pollDelay"] / 1000.0
        self.max_backoff = s["maxBackoff"] / 1000.0
        self.recursive = s["recursiveDirectorySearch"]
        self.delete = s["deletePolicy"] == "immediate"
        self.tracker_marks = s["trackingPolicy"] == "tracker_dir"
        self.file_header = s["fileHeaderKey"] if s["fileHeader"] else None
        self.base_header = s["basenameHeaderKey"] if s["basenameHeader"] else None
        self.charset = s["inputCharset"]
        self.errors = ERROR_HANDLERS[s["decodeErrorPolicy"]]
        dctx = ctx
        if s["bufferMaxLineLength"] is not None and (s["deserializer"] or "LINE").strip().upper() == "LINE":
            ctx.warn("bufferMaxLineLength", "is deprecated; use deserializer.maxLineLength instead")
            if "deserializer.maxLineLength" not in ctx:
                dctx = ctx.with_values({"deserializer.maxLineLength": str(s["bufferMaxLineLength"])})
        self.deserializer = build_deserializer(dctx, "deserializer", f"{self.name}.deserializer",
                                               registry=self.registry)
        if dctx is not ctx:
            ctx.problems.extend(dctx.problems)
        if hasattr(self.deserializer, "out_cs"):
            cs = self.charset
            if "\n".encode(cs) != b"\n":
                raise ctx.error("inputCharset", f"{cs} does not spell a newline as one byte; the LINE "
                                                "deserializer reads ASCII-compatible charsets")

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        if not os.path.isdir(self.spool_dir):
            raise OSError(f"spooldir source {self.name}: spooling directory {self.spool_dir} does not exist "
                          "or is not a directory")
        os.makedirs(self.tracker_dir, exist_ok=True)
        meta = os.path.join(self.tracker_dir, META_NAME)
        if os.path.exists(meta) and os.path.getsize(meta) == 0:
            os.remove(meta)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"spooldir-{self.name}", daemon=True)
        self._thread.start()
        super().start()
        log.info("spooldir source %s started: directory %s", self.name, self.spool_dir)

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            if self.lifecycle == "START":
                super().stop()
            return
        self._stopping.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("spooldir source %s: reader thread did not stop within %.1fs", self.name, timeout)
        self._thread = None
        self._close_current()
        super().stop()
        log.info("spooldir source %s stopped", self.name)

    # -- choosing files ---------------------------------------------------------------------------
    def candidates(self) -> list[tuple[str, os.stat_result]]:
        marks: set[str] = set()
        if self.tracker_marks:
            for root, _dirs, files in os.walk(self.tracker_dir):
                marks.update(os.path.join(root, f) for f in files if f.endswith(self.suffix))
        out: list[tuple[str, os.stat_result]] = []
        stack = [self.spool_dir]
        tracker = os.path.abspath(self.tracker_dir)
        while stack:
            d = stack.pop()
            try:
                entries = list(os.scandir(d))
            except OSError as err:
                log.error("spooldir source %s: cannot list %s: %s", self.name, d, err)
                self.counters.values["GenericProcessingFail"] += 1
                continue
            for e in entries:
                n = e.name
                if n.startswith("."):
                    continue
                if e.is_dir(follow_symlinks=True):
                    if self.recursive and not self.ignore.fullmatch(n) and os.path.abspath(e.path) != tracker:
                        stack.append(e.path)
                    continue
                if n.endswith(self.suffix) or not self.include.fullmatch(n) or self.ignore.fullmatch(n):
                    continue
                if e.path in self.failed:
                    continue
                if marks and self._mark_path(e.path) in marks:
                    continue
                try:
                    out.append((e.path, e.stat()))
                except OSError:
                    continue
        return out

    def _mark_path(self, path: str) -> str:
        return os.path.join(self.tracker_dir, os.path.relpath(path, self.spool_dir)) + self.suffix

    def _next_file(self) -> str | None:
        cands = self.candidates()
        if not cands:
            return None
        if self.order == "random":
            return random.choice(cands)[0]
        ms = [(c[1].st_mtime_ns // 1_000_000, os.path.basename(c[0]), c[0]) for c in cands]
        if self.order == "oldest":
            return min(ms)[2]
        return min(ms, key=lambda m: (-m[0], m[1]))[2]

    def _open(self, path: str) -> _Current | None:
        assert self.deserializer is not None
        done = path + self.suffix
        if not self.delete and not self.tracker_marks and os.path.exists(done):
            raise SpoolError(f"{done} already exists: file name {os.path.basename(path)} was used twice "
                             "(spooled files must have unique names); the file is not read")
        try:
            stream = open(path, "rb")  # noqa: SIM115 - closed in _close_current
        except FileNotFoundError:
            return None
        st = os.fstat(stream.fileno())
        tracker = PositionTracker(os.path.join(self.tracker_dir, META_NAME), path)
        offset = tracker.position
        if offset:
            if offset > st.st_size:
                stream.close()
                tracker.close()
                raise SpoolError(f"{path} is shorter ({st.st_size} bytes) than the position {offset} reached "
                                 "before the restart: it was changed after it was picked up")
            log.info("spooldir source %s: resuming %s at byte %d", self.name, path, offset)
        else:
            log.info("spooldir source %s: reading %s", self.name, path)
        try:
            reader = self.deserializer.open(stream, offset, self.charset, self.errors)
        except Exception as e:
            stream.close()
            tracker.close()
            raise SpoolError(f"cannot read {path}: {e}") from e
        return _Current(path, st.st_size, st.st_mtime_ns, stream, reader, tracker, first=offset == 0)

    def _close_current(self) -> None:
        cur, self._current = self._current, None
        if cur is not None:
            cur.reader.close()
            cur.stream.close()
            cur.tracker.close()

    def _retire(self, cur: _Current) -> None:
        """Check the file did not change, then rename (or mark, or delete) it and drop the tracker."""
        try:
            st = os.stat(cur.path)
        except FileNotFoundError:
            raise SpoolError(f"{cur.path} disappeared while it was being read") from None
        if st.st_mtime_ns // 1_000_000 != cur.mtime // 1_000_000:
            raise SpoolError(f"file has been modified since being read: {cur.path}")
        if st.st_size != cur.size:
            raise SpoolError(f"file has changed size since being read: {cur.path} "
                             f"({cur.size} -> {st.st_size} bytes)")
        self._close_current()
        if self.delete:
            os.remove(cur.path)
            log.info("spooldir source %s: deleted %s", self.name, cur.path)
        elif self.tracker_marks:
            mark = self._mark_path(cur.path)
            if os.path.exists(mark):
                raise SpoolError(f"{mark} already exists: file name reused; spooling assumptions violated")
            os.makedirs(os.path.dirname(mark), exist_ok=True)
            open(mark, "xb").close()
        else:
            dest = cur.path + self.suffix
            if os.path.exists(dest):
                raise SpoolError(f"file name has been re-used with different files: {dest} already exists")
            os.rename(cur.path, dest)
            log.info("spooldir source %s: %s done, renamed to %s", self.name, cur.path, dest)
        try:
            os.remove(os.path.join(self.tracker_dir, META_NAME))
        except FileNotFoundError:
            pass

    # -- the reading loop -------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = self._step()
            except SpoolError as e:
                self._fail(str(e))
                continue
            except DecodeError as e:
                self._fail(f"{e} (decodeErrorPolicy = FAIL)", read=True)
                continue
            except Exception as e:
                log.exception("spooldir source %s: unexpected error", self.name)
                self._fail(f"{type(e).__name__}: {e}")
                self._stopping.wait(self.poll_delay)
                continue
            if not busy:
                self._stopping.wait(self.poll_delay)

    def _fail(self, why: str, read: bool = False) -> None:
        path = self._working_on
        self.counters.values["EventReadFail" if read else "GenericProcessingFail"] += 1
        log.error("spooldir source %s: FATAL for file %s: %s. The file is left as it is; fix or remove it "
                  "(and restart the agent) to ingest it. Other files go on.", self.name, path or "?", why)
        self._close_current()
        if path:
            self.failed[path] = why

    def _step(self) -> bool:
        """Read and deliver one batch; False when there was nothing to do."""
        cur = self._current
        if cur is None:
            path = self._next_file()
            if path is None:
                return False
            self._working_on = path
            cur = self._open(path)
            if cur is None:
                return True
            self._current = cur
        events = cur.reader.read(self.batch_size)
        if not events:
            if cur.first:
                events = [Event(b"")]  # Flume sends one empty event for an empty file
            else:
                self._retire(cur)
                self._working_on = ""
                return True
        cur.first = False
        if self.file_header or self.base_header:
            extra = {}
            if self.file_header:
                extra[self.file_header] = os.path.abspath(cur.path)
            if self.base_header:
                extra[self.base_header] = os.path.basename(cur.path)
            for e in events:
                e.headers.update(extra)
        if not self._deliver(events):
            return True
        cur.tracker.store(cur.reader.offset)
        return True

    def _deliver(self, events: list[Event]) -> bool:
        c = self.counters.values
        c["EventReceivedCount"] += len(events)
        c["AppendBatchReceivedCount"] += 1
        delay = 0.25
        warned = False
        while True:
            try:
                self.channel_processor.process_batch(events)
            except ChannelError as e:
                c["ChannelWriteFail"] += 1
                if not warned:
                    log.warning("spooldir source %s: channel put failed, retrying: %s", self.name, e)
                    warned = True
                if self._stopping.wait(delay):
                    log.info("spooldir source %s: stopping; %d events not committed are read again on restart",
                             self.name, len(events))
                    return False
                delay = min(delay * 2, self.max_backoff)
                continue
            c["EventAcceptedCount"] += len(events)
            c["AppendBatchAcceptedCount"] += 1
            return True
