"""spooldir source: real files consumed in order, renamed or deleted, resumed from Flume's tracker file."""

from __future__ import annotations

import io
import os
import signal
from collections.abc import Callable
from pathlib import Path

import fastavro
import pytest

from flumepy.core.errors import ConfigError
from flumepy.core.event import Event
from flumepy.sources.spooldir import META_NAME, SpoolDirectorySource, _read_meta
from tests.sources.conftest import Wired
from tests.util import AgentProcess, wait_until, write_conf


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    d = tmp_path / "spool"
    d.mkdir()
    return d


def settings(spool: Path, **extra: str) -> dict[str, str]:
    s = {"spoolDir": str(spool), "pollDelay": "20"}
    s.update(extra)
    return s


def run(wire: Callable[..., Wired], s: dict[str, str], **kw: object) -> Wired:
    w = wire(SpoolDirectorySource, s, **kw)
    w.source.start()
    return w


def collect(w: Wired, n: int, got: list[Event] | None = None) -> list[Event]:
    got = [] if got is None else got
    wait_until(lambda: got.extend(w.take()) or len(got) >= n, timeout=15, what=f"{n} events (have {len(got)})")
    return got


def write(path: Path, data: bytes, mtime: int) -> None:
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))


def test_files_consumed_oldest_first_and_renamed(wire: Callable[..., Wired], spool: Path) -> None:
    write(spool / "b.log", b"b1\nb2\n", 1000)
    write(spool / "a.log", b"a1\na2\r\nlast without newline", 2000)
    write(spool / "c.log", b"c1\n", 1000)  # same age as b.log: the name decides
    w = run(wire, settings(spool, fileHeader="true", basenameHeader="true"))
    got = collect(w, 6)
    assert [e.body for e in got] == [b"b1", b"b2", b"c1", b"a1", b"a2\r", b"last without newline"]
    assert got[0].headers == {"file": str(spool / "b.log"), "basename": "b.log"}
    wait_until(lambda: sorted(p.name for p in spool.iterdir() if not p.name.startswith("."))
               == ["a.log.COMPLETED", "b.log.COMPLETED", "c.log.COMPLETED"], what="all renamed")
    assert not (spool / ".flumespool" / META_NAME).exists()


def test_youngest_first_and_delete_policy(wire: Callable[..., Wired], spool: Path) -> None:
    write(spool / "old", b"old\n", 1000)
    write(spool / "new", b"new\n", 2000)
    w = run(wire, settings(spool, consumeOrder="youngest", deletePolicy="immediate"))
    assert [e.body for e in collect(w, 2)] == [b"new", b"old"]
    wait_until(lambda: [p.name for p in spool.iterdir()] == [".flumespool"], what="files deleted")


def test_include_ignore_hidden_and_completed_files_are_skipped(wire: Callable[..., Wired], spool: Path) -> None:
    write(spool / "keep.log", b"keep\n", 1000)
    write(spool / "skip.tmp", b"ignored by ignorePattern\n", 1000)
    write(spool / "data.csv", b"not included\n", 1000)
    write(spool / ".hidden.log", b"hidden\n", 1000)
    write(spool / "done.log.COMPLETED", b"done before\n", 1000)
    w = run(wire, settings(spool, includePattern=r".*\.(log|tmp)", ignorePattern=r".*\.tmp"))
    assert [e.body for e in collect(w, 1)] == [b"keep"]
    wait_until(lambda: (spool / "keep.log.COMPLETED").exists())
    w.source.stop()
    assert w.take() == []
    assert (spool / "skip.tmp").exists() and (spool / "data.csv").exists()


def test_recursive_directory_search(wire: Callable[..., Wired], spool: Path) -> None:
    (spool / "sub").mkdir()
    write(spool / "sub" / "deep.log", b"deep\n", 1000)
    write(spool / "top.log", b"top\n", 2000)
    w = run(wire, settings(spool, recursiveDirectorySearch="true"))
    assert [e.body for e in collect(w, 2)] == [b"deep", b"top"]
    wait_until(lambda: (spool / "sub" / "deep.log.COMPLETED").exists())


