"""file_roll: Flume's RollingFileSink — file names, rolling, serializers, durability on errors."""

from __future__ import annotations

import io
import os
import shutil
import time
from pathlib import Path

import fastavro
import pytest

from flumepy.channels.memory import MemoryChannel
from flumepy.core.component import Status
from flumepy.core.context import Context
from flumepy.core.errors import ConfigError, EventDeliveryError
from flumepy.core.event import Event
from flumepy.serializers.text import TextWriter
from flumepy.sinks.file_roll import FileRollSink
from tests.util import run_cli, wait_until, write_conf

START = 1_700_000_000.250  # 2023-11-14 22:13:20.250 UTC


class FakeClock:
    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def channel(capacity: int = 10000) -> MemoryChannel:
    ch = MemoryChannel("c1")
    ch.configure(Context({"capacity": str(capacity), "transactionCapacity": str(capacity)}))
    ch.TAKE_LINGER = 0  # an empty take returns at once: these tests drive process() by hand
    ch.start()
    return ch


def put(ch: MemoryChannel, *bodies: bytes | str, headers: dict[str, str] | None = None) -> None:
    with ch.transaction() as tx:
        tx.put_batch([Event(b if isinstance(b, bytes) else b.encode(), dict(headers or {})) for b in bodies])


def make_sink(directory: Path, clock: FakeClock | None = None, ch: MemoryChannel | None = None,
              **values: str) -> FileRollSink:
    sink = FileRollSink("k1")
    if clock is not None:
        sink.clock = clock
    conf = {"sink.directory": str(directory)}
    conf.update({k.replace("_", "."): v for k, v in values.items()})
    sink.configure(Context(conf, prefix="a1.sinks.k1.", file="agent.conf"))
    sink.channel = ch if ch is not None else channel()
    return sink


def drain(sink: FileRollSink) -> None:
    while sink.process() is Status.READY:
        pass


def files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_configuration_defaults_and_batch_size(tmp_path: Path) -> None:
    sink = make_sink(tmp_path)
    assert sink.roll_interval == 30
    assert sink.batch_size == 100
    assert sink.fsync is False
    sink = make_sink(tmp_path, **{"sink.batchSize": "7"})
    assert sink.batch_size == 7


def test_directory_is_required(tmp_path: Path) -> None:
    sink = FileRollSink("k1")
    with pytest.raises(ConfigError) as e:
        sink.configure(Context({}, prefix="a1.sinks.k1."))
    assert "a1.sinks.k1.sink.directory: is required" in str(e.value)


def test_bad_path_manager_and_serializer_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        make_sink(tmp_path, **{"sink.pathManager": "HOURLY"})
    assert "a1.sinks.k1.sink.pathManager" in str(e.value) and "ROLLTIME" in str(e.value)
    with pytest.raises(ConfigError) as e:
        make_sink(tmp_path, **{"sink.serializer": "json"})
    assert "a1.sinks.k1.sink.serializer" in str(e.value) and "avro_event" in str(e.value)


