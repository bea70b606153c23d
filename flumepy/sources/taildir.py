"""Type ``TAILDIR``: Flume's TaildirSource — follows files matched by per-group regexes, line by line.

Keys (Flume 1.11):

========================  =======  ==============================  ==========================================
key                       type     default                         meaning
========================  =======  ==============================  ==========================================
filegroups                list     required                        Space-separated file group names.
filegroups.<g>            string   required                        ``/dir/regex``: the regex (full match) applies
                                                                   to the file-name part only.
positionFile              string   ~/.flume/taildir_position.json  JSON ``[{"inode":..,"pos":..,"file":..}]``.
headers.<g>.<key>         string   (none)                          Static header for events of group g.
byteOffsetHeader          bool     false                           Header ``byteoffset``: the line's start offset.
skipToEnd                 bool     false                           Files not in the position file start at EOF.
idleTimeout               int      120000                          ms without growth before a file is closed.
writePosInterval          int      3000                            ms between position-file writes.
batchSize                 int      100                             Lines per channel transaction.
maxBatchCount             int      Long.MAX_VALUE                  Batches read from one file before the next.
cachePatternMatching      bool     true                            Re-list a directory only when it changed.
fileHeader                bool     false                           Header with the file's absolute path.
fileHeaderKey             string   file                            Name of that header.
backoffSleepIncrement     int      1000                            ms added to the idle poll interval.
maxBackoffSleep           int      5000                            Longest idle poll interval (ms).
========================  =======  ==============================  ==========================================

Files are identified by inode, so a renamed file keeps its position and is read to its end even when
its new name no longer matches (rename rotation); a file that shrinks below its position was
truncated (copytruncate rotation) and is read again from the start.  Only complete lines become
events; a line without its newline waits.  The position of a file advances only after the channel
committed its events, so a restart never skips a line.  Positions are written every
``writePosInterval`` ms, whenever the source has caught up with its files, and on stop.  File events
(watchdog) wake the source at once; without them it polls with the backoff above.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flumepy.core.component import POLL_PROPS, EventDrivenSource
from flumepy.core.context import Context, Prop
from flumepy.core.delivery import deliver
from flumepy.core.event import Event, EventBatch

log = logging.getLogger(__name__)

READ_SIZE = 1 << 20
BYTE_OFFSET_KEY = "byteoffset"
LONG_MAX = 2**63 - 1


@dataclass
class FileGroup:
    name: str
    directory: str
    pattern: re.Pattern[str]
    headers: dict[str, str]
    cache: bool = True
    _mtime: int = -1
    _names: list[str] = field(default_factory=list)

    def names(self) -> list[str]:
        """File names in the directory that match, re-listed only when the directory changed."""
        try:
            mtime = os.stat(self.directory).st_mtime_ns
        except OSError:
            self._mtime, self._names = -1, []
            return []
        # A listing taken in the same clock tick as the directory's last change may miss a file.
        if not self.cache or mtime != self._mtime or time.time_ns() - mtime < 2_000_000_000:
            try:
                with os.scandir(self.directory) as it:
                    self._names = sorted(e.name for e in it if self.pattern.fullmatch(e.name))
            except OSError:
                self._names = []
            self._mtime = mtime
        return self._names


class TailFile:
    """One followed file: an open descriptor, the committed position and the lines read ahead."""

    __slots__ = ("inode", "path", "group", "fd", "pos", "read_off", "pending", "pidx", "tail",
                 "cr", "matched", "last_change", "size_seen")

    def __init__(self, inode: int, path: str, group: FileGroup, pos: int) -> None:
        self.inode = inode
        self.path = path
        self.group = group
        self.fd: int | None = None
        self.pos = pos  # committed: offset of the first byte not yet delivered
        self.read_off = pos  # offset of the first byte not yet read
        self.pending: list[bytes] = []  # complete lines read, not yet delivered (raw, without "\n")
        self.pidx = 0
        self.tail = b""  # bytes after the last newline read
        self.cr = False
        self.matched = True
        self.last_change = time.monotonic()
        self.size_seen = -1

    def open(self) -> None:
        if self.fd is None:
            self.fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            self.reset(self.pos)

    def close(self) -> None:
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None
        self.reset(self.pos)

    def reset(self, pos: int) -> None:
        self.pos = self.read_off = pos
        self.pending, self.pidx, self.tail = [], 0, b""

    def buffered(self) -> int:
        return len(self.pending) - self.pidx

    def fill(self, want: int) -> bool:
        """Read until ``want`` complete lines are buffered or EOF; False when nothing new was read."""
        assert self.fd is not None
        got = False
        if self.pidx and self.pidx == len(self.pending):
            self.pending, self.pidx = [], 0
        while self.buffered() < want:
            if not self.pending:
                size = os.fstat(self.fd).st_size
                if size < self.read_off:
                    log.info("taildir: %s (inode %d) shrank from %d to %d bytes (truncated): reading it "
                             "again from the start", self.path, self.inode, self.read_off, size)
                    self.reset(0)
            data = os.pread(self.fd, READ_SIZE, self.read_off)
            if not data:
                break
            got = True
            self.read_off += len(data)
            if b"\r" in data:
                self.cr = True
            if b"\n" not in data:
                self.tail += data
                continue
            parts = (self.tail + data if self.tail else data).split(b"\n")
            self.tail = parts.pop()
            if self.pidx:
                del self.pending[:self.pidx]
                self.pidx = 0
            self.pending.extend(parts)
        if self.size_seen != self.read_off:
            self.last_change = time.monotonic()
            self.size_seen = self.read_off
        return got


class TaildirSource(EventDrivenSource):
    """Tails every file matched by the file groups; one event per line."""

    TYPE_NAME = "TAILDIR"

    PROPS = (
        Prop("filegroups", "list", None, "Space-separated list of file group names.", required=True),
        Prop("filegroups.", "string", None, "filegroups.<g>: /dir/regex (regex on the file-name part).",
             prefix=True),
        Prop("headers.", "string", None, "headers.<g>.<key>: static header for events of group g.", prefix=True),
        Prop("positionFile", "string", "~/.flume/taildir_position.json", "JSON file with each file's position."),
        Prop("batchSize", "int", 100, "Lines per channel transaction.", min=1),
        Prop("skipToEnd", "bool", False, "Start files missing from the position file at their end."),
        Prop("idleTimeout", "int", 120000, "Milliseconds without growth before a file is closed.", min=0),
        Prop("writePosInterval", "int", 3000, "Milliseconds between position-file writes.", min=1),
        Prop("byteOffsetHeader", "bool", False, "Add header byteoffset with the line's start offset."),
        Prop("cachePatternMatching", "bool", True, "Re-list a directory only when it changed."),
        Prop("fileHeader", "bool", False, "Add a header with the file's absolute path."),
        Prop("fileHeaderKey", "string", "file", "Name of the file header."),
        Prop("maxBatchCount", "int", LONG_MAX, "Consecutive batches from one file before moving to the next."),
        *POLL_PROPS,
        Prop("maxBackOffSleep", "int", None, "Misspelling of maxBackoffSleep.", min=1, deprecated="maxBackoffSleep"),
    )

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.groups: list[FileGroup] = []
        self.batch_size = 100
        self.position_file = ""
        self.tails: dict[int, TailFile] = {}
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._observer: Any = None
        self._last_pos_write = 0.0
        self._dirty = False

    # -- configuration ----------------------------------------------------------------------------
    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        names = s["filegroups"]
        if not names:
            raise ctx.error("filegroups", "is required (space-separated list of file group names)")
        headers: dict[str, dict[str, str]] = {}
        hctx: Context = s["headers."]
        for key in hctx.keys():
            g, dot, hkey = key.partition(".")
            if not dot or not hkey:
                raise ctx.error("headers." + key, "expected headers.<filegroup>.<header name>")
            if g not in names:
                ctx.warn("headers." + key, f"file group {g!r} is not listed in filegroups")
            headers.setdefault(g, {})[hkey] = hctx.get(key) or ""
        fctx: Context = s["filegroups."]
        self.groups = []
        for g in names:
            spec = (fctx.get(g) or "").strip()
            if not spec:
                raise ctx.error(f"filegroups.{g}", f"is required: the path (dir/regex) of file group {g}")
            directory, _, regex = os.path.abspath(os.path.expanduser(spec)).rpartition(os.sep)
            try:
                pattern = re.compile(regex)
            except re.error as e:
                raise ctx.error(f"filegroups.{g}", f"{regex!r} is not a valid regular expression ({e})") from None
            self.groups.append(FileGroup(g, directory or os.sep, pattern, headers.get(g, {}),
                                         s["cachePatternMatching"]))
        for key in fctx.keys():
            if key not in names:
                ctx.warn(f"filegroups.{key}", f"file group {key!r} is not listed in filegroups")
        self.position_file = os.path.abspath(os.path.expanduser(s["positionFile"]))
        self.batch_size = s["batchSize"]
        self.max_batch_count = s["maxBatchCount"]
        if self.max_batch_count <= 0:
            ctx.warn("maxBatchCount", f"{self.max_batch_count} is not positive; using {LONG_MAX}")
            self.max_batch_count = LONG_MAX
        self.skip_to_end = s["skipToEnd"]
        self.idle_timeout = s["idleTimeout"] / 1000.0
        self.write_interval = s["writePosInterval"] / 1000.0
        self.byte_offset = s["byteOffsetHeader"]
        self.file_header = s["fileHeaderKey"] if s["fileHeader"] else None
        self.backoff_increment = s["backoffSleepIncrement"] / 1000.0
        self.backoff_max = s["maxBackoffSleep"] / 1000.0

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        self._stopping.clear()
        self._wake.clear()
        os.makedirs(os.path.dirname(self.position_file), exist_ok=True)
        self.tails = {}
        self._first_scan(self._load_positions())
        self._start_watching()
        self._thread = threading.Thread(target=self._run, name=f"taildir-{self.name}", daemon=True)
        self._thread.start()
        super().start()
        log.info("TAILDIR source %s started: %s, position file %s", self.name,
                 ", ".join(f"{g.name}={os.path.join(g.directory, g.pattern.pattern)}" for g in self.groups),
                 self.position_file)

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            if self.lifecycle == "START":
                super().stop()
            return
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("TAILDIR source %s: reader thread did not stop within %.1fs", self.name, timeout)
        self._thread = None
        if self._observer is not None:
            try:
                self._observer.stop()
                self._observer.join(2.0)
            except Exception:  # pragma: no cover - watchdog internals
                log.debug("TAILDIR source %s: stopping the file watcher failed", self.name, exc_info=True)
            self._observer = None
        self._write_positions()
        for t in self.tails.values():
            t.close()
        super().stop()
        log.info("TAILDIR source %s stopped", self.name)

    def _start_watching(self) -> None:
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:  # pragma: no cover - watchdog is a dependency
            log.info("TAILDIR source %s: watchdog not available, polling", self.name)
            return
        wake = self._wake

        class _Wake(FileSystemEventHandler):  # type: ignore[misc]
            def on_any_event(self, event: Any) -> None:
                wake.set()

        observer = Observer()
        watched = 0
        for d in sorted({g.directory for g in self.groups}):
            if not os.path.isdir(d):
                log.warning("TAILDIR source %s: directory %s does not exist (yet); polling for it", self.name, d)
                continue
            try:
                observer.schedule(_Wake(), d, recursive=False)
                watched += 1
            except Exception as e:
                log.warning("TAILDIR source %s: cannot watch %s (%s); polling it", self.name, d, e)
        if not watched:
            return
        try:
            observer.daemon = True
            observer.start()
        except Exception as e:
            log.warning("TAILDIR source %s: file events unavailable (%s); polling instead", self.name, e)
            return
        self._observer = observer

    # -- positions --------------------------------------------------------------------------------
    def _load_positions(self) -> dict[int, tuple[int, str]]:
        try:
            with open(self.position_file, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            log.info("TAILDIR source %s: no position file %s yet", self.name, self.position_file)
            return {}
        except OSError as e:
            log.error("TAILDIR source %s: cannot read position file %s: %s", self.name, self.position_file, e)
            return {}
        if not text.strip():
            return {}
        try:
            entries = json.loads(text)
            out: dict[int, tuple[int, str]] = {}
            for entry in entries:
                out[int(entry["inode"])] = (int(entry["pos"]), str(entry["file"]))
            return out
        except (ValueError, TypeError, KeyError) as e:
            log.error("TAILDIR source %s: position file %s is not valid (%s); files start at %s", self.name,
                      self.position_file, e, "their end" if self.skip_to_end else "the beginning")
            return {}

    def positions(self) -> list[dict[str, Any]]:
        return [{"inode": t.inode, "pos": t.pos, "file": t.path} for t in self.tails.values()]

    def _write_positions(self) -> None:
        data = json.dumps(self.positions(), separators=(",", ":"))
        tmp = f"{self.position_file}.{os.getpid()}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(data)
            os.replace(tmp, self.position_file)
        except OSError as e:
            self.counters.values["GenericProcessingFail"] += 1
            log.error("TAILDIR source %s: failed writing position file %s: %s", self.name, self.position_file, e)
            return
        self._dirty = False
        self._last_pos_write = time.monotonic()

    # -- discovering files ------------------------------------------------------------------------
    def _first_scan(self, saved: dict[int, tuple[int, str]]) -> None:
        seen = self._scan(initial=True, saved=saved)
        # Files of the position file renamed while the agent was down, to names the groups no longer
        # match: find them by inode next to their old path and read them to the end.
        left = {ino: v for ino, v in saved.items() if ino not in seen}
        by_dir: dict[str, list[int]] = {}
        for ino, (_pos, path) in left.items():
            by_dir.setdefault(os.path.dirname(path), []).append(ino)
        for d, inodes in by_dir.items():
            want = set(inodes)
            try:
                with os.scandir(d) as it:
                    for entry in it:
                        if entry.inode() in want and entry.is_file(follow_symlinks=False):
                            pos, old = left[entry.inode()]
                            group = self._group_of(old)
                            t = TailFile(entry.inode(), entry.path, group, pos)
                            t.matched = False
                            try:
                                t.open()
                            except OSError:
                                continue
                            self.tails[t.inode] = t
                            log.info("TAILDIR source %s: %s (inode %d) was renamed to %s; reading it to the "
                                     "end from %d", self.name, old, t.inode, entry.path, pos)
            except OSError:
                continue

    def _group_of(self, path: str) -> FileGroup:
        d = os.path.dirname(path)
        return next((g for g in self.groups if g.directory == d), self.groups[0])

    def _scan(self, initial: bool = False, saved: dict[int, tuple[int, str]] | None = None) -> set[int]:
        seen: set[int] = set()
        for g in self.groups:
            for fname in g.names():
                path = os.path.join(g.directory, fname)
                try:
                    st = os.stat(path)
                except OSError:
                    continue
                if not stat.S_ISREG(st.st_mode) or st.st_ino in seen:
                    continue
                seen.add(st.st_ino)
                t = self.tails.get(st.st_ino)
                if t is None:
                    pos = st.st_size if (initial and self.skip_to_end) else 0
                    if saved and st.st_ino in saved:
                        pos, old = saved[st.st_ino]
                        if old != path:
                            log.info("TAILDIR source %s: %s (inode %d) is now %s; keeping its position %d",
                                     self.name, old, st.st_ino, path, pos)
                        if pos > st.st_size:
                            log.info("TAILDIR source %s: position %d is past the end of %s (%d bytes): "
                                     "reading it from the start", self.name, pos, path, st.st_size)
                            pos = 0
                    t = TailFile(st.st_ino, path, g, pos)
                    self.tails[st.st_ino] = t
                    self._dirty = True
                    log.info("TAILDIR source %s: following %s (inode %d) from %d", self.name, path, st.st_ino, pos)
                elif t.path != path:
                    log.info("TAILDIR source %s: %s (inode %d) was renamed to %s", self.name, t.path,
                             st.st_ino, path)
                    t.path, t.group = path, g
                    self._dirty = True
                t.matched = True
                if t.fd is None and st.st_size != t.pos:
                    if st.st_size < t.pos:
                        log.info("TAILDIR source %s: %s shrank below its position %d: reading it from the start",
                                 self.name, path, t.pos)
                        t.reset(0)
                        self._dirty = True
                    try:
                        t.open()
                    except OSError as e:
                        log.warning("TAILDIR source %s: cannot open %s: %s", self.name, path, e)
        for ino, t in list(self.tails.items()):
            if ino in seen:
                continue
            if t.matched:
                t.matched = False
                log.info("TAILDIR source %s: %s (inode %d) was renamed away or deleted; reading it to its end",
                         self.name, t.path, ino)
            if t.fd is None and not initial:
                # Not open and no longer matched: nothing more can be read from it.
                del self.tails[ino]
                self._dirty = True
            elif t.fd is None and initial:
                try:
                    t.open()
                except OSError:
                    del self.tails[ino]
        return seen

    # -- the reading loop -------------------------------------------------------------------------
    def _run(self) -> None:
        backoffs = 0
        while not self._stopping.is_set():
            try:
                progressed = self._poll_once()
            except Exception:
                self.counters.values["EventReadFail"] += 1
                log.exception("TAILDIR source %s: unable to tail files", self.name)
                progressed = False
            if self._stopping.is_set():
                break
            if progressed:
                backoffs = 0
                continue
            if self._dirty:
                self._write_positions()
            backoffs += 1
            self._wake.wait(min(backoffs * self.backoff_increment, self.backoff_max))
            self._wake.clear()

    def _poll_once(self) -> bool:
        self._scan()
        progressed = False
        # Files renamed away first: their lines are older than those of the file that replaced them.
        order = sorted(self.tails.values(), key=lambda t: t.matched)
        now = time.monotonic()
        for t in order:
            if self._stopping.is_set():
                break
            if t.fd is None:
                continue
            if self._tail(t):
                progressed = True
            if t.last_change + self.idle_timeout <= now and not t.buffered():
                self._close_idle(t)
        if time.monotonic() - self._last_pos_write >= self.write_interval and self._dirty:
            self._write_positions()
        return progressed

    def _close_idle(self, t: TailFile) -> None:
        if not t.matched and t.tail:
            # Renamed away or deleted and idle: nobody will finish its last line; deliver it as it is.
            line = t.tail
            t.pending, t.pidx, t.tail = [line], 0, b""
            self._deliver(t, 1)
            t.pos = t.read_off
        log.info("TAILDIR source %s: closed idle file %s (inode %d) at %d", self.name, t.path, t.inode, t.pos)
        t.close()
        if not t.matched:
            del self.tails[t.inode]
            self._dirty = True

    def _tail(self, t: TailFile) -> bool:
        """Deliver batches from t until it has no complete line left (or maxBatchCount); True if any."""
        bs = self.batch_size
        batches = 0
        any_sent = False
        while not self._stopping.is_set():
            if t.buffered() < bs:
                try:
                    t.fill(bs)
                except OSError as e:
                    log.warning("TAILDIR source %s: reading %s failed: %s", self.name, t.path, e)
                    t.close()
                    return any_sent
            n = min(bs, t.buffered())
            if n == 0:
                return any_sent
            if not self._deliver(t, n):
                return any_sent
            any_sent = True
            batches += 1
            if batches >= self.max_batch_count:
                return True
            if time.monotonic() - self._last_pos_write >= self.write_interval:
                self._write_positions()
        return any_sent

    def _deliver(self, t: TailFile, n: int) -> bool:
        """Put the next n buffered lines of t on the channels; advance t.pos once they are committed."""
        i = t.pidx
        raw = t.pending[i:i + n]
        consumed = sum(map(len, raw)) + n
        bodies = [ln[:-1] if ln[-1:] == b"\r" else ln for ln in raw] if t.cr else raw
        headers = t.group.headers
        events: Sequence[Event]
        if headers or self.file_header or self.byte_offset:
            base = dict(headers)
            if self.file_header:
                base[self.file_header] = t.path
            if self.byte_offset:
                made: list[Event] = []
                off = t.pos
                for body, ln in zip(bodies, raw, strict=True):
                    h = base.copy()
                    h[BYTE_OFFSET_KEY] = str(off)
                    made.append(Event(body, h))
                    off += len(ln) + 1
                events = made
            else:  # each event copies the file's headers when something reads them
                events = EventBatch(bodies, dict.copy, [base] * len(bodies))
        else:
            events = EventBatch(bodies)  # events made only if a sink needs them
        c = self.counters.values
        c["EventReceivedCount"] += n
        c["AppendBatchReceivedCount"] += 1
        failure = deliver(self, events, self._stopping)
        if failure is not None:
            log.info("TAILDIR source %s: stopping with %d lines of %s not delivered (they are read again on "
                     "restart): %s", self.name, n, t.path, failure)
            return False
        t.pidx = i + n
        t.pos = min(t.pos + consumed, t.read_off)
        self._dirty = True
        return True