def test_long_lines_split_and_batches(wire: Callable[..., Wired], spool: Path) -> None:
    lines = [b"x" * 25, b"y" * 10, b"z" * 20]
    write(spool / "f", b"\n".join(lines) + b"\n", 1000)
    w = run(wire, settings(spool, batchSize="2", **{"deserializer.maxLineLength": "10"}),
            transaction_capacity=2)
    got = [e.body for e in collect(w, 8)]
    # As Flume's LineDeserializer: chunks of maxLineLength, an empty event when the length divides evenly.
    assert got == [b"x" * 10, b"x" * 10, b"x" * 5, b"y" * 10, b"", b"z" * 10, b"z" * 10, b""]


def test_tracker_resume_after_a_kill(wire: Callable[..., Wired], spool: Path) -> None:
    write(spool / "big.log", b"".join(b"%03d\n" % i for i in range(100)), 1000)
    s = settings(spool, batchSize="10")
    w = run(wire, s, capacity=30, transaction_capacity=10)
    wait_until(lambda: w.source.counters.values["ChannelWriteFail"] > 0, what="a full channel")
    # What a kill leaves behind: the tracker written after each commit (3 batches of 10 lines).
    assert _read_meta(str(spool / ".flumespool" / META_NAME)) == (str(spool / "big.log"), 120)
    w.source.stop()
    first = [e.body for e in w.take()]
    assert first == [b"%03d" % i for i in range(30)]
    w2 = run(wire, s, transaction_capacity=10)
    rest = [e.body for e in collect(w2, 70)]
    assert rest == [b"%03d" % i for i in range(30, 100)]
    wait_until(lambda: (spool / "big.log.COMPLETED").exists())


def test_a_flume_tracker_file_is_honoured(wire: Callable[..., Wired], spool: Path) -> None:
    f = spool / "x.log"
    write(f, b"sent\nalso sent\nnot yet\n", 1000)
    (spool / ".flumespool").mkdir()
    # DurablePositionTracker's layout: Avro container, metadata "file", one TransferStateFileMeta per commit.
    schema = {"type": "record", "name": "TransferStateFileMeta", "namespace": "org.apache.flume.serialization",
              "fields": [{"name": "offset", "type": "long"}]}
    with open(spool / ".flumespool" / META_NAME, "wb") as fh:
        fastavro.writer(fh, schema, [{"offset": 0}, {"offset": 5}, {"offset": 15}], metadata={"file": str(f)})
    w = run(wire, settings(spool))
    assert [e.body for e in collect(w, 1)] == [b"not yet"]