def test_configure_does_no_io(tmp_path: Path) -> None:
    make_sink(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_text_output_and_directory_created(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b"
    clock = FakeClock()
    ch = channel()
    sink = make_sink(out, clock, ch, **{"sink.rollInterval": "0", "sink.batchSize": "3"})
    sink.start()
    put(ch, *[str(i) for i in range(10)], headers={"h": "v"})
    drain(sink)
    assert sink.counters.get("EventDrainSuccessCount") == 10
    assert sink.counters.get("BatchCompleteCount") == 3
    assert sink.counters.get("BatchUnderflowCount") == 1
    # Each committed batch is flushed: the bytes are in the file before stop().
    name = f"{int(START * 1000)}-1"
    assert files(out) == {name: b"".join(b"%d\n" % i for i in range(10))}
    sink.stop()
    sink.stop()  # idempotent
    assert files(out) == {name: b"".join(b"%d\n" % i for i in range(10))}
    assert ch.size() == 0


def test_header_and_text_serializer_bytes(tmp_path: Path) -> None:
    ch = channel()
    sink = make_sink(tmp_path, FakeClock(), ch, **{"sink.serializer": "HEADER_AND_TEXT",
                                                   "sink.serializer.appendNewline": "true"})
    sink.start()
    put(ch, "first", headers={"host": "web1", "level": "INFO"})
    put(ch, "second")
    drain(sink)
    sink.stop()
    [data] = files(tmp_path).values()
    assert data == b"{host=web1, level=INFO} first\n{} second\n"


def test_text_without_newline(tmp_path: Path) -> None:
    ch = channel()
    sink = make_sink(tmp_path, FakeClock(), ch, **{"sink.serializer.appendNewline": "false"})
    sink.start()
    put(ch, "a", "b", "c")
    drain(sink)
    sink.stop()
    assert list(files(tmp_path).values()) == [b"abc"]


def test_avro_event_file_reads_back(tmp_path: Path) -> None:
    ch = channel()
    sink = make_sink(tmp_path, FakeClock(), ch, **{"sink.serializer": "avro_event",
                                                   "sink.serializer.compressionCodec": "deflate",
                                                   "sink.pathManager.extension": "avro"})
    sink.start()
    put(ch, "one", "two", headers={"k": "v"})
    drain(sink)
    put(ch, b"\x00\xff")
    drain(sink)
    sink.stop()
    [path] = tmp_path.iterdir()
    assert path.name.endswith("-1.avro")
    with path.open("rb") as f:
        reader = fastavro.reader(f)
        records = list(reader)
        assert reader.metadata["avro.codec"] == "deflate"
    assert records == [{"headers": {"k": "v"}, "body": b"one"}, {"headers": {"k": "v"}, "body": b"two"},
                       {"headers": {}, "body": b"\x00\xff"}]


def test_rolls_by_interval_with_default_names(tmp_path: Path) -> None:
    clock = FakeClock()
    ch = channel()
    sink = make_sink(tmp_path, clock, ch, **{"sink.rollInterval": "30"})
    sink.start()
    base = int(START * 1000)
    put(ch, "a", "b")
    drain(sink)
    clock.advance(29.9)
    put(ch, "c")
    drain(sink)  # not yet time: same file
    clock.advance(0.2)
    put(ch, "d")
    drain(sink)  # 30.1 s after start: roll, then write
    clock.advance(30)
    drain(sink)  # nothing to write, but Flume opens the next file anyway
    clock.advance(95)  # several intervals missed: one roll
    put(ch, "e")
    drain(sink)
    sink.stop()
    assert files(tmp_path) == {
        f"{base}-1": b"a\nb\nc\n",
        f"{base}-2": b"d\n",
        f"{base}-3": b"",
        f"{base}-4": b"e\n",
    }
    assert sink.counters.get("ConnectionCreatedCount") == 4
    assert sink.counters.get("ConnectionClosedCount") == 4


def test_file_opened_even_without_events(tmp_path: Path) -> None:
    sink = make_sink(tmp_path, FakeClock())
    sink.start()
    assert sink.process() is Status.BACKOFF
    sink.stop()
    assert files(tmp_path) == {f"{int(START * 1000)}-1": b""}


def test_roll_interval_zero_means_one_file(tmp_path: Path) -> None:
    clock = FakeClock()
    ch = channel()
    sink = make_sink(tmp_path, clock, ch, **{"sink.rollInterval": "0"})
    sink.start()
    for i in range(5):
        put(ch, str(i))
        drain(sink)
        clock.advance(3600)
    sink.stop()
    assert files(tmp_path) == {f"{int(START * 1000)}-1": b"0\n1\n2\n3\n4\n"}


def test_prefix_and_extension(tmp_path: Path) -> None:
    clock = FakeClock()
    ch = channel()
    sink = make_sink(tmp_path, clock, ch, **{"sink.rollInterval": "10", "sink.pathManager.prefix": "events-",
                                             "sink.pathManager.extension": "log"})
    sink.start()
    put(ch, "x")
    drain(sink)
    clock.advance(10)
    drain(sink)
    sink.stop()
    base = int(START * 1000)
    assert sorted(files(tmp_path)) == [f"events-{base}-1.log", f"events-{base}-2.log"]


def test_rolltime_names(tmp_path: Path) -> None:
    clock = FakeClock()
    ch = channel()
    sink = make_sink(tmp_path, clock, ch, **{"sink.rollInterval": "1", "sink.pathManager": "rolltime",
                                             "sink.pathManager.prefix": "p_",
                                             "sink.pathManager.extension": "txt"})
    sink.start()

    def stamp() -> str:
        return time.strftime("%Y%m%d%H%M%S", time.localtime(clock.now))

    names = []
    put(ch, "a")
    drain(sink)
    names.append(f"p_{stamp()}-1.txt")
    clock.advance(1)
    drain(sink)
    names.append(f"p_{stamp()}-1.txt")  # the second changed: n restarts at 1
    clock.advance(1)
    put(ch, "c")
    drain(sink)
    names.append(f"p_{stamp()}-1.txt")
    sink.stop()
    assert files(tmp_path) == {names[0]: b"a\n", names[1]: b"", names[2]: b"c\n"}


def test_rolltime_counter_within_the_same_second(tmp_path: Path) -> None:
    # A roll inside the same wall-clock second (after a failed file) keeps counting: -1, -2.
    clock = FakeClock(1_700_000_000.0)
    ch = channel()
    sink = make_sink(tmp_path, clock, ch, **{"sink.rollInterval": "0", "sink.pathManager": "ROLLTIME"})
    sink.start()
    drain(sink)
    original = TextWriter.write_batch

    def fail_once(self: TextWriter, events: list[Event]) -> None:
        TextWriter.write_batch = original  # type: ignore[method-assign]
        raise OSError(28, "No space left on device")

    TextWriter.write_batch = fail_once  # type: ignore[method-assign]
    try:
        put(ch, "z")
        with pytest.raises(EventDeliveryError):
            sink.process()
    finally:
        TextWriter.write_batch = original  # type: ignore[method-assign]
    drain(sink)
    sink.stop()
    stamp = time.strftime("%Y%m%d%H%M%S", time.localtime(clock.now))
    assert files(tmp_path) == {f"{stamp}-1": b"", f"{stamp}-2": b"z\n"}


def test_write_failure_rolls_back_and_next_file_gets_the_batch(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    ch = channel()
    sink = make_sink(tmp_path, clock, ch, **{"sink.rollInterval": "0", "sink.fsync": "true"})
    sink.start()
    put(ch, "0", "1")
    drain(sink)
    calls = []
    original = TextWriter.write_batch

    def disk_full_once(self: TextWriter, events: list[Event]) -> None:
        calls.append(len(events))
        if len(calls) == 1:
            raise OSError(28, "No space left on device")
        original(self, events)

    monkeypatch.setattr(TextWriter, "write_batch", disk_full_once)
    put(ch, "2", "3")
    with pytest.raises(EventDeliveryError, match="No space left on device"):
        sink.process()
    assert ch.size() == 2  # rolled back: still in the channel
    assert sink.counters.get("EventWriteFail") == 1
    drain(sink)
    sink.stop()
    base = int(START * 1000)
    assert files(tmp_path) == {f"{base}-1": b"0\n1\n", f"{base}-2": b"2\n3\n"}
    assert calls == [2, 2]


def test_directory_replaced_by_a_file_keeps_events_until_it_is_back(tmp_path: Path) -> None:
    out = tmp_path / "out"
    clock = FakeClock()
    ch = channel()
    sink = make_sink(out, clock, ch, **{"sink.rollInterval": "5"})
    sink.start()
    put(ch, "a")
    drain(sink)
    # The directory disappears and a regular file takes its name; the next roll cannot open a file.
    shutil.rmtree(out)
    out.write_bytes(b"not a directory")
    clock.advance(5)
    put(ch, "b", "c")
    for _ in range(2):
        with pytest.raises(EventDeliveryError, match="failed to open file"):
            sink.process()
        assert ch.size() == 2
    assert sink.counters.get("ConnectionFailedCount") == 2
    out.unlink()
    drain(sink)
    sink.stop()
    base = int(START * 1000)
    assert files(out) == {f"{base}-2": b"b\nc\n"}


def test_directory_removed_is_recreated_at_next_roll(tmp_path: Path) -> None:
    out = tmp_path / "out"
    clock = FakeClock()
    ch = channel()
    sink = make_sink(out, clock, ch, **{"sink.rollInterval": "5"})
    sink.start()
    drain(sink)
    shutil.rmtree(out)
    clock.advance(5)
    put(ch, "x")
    drain(sink)
    sink.stop()
    assert files(out) == {f"{int(START * 1000)}-2": b"x\n"}


def test_fsync_setting(tmp_path: Path) -> None:
    ch = channel()
    sink = make_sink(tmp_path, FakeClock(), ch, **{"sink.fsync": "true", "sink.rollInterval": "0"})
    assert sink.fsync is True
    sink.start()
    put(ch, "durable")
    drain(sink)
    sink.stop()
    assert list(files(tmp_path).values()) == [b"durable\n"]


def test_end_to_end_seq_to_file_roll(tmp_path: Path, agent_process: type) -> None:
    out = tmp_path / "out"
    conf = write_conf(tmp_path, f"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = seq
        a1.sources.r1.totalEvents = 1000
        a1.sources.r1.batchSize = 50
        a1.sources.r1.channels = c1
        a1.channels.c1.type = memory
        a1.channels.c1.capacity = 10000
        a1.channels.c1.transactionCapacity = 100
        a1.sinks.k1.type = file_roll
        a1.sinks.k1.channel = c1
        a1.sinks.k1.sink.directory = {out}
        a1.sinks.k1.sink.rollInterval = 0
        a1.sinks.k1.sink.batchSize = 100
        """)
    agent = agent_process(conf, "a1").start()
    agent.wait_started()

    def content() -> bytes:
        paths = list(out.iterdir()) if out.exists() else []
        return paths[0].read_bytes() if len(paths) == 1 else b""

    expected = b"".join(b"%d\n" % i for i in range(1000))
    wait_until(lambda: content() == expected, 20, what="1000 lines in the output file")
    assert agent.terminate() == 0
    [path] = out.iterdir()
    assert path.name.endswith("-1")
    assert path.read_bytes() == expected
    assert "Traceback" not in agent.output


def test_serializer_stream_is_not_closed_by_writer_close(tmp_path: Path) -> None:
    # The sink owns the file; writer.close() only writes the trailer.
    buf = io.BytesIO()
    sink = make_sink(tmp_path, **{"sink.serializer": "avro_event"})
    assert sink.serializer is not None
    w = sink.serializer.open(buf)
    w.close()
    assert not buf.closed
    assert os.listdir(tmp_path) == []


def test_check_accepts_java_serializer_name_and_warns_about_serializer_keys(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, f"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = seq
        a1.sources.r1.channels = c1
        a1.channels.c1.type = memory
        a1.sinks.k1.type = org.apache.flume.sink.RollingFileSink
        a1.sinks.k1.channel = c1
        a1.sinks.k1.sink.directory = {tmp_path / "out"}
        a1.sinks.k1.sink.serializer = org.apache.flume.serialization.HeaderAndBodyTextEventSerializer$Builder
        a1.sinks.k1.sink.serializer.appendNewLine = false
        """)
    result = run_cli("check", "-n", "a1", "-f", str(conf))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert (f"{conf}:12: a1.sinks.k1.sink.serializer.appendNewLine: warning: unknown key, ignored; "
            "did you mean appendNewline?") in out
    assert not (tmp_path / "out").exists()
