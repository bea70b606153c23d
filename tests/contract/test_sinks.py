"""The shared SinkContract run against every built-in sink."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from flumepy.core.context import Context
from flumepy.sinks.file_roll import FileRollSink
from flumepy.sinks.hdfs import HDFSEventSink
from flumepy.sinks.logger import LoggerSink, format_event
from flumepy.sinks.null import NullSink
from flumepy.testing import SinkContract, make_events

# New sinks: add a ``Test<Name>Sink(SinkContract)`` class below with make_sink, delivered (when
# the output can be read back) and break_delivery/repair_delivery.


class TestNullSink(SinkContract):
    """Delivery is checked through the sink's counters only: a null sink keeps nothing."""

    def make_sink(self, workdir: Path, batch_size: int) -> NullSink:
        sink = NullSink("k1")
        sink.configure(Context({"batchSize": str(batch_size)}))
        return sink

    # A null sink discards events; there is no delivery that could fail.
    test_failed_delivery_keeps_events_in_channel = None  # type: ignore[assignment]


class _Refuse(logging.Filter):
    """Stands for a broken logging backend: every record raises while the logger formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        raise OSError("logging backend unavailable")


class TestLoggerSink(SinkContract):
    """Delivery is read back from the log records the sink emitted."""

    MAX_BYTES = 64

    @pytest.fixture(autouse=True)
    def _capture(self, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
        caplog.set_level(logging.INFO, logger="flumepy.sinks.logger")
        self.caplog = caplog
        self.refuse = _Refuse()
        yield
        logging.getLogger("flumepy.sinks.logger").removeFilter(self.refuse)

    def make_sink(self, workdir: Path, batch_size: int) -> LoggerSink:
        sink = LoggerSink("k1")
        sink.configure(Context({"batchSize": str(batch_size), "maxBytesToLog": str(self.MAX_BYTES)}))
        return sink

    def delivered(self, sink: LoggerSink, workdir: Path) -> list[bytes]:
        # Each record is the Flume event dump; map it back to the contract event it shows.
        known = {format_event(e, self.MAX_BYTES): e.body for e in make_events(200)}
        records = [r.getMessage() for r in self.caplog.records if r.name == "flumepy.sinks.logger"]
        return [known.get(m, m.encode()) for m in records]

    def break_delivery(self, sink: LoggerSink, workdir: Path) -> None:
        logging.getLogger("flumepy.sinks.logger").addFilter(self.refuse)

    def repair_delivery(self, sink: LoggerSink, workdir: Path) -> None:
        logging.getLogger("flumepy.sinks.logger").removeFilter(self.refuse)


class TestFileRollSink(SinkContract):
    """Delivery is read back from the files, in roll order (TEXT serializer: one body per line)."""

    def make_sink(self, workdir: Path, batch_size: int) -> FileRollSink:
        sink = FileRollSink("k1")
        sink.configure(Context({"sink.directory": str(workdir / "out"), "sink.rollInterval": "0",
                                "sink.batchSize": str(batch_size)}))
        return sink

    def delivered(self, sink: FileRollSink, workdir: Path) -> list[bytes]:
        out = workdir / "out"
        if not out.is_dir():
            return []
        files = sorted(out.iterdir(), key=lambda f: int(f.name.rsplit("-", 1)[1]))
        return [line for f in files for line in f.read_bytes().splitlines()]

    def break_delivery(self, sink: FileRollSink, workdir: Path) -> None:
        # A plain file where the output directory should be: the sink cannot create its file.
        out = workdir / "out"
        if out.is_dir():
            for f in out.iterdir():
                f.unlink()
            out.rmdir()
        out.write_text("not a directory")

    def repair_delivery(self, sink: FileRollSink, workdir: Path) -> None:
        (workdir / "out").unlink()


class TestHDFSSinkDataStream(SinkContract):
    """The hdfs sink on a local directory, rolling every 3 events; files read back in counter order."""

    KEYS = {"hdfs.fileType": "DataStream", "hdfs.rollCount": "3", "hdfs.rollSize": "0", "hdfs.rollInterval": "0"}

    def make_sink(self, workdir: Path, batch_size: int) -> HDFSEventSink:
        sink = HDFSEventSink("k1")
        sink.configure(Context(dict(self.KEYS, **{"hdfs.path": str(workdir / "out"),
                                                  "hdfs.batchSize": str(batch_size)})))
        return sink

    def read(self, data: bytes) -> list[bytes]:
        return data.splitlines()

    def delivered(self, sink: HDFSEventSink, workdir: Path) -> list[bytes]:
        out = workdir / "out"
        if not out.is_dir():
            return []
        files = sorted(out.iterdir(), key=lambda f: int(f.name.split(".")[1]))
        assert not [f for f in files if f.name.endswith(".tmp")], "stop() left in-use files"
        return [body for f in files for body in self.read(f.read_bytes())]

    def break_delivery(self, sink: HDFSEventSink, workdir: Path) -> None:
        out = workdir / "out"
        if out.is_dir():
            for f in out.iterdir():
                f.unlink()
            out.rmdir()
        out.write_text("not a directory")

    def repair_delivery(self, sink: HDFSEventSink, workdir: Path) -> None:
        (workdir / "out").unlink()


class TestHDFSSinkSequenceFile(TestHDFSSinkDataStream):
    """The same with the default fileType (SequenceFile, gzip block compression)."""

    KEYS = {"hdfs.rollCount": "3", "hdfs.rollSize": "0", "hdfs.rollInterval": "0", "hdfs.codeC": "gzip"}

    def read(self, data: bytes) -> list[bytes]:
        from tests.sinks.hdfs.seqread import parse

        return [v for _, v in parse(data).records]