def test_modified_after_pickup_stops_that_file_loudly(wire: Callable[..., Wired], spool: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    write(spool / "a.log", b"".join(b"a%d\n" % i for i in range(30)), 1000)
    w = run(wire, settings(spool, batchSize="10"), capacity=10, transaction_capacity=10)
    wait_until(lambda: w.source.counters.values["ChannelWriteFail"] > 0, what="a full channel")
    with open(spool / "a.log", "ab") as fh:
        fh.write(b"appended after pickup\n")
    write(spool / "b.log", b"b1\n", 2000)
    got = collect(w, 32)
    assert b"b1" in [e.body for e in got]
    assert (spool / "a.log").exists() and not (spool / "a.log.COMPLETED").exists()
    assert "has been modified since being read" in w.source.failed[str(spool / "a.log")]
    assert "FATAL for file " + str(spool / "a.log") in caplog.text
    assert w.source.counters.values["GenericProcessingFail"] == 1


def test_reused_name_is_a_clear_error(wire: Callable[..., Wired], spool: Path,
                                      caplog: pytest.LogCaptureFixture) -> None:
    write(spool / "a.log", b"second a\n", 1000)
    write(spool / "a.log.COMPLETED", b"first a\n", 1000)
    write(spool / "b.log", b"b\n", 2000)
    w = run(wire, settings(spool))
    assert [e.body for e in collect(w, 1)] == [b"b"]
    wait_until(lambda: str(spool / "a.log") in w.source.failed)
    assert "a.log.COMPLETED already exists" in w.source.failed[str(spool / "a.log")]
    assert (spool / "a.log").read_bytes() == b"second a\n"


@pytest.mark.parametrize(("policy", "expected"), [
    ("REPLACE", ["caf\ufffd ok", "fine"]),
    ("IGNORE", ["caf ok", "fine"]),
])
def test_decode_error_policies(wire: Callable[..., Wired], spool: Path, policy: str, expected: list[str]) -> None:
    write(spool / "f", b"caf\xff ok\nfine\n", 1000)
    w = run(wire, settings(spool, decodeErrorPolicy=policy))
    assert [e.body.decode() for e in collect(w, 2)] == expected


def test_decode_error_fail_stops_the_file(wire: Callable[..., Wired], spool: Path) -> None:
    write(spool / "bad", b"caf\xff\n", 1000)
    write(spool / "good", b"good\n", 2000)
    w = run(wire, settings(spool))
    assert [e.body for e in collect(w, 1)] == [b"good"]
    wait_until(lambda: str(spool / "bad") in w.source.failed)
    assert "not valid utf-8" in w.source.failed[str(spool / "bad")]
    assert w.source.counters.values["EventReadFail"] == 1


def test_input_and_output_charsets(wire: Callable[..., Wired], spool: Path) -> None:
    write(spool / "f", "déjà vu\n".encode("latin-1"), 1000)
    w = run(wire, settings(spool, inputCharset="ISO-8859-1", **{"deserializer.outputCharset": "UTF-16LE"}))
    assert [e.body for e in collect(w, 1)] == ["déjà vu".encode("utf-16-le")]


def test_blob_deserializer(wire: Callable[..., Wired], spool: Path) -> None:
    data = bytes(range(256)) * 10
    write(spool / "img.bin", data, 1000)
    write(spool / "small.bin", b"\x00\n\x01", 2000)
    w = run(wire, settings(spool, deserializer="org.apache.flume.sink.solr.morphline.BlobDeserializer$Builder",
                           **{"deserializer.maxBlobLength": "1000"}))
    got = [e.body for e in collect(w, 4)]
    assert got == [data[:1000], data[1000:2000], data[2000:], b"\x00\n\x01"]


def test_empty_file_gives_one_empty_event_as_in_flume(wire: Callable[..., Wired], spool: Path) -> None:
    write(spool / "empty", b"", 1000)
    w = run(wire, settings(spool))
    assert [e.body for e in collect(w, 1)] == [b""]
    wait_until(lambda: (spool / "empty.COMPLETED").exists())


def test_avro_deserializer(wire: Callable[..., Wired], spool: Path) -> None:
    schema = fastavro.parse_schema({"type": "record", "name": "R", "fields": [{"name": "n", "type": "int"}]})
    with open(spool / "data.avro", "wb") as fh:
        fastavro.writer(fh, schema, [{"n": i} for i in range(5)], sync_interval=1)
    w = run(wire, settings(spool, deserializer="AVRO"))
    got = collect(w, 5)
    assert [fastavro.schemaless_reader(io.BytesIO(e.body), schema) for e in got] == [{"n": i} for i in range(5)]
    assert set(got[0].headers) == {"flume.avro.schema.hash"} and len(got[0].headers["flume.avro.schema.hash"]) == 16


def test_tracker_dir_policy_leaves_files_in_place(wire: Callable[..., Wired], spool: Path, tmp_path: Path) -> None:
    write(spool / "a.log", b"a\n", 1000)
    tracker = tmp_path / "tracker"
    w = run(wire, settings(spool, trackingPolicy="tracker_dir", trackerDir=str(tracker)))
    assert [e.body for e in collect(w, 1)] == [b"a"]
    wait_until(lambda: (tracker / "a.log.COMPLETED").exists())
    assert (spool / "a.log").exists()
    w.source.stop()
    w2 = run(wire, settings(spool, trackingPolicy="tracker_dir", trackerDir=str(tracker)))
    w2.source.stop()
    assert w2.take() == []


@pytest.mark.parametrize(("extra", "key"), [
    ({"deletePolicy": "later"}, "deletePolicy"),
    ({"decodeErrorPolicy": "PANIC"}, "decodeErrorPolicy"),
    ({"consumeOrder": "biggest"}, "consumeOrder"),
    ({"deserializer": "CSV"}, "deserializer"),
    ({"deserializer.maxLineLength": "0"}, "deserializer.maxLineLength"),
    ({"includePattern": "(("}, "includePattern"),
    ({"inputCharset": "UTF-16"}, "inputCharset"),
])
def test_config_errors_name_the_key(wire: Callable[..., Wired], spool: Path, extra: dict[str, str],
                                    key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        wire(SpoolDirectorySource, settings(spool, **extra))


def test_missing_directory_fails_start(wire: Callable[..., Wired], tmp_path: Path) -> None:
    w = wire(SpoolDirectorySource, {"spoolDir": str(tmp_path / "nope")})
    with pytest.raises(OSError, match="does not exist"):
        w.source.start()


# -- end to end, through the CLI ----------------------------------------------------------------
def _conf(tmp_path: Path, spool: Path, out: Path) -> Path:
    return write_conf(tmp_path, f"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = spooldir
        a1.sources.r1.spoolDir = {spool}
        a1.sources.r1.pollDelay = 50
        a1.sources.r1.channels = c1
        a1.channels.c1.type = memory
        a1.channels.c1.capacity = 10000
        a1.channels.c1.transactionCapacity = 100
        a1.sinks.k1.type = file_roll
        a1.sinks.k1.channel = c1
        a1.sinks.k1.sink.directory = {out}
        a1.sinks.k1.sink.rollInterval = 0
        """)


def _written(out: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(out.iterdir()))


def test_agent_spooldir_to_file_roll(tmp_path: Path, spool: Path, agent_process: type[AgentProcess]) -> None:
    out = tmp_path / "out"
    out.mkdir()
    parts = [b"".join(b"file %d row %d\n" % (f, i) for i in range(2000)) for f in range(3)]
    for f, data in enumerate(parts):
        write(spool / f"in-{f}.log", data, 1000 + f)
    agent = agent_process(_conf(tmp_path, spool, out), "a1", ["--no-reload-conf"]).start().wait_started()
    expected = b"".join(parts)
    wait_until(lambda: len(_written(out)) == len(expected), timeout=30, what="all files in the output")
    assert agent.terminate() == 0
    assert _written(out) == expected
    assert sorted(p.name for p in spool.iterdir()) == [".flumespool"] + [f"in-{f}.log.COMPLETED" for f in range(3)]


def test_agent_kill_9_mid_file_then_restart_resumes_from_the_tracker(
        tmp_path: Path, spool: Path, agent_process: type[AgentProcess]) -> None:
    out1, out2 = tmp_path / "out1", tmp_path / "out2"
    out1.mkdir()
    out2.mkdir()
    lines = [b"line %d" % i for i in range(50_000)]
    write(spool / "big.log", b"".join(ln + b"\n" for ln in lines), 1000)
    conf = _conf(tmp_path, spool, out1)
    conf.write_text(conf.read_text().replace("capacity = 10000", "capacity = 300"))
    agent = agent_process(conf, "a1", ["--no-reload-conf"]).start().wait_started()
    wait_until(lambda: _written(out1).count(b"\n") >= 1000, timeout=30, what="some lines written")
    agent.terminate(sig=signal.SIGKILL)
    assert not (spool / "big.log.COMPLETED").exists()
    conf.write_text(conf.read_text().replace(str(out1), str(out2)))
    agent2 = agent_process(conf, "a1", ["--no-reload-conf"]).start().wait_started()
    agent2.wait_for_output(r"resuming \S+big.log at byte [1-9]")
    wait_until(lambda: (spool / "big.log.COMPLETED").exists() and b"line 49999\n" in _written(out2),
               timeout=60, what="the file done")
    assert agent2.terminate() == 0
    first, second = _written(out1).splitlines(), _written(out2).splitlines()
    # The restart resumes at the tracker's offset: what follows it arrives once, in order, to the end.
    start = lines.index(second[0])
    assert second == lines[start:]
    # The sink wrote a prefix before the kill; only events sitting in the memory channel (at most its
    # capacity, 300) die with the process; a durable channel would keep them.
    assert first == lines[:len(first)]
    assert 0 <= start - len(first) <= 300
