"""Type ``file_roll`` (Flume's RollingFileSink): events written to files in a local directory.

Keys (Flume 1.11 names and defaults):

* ``sink.directory`` (string, required): output directory; created (with parents) if missing.
* ``sink.rollInterval`` (int seconds, 30): start a new file this often; 0 = one file, never roll.
* ``sink.batchSize`` (int, 100): events per channel transaction.
* ``sink.serializer`` (string, TEXT): ``TEXT``, ``HEADER_AND_TEXT``, ``AVRO_EVENT``, a Flume
  ``...$Builder`` class name or ``package.module:Class``; ``sink.serializer.*`` configure it.
* ``sink.pathManager`` (DEFAULT | ROLLTIME): how files are named (below).
* ``sink.pathManager.prefix`` (string, ""), ``sink.pathManager.extension`` (string, "", the dot is
  added).
* ``sink.fsync`` (bool, false) — a flumepy extension: ``os.fsync`` the file after every batch.

File names, as Flume makes them: DEFAULT ``<prefix><startMillis>-<n>[.<ext>]`` where startMillis is
the time the sink started and n counts files 1, 2, 3...; ROLLTIME ``<prefix><yyyyMMddHHmmss>-<n>[.<ext>]``
(local time of the roll; n restarts at 1 when the timestamp string changes).

Behaviour kept from Flume: a file is opened when the sink first runs and at every roll even if no
event arrives, so idle periods leave empty files.  Rolling is time-based only and checked in
``process()``, so a roll can be late by the sink runner's backoff (at most 5 s).

Durability: after each batch the serializer's buffer and the file are flushed (and fsync'ed with
``sink.fsync = true``) before the channel transaction commits.  If opening, writing or flushing fails
(directory removed, disk full...) the batch is rolled back and stays in the channel; the failed file
is closed and the next attempt writes to a new file.  Events of a failed batch may partly be in the
old file (at-least-once, as in Flume).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import IO, Any

from flumepy.core.component import EventSerializer, SerializerWriter, Sink, Status
from flumepy.core.context import Context, Prop
from flumepy.core.errors import EventDeliveryError
from flumepy.core.event import Event
from flumepy.serializers import build_serializer

log = logging.getLogger(__name__)


class FileRollSink(Sink):
    PROPS = (
        Prop("sink.directory", "string", None, "Directory the files are written to.", required=True),
        Prop("sink.rollInterval", "int", 30, "Seconds between rolls; 0 = never roll.", min=0),
        Prop("sink.batchSize", "int", 100, "Events per channel transaction.", min=1),
        Prop("sink.serializer", "string", "TEXT", "Event serializer type."),
        Prop("sink.serializer.", doc="Settings of the serializer.", prefix=True),
        Prop("sink.pathManager", "string", "DEFAULT", "File naming scheme.", choices=("DEFAULT", "ROLLTIME")),
        Prop("sink.pathManager.prefix", "string", "", "File name prefix."),
        Prop("sink.pathManager.extension", "string", "", "File name extension (the dot is added)."),
        Prop("sink.fsync", "bool", False, "flumepy extension: fsync each file after every batch."),
    )

    #: Time source (seconds since the epoch); tests replace it with a fake clock.
    clock: Callable[[], float] = staticmethod(time.time)  # type: ignore[assignment]
    #: Registry to resolve the serializer type with; read from entry points when None.
    registry: Any = None

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.directory = ""
        self.roll_interval = 30
        self.fsync = False
        self.serializer: EventSerializer | None = None
        self._path_manager = "DEFAULT"
        self._prefix = ""
        self._extension = ""
        self._start_millis = 0
        self._index = 0
        self._last_stamp = ""
        self._path: str | None = None
        self._stream: IO[bytes] | None = None
        self._writer: SerializerWriter | None = None
        self._next_roll = 0.0

    # -- configuration -------------------------------------------------------------------------
    def configure(self, ctx: Context) -> None:
        super().configure(ctx)
        s = self.settings
        if not s["sink.directory"].strip():
            raise ctx.error("sink.directory", "is required (directory the files are written to)")
        self.directory = s["sink.directory"]
        self.roll_interval = s["sink.rollInterval"]
        self.batch_size = s["sink.batchSize"]
        self.fsync = s["sink.fsync"]
        self._path_manager = s["sink.pathManager"]
        self._prefix = s["sink.pathManager.prefix"]
        self._extension = s["sink.pathManager.extension"]
        self.serializer = build_serializer(ctx, "sink.serializer", f"{self.name}.serializer", "TEXT",
                                           self.registry)

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        now = self.clock()
        self._start_millis = int(now * 1000)
        self._index = 0
        self._last_stamp = ""
        self._path = None
        self._next_roll = now + self.roll_interval
        super().start()
        log.info("file_roll sink %s writing to %s (rollInterval %ds)", self.name, self.directory,
                 self.roll_interval)

    def stop(self) -> None:
        if self._stream is not None:
            try:
                self._close()
            except OSError as e:
                log.error("file_roll sink %s: closing %s failed: %s", self.name, self._path, e)
        super().stop()

    # -- files -------------------------------------------------------------------------------------
    def _next_path(self) -> str:
        if self._path_manager == "ROLLTIME":
            stamp = time.strftime("%Y%m%d%H%M%S", time.localtime(self.clock()))
            if stamp != self._last_stamp:
                self._index = 0
                self._last_stamp = stamp
        else:
            stamp = str(self._start_millis)
        self._index += 1
        ext = "." + self._extension if self._extension else ""
        return os.path.join(self.directory, f"{self._prefix}{stamp}-{self._index}{ext}")

    def _open(self) -> None:
        if self._path is None:
            self._path = self._next_path()
        assert self.serializer is not None
        try:
            os.makedirs(self.directory, exist_ok=True)
            stream = open(self._path, "wb")  # noqa: SIM115 - closed in _close
        except OSError as e:
            raise EventDeliveryError(f"failed to open file {self._path}: {e}") from e
        try:
            self._writer = self.serializer.open(stream)
            stream.flush()
        except BaseException:
            stream.close()
            raise
        self._stream = stream
        self.counters.values["ConnectionCreatedCount"] += 1
        log.debug("file_roll sink %s opened %s", self.name, self._path)

    def _close(self) -> None:
        """Trailer, flush and close the current file; the next open uses a new name."""
        stream, writer = self._stream, self._writer
        self._stream = self._writer = None
        self._path = None
        if stream is None:
            return
        try:
            if writer is not None:
                writer.close()
            stream.flush()
            if self.fsync:
                os.fsync(stream.fileno())
        finally:
            stream.close()
            self.counters.values["ConnectionClosedCount"] += 1

    def _abandon(self) -> None:
        """Close a file that failed, ignoring further errors."""
        try:
            self._close()
        except Exception as e:
            log.debug("file_roll sink %s: closing failed file: %s", self.name, e)
            self._stream = self._writer = None
            self._path = None

    # -- processing --------------------------------------------------------------------------------
    def process(self) -> Status:
        if self.roll_interval > 0:
            now = self.clock()
            if now >= self._next_roll:
                while self._next_roll <= now:
                    self._next_roll += self.roll_interval
                if self._stream is not None:
                    log.debug("file_roll sink %s rolling %s", self.name, self._path)
                    try:
                        self._close()
                    except OSError as e:
                        log.error("file_roll sink %s: closing %s failed: %s", self.name, self._path, e)
        if self._stream is None:
            try:
                self._open()
            except Exception:
                self.counters.values["ConnectionFailedCount"] += 1
                raise
        return self.drain(self.batch_size, self._write)

    def _write(self, events: list[Event]) -> None:
        assert self._writer is not None and self._stream is not None
        try:
            self._writer.write_batch(events)
            self._writer.flush()
            self._stream.flush()
            if self.fsync:
                os.fsync(self._stream.fileno())
        except Exception as e:
            path = self._path
            self._abandon()
            if isinstance(e, OSError):
                raise EventDeliveryError(f"failed to write {len(events)} events to {path}: {e}") from e
            raise
