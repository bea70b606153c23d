"""The hdfs sink on the local filesystem: rolls, buckets, file types, codecs, errors, recovery, failures."""

from __future__ import annotations

import bz2
import io
import threading
import zlib
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flumepy.core.context import Context, unknown_key_problems
from flumepy.core.errors import ConfigError, EventDeliveryError
from flumepy.core.event import Event, EventBatch
from flumepy.sinks.hdfs import HDFSEventSink
from tests.sinks.hdfs.seqread import parse
from tests.sinks.hdfs.util import T0, Faults, FlakyFileSystem, LocalFlakyFileSystem, gunzip, lines, make_rig

MS = int(T0 * 1000)
DS = {"hdfs.fileType": "DataStream", "hdfs.rollInterval": "0", "hdfs.rollSize": "0", "hdfs.rollCount": "0"}


def ds(**keys: str) -> dict[str, str]:
    out = dict(DS)
    out.update({"hdfs." + k: v for k, v in keys.items()})
    return out


@pytest.fixture
def rigs():
    made = []
    yield made
    for r in made:
        r.sink.stop()
        r.channel.stop()


def rig_for(rigs, tmp_path: Path, keys: dict[str, str], **kw):
    r = make_rig(tmp_path, keys, **kw)
    rigs.append(r)
    return r


def queued_bodies(r) -> list[bytes]:
    """The bodies the channel holds, in the order a sink would take them (left in the channel)."""
    with r.channel.transaction() as tx:
        bodies = [e.body for e in tx.take_batch(10)]
        tx.rollback()
    return bodies


def assert_every_file_closed_holding(r, bodies: list[bytes]) -> None:
    """Stop the sink: no in-use file is left, and the files hold every body (duplicates allowed)."""
    r.sink.stop()
    files = r.files()
    assert not any(n.endswith(".tmp") for n in files), files
    assert set(line for v in files.values() for line in lines(v)) == set(bodies)


# -- rolling ----------------------------------------------------------------------------------------
def test_roll_count_names_files_as_flume_does(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, ds(rollCount="3"))
    bodies = r.put(f"e{i}" for i in range(10))
    r.drain()
    # a file is rolled before the event that would exceed rollCount: 3 closed files, the 4th open
    assert list(r.files()) == [f"FlumeData.{MS + 1}", f"FlumeData.{MS + 2}", f"FlumeData.{MS + 3}",
                               f"FlumeData.{MS + 4}.tmp"]
    assert [lines(v) for v in r.files().values()] == [bodies[0:3], bodies[3:6], bodies[6:9], bodies[9:]]
    r.sink.stop()
    assert list(r.files()) == [f"FlumeData.{MS + i}" for i in range(1, 5)]


def test_roll_size_counts_body_bytes_and_may_pass_it_by_one_event(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, ds(rollSize="10"))
    bodies = r.put(["abcd"] * 7)  # 4 bytes each: 0, 4, 8 < 10 -> three events per file (12 bytes)
    r.drain()
    r.sink.stop()
    assert [len(lines(v)) for v in r.files().values()] == [3, 3, 1]
    assert sum((lines(v) for v in r.files().values()), []) == bodies


def test_roll_interval_closes_the_file_and_the_next_event_opens_a_new_counter(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, ds(rollInterval="30"))
    r.put(["a", "b"])
    r.drain()
    r.clock.advance(29)
    r.drain()
    assert list(r.files()) == [f"FlumeData.{MS + 1}.tmp"]
    r.clock.advance(1)
    r.drain()
    assert list(r.files()) == [f"FlumeData.{MS + 1}"]
    r.put(["c"])
    r.drain()
    # a new bucket writer: its counter is seeded from the clock again
    assert list(r.files()) == [f"FlumeData.{MS + 1}", f"FlumeData.{MS + 30_000 + 1}.tmp"]
    r.clock.advance(30)
    r.drain()
    assert [lines(v) for v in r.files().values()] == [[b"a", b"b"], [b"c"]]
    assert not any(n.endswith(".tmp") for n in r.files())


def test_idle_timeout_closes_a_quiet_file(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, ds(idleTimeout="5"))
    r.put(["a"])
    r.drain()
    r.clock.advance(4)
    r.put(["b"])
    r.drain()  # the write resets the idle timer
    r.clock.advance(4)
    r.drain()
    assert list(r.files()) == [f"FlumeData.{MS + 1}.tmp"]
    r.clock.advance(1)
    r.drain()
    assert r.files() == {f"FlumeData.{MS + 1}": b"a\nb\n"}


def test_roll_count_and_size_together_whichever_comes_first(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, ds(rollCount="4", rollSize="10", rollInterval="60"))
    r.put(["x"] * 6 + ["yyyyyyyyyyyy"] + ["z"] * 2)
    r.drain()
    r.clock.advance(60)
    r.drain()
    assert [lines(v) for v in r.files().values()] == [[b"x"] * 4, [b"x", b"x", b"yyyyyyyyyyyy"], [b"z", b"z"]]


def test_flume_defaults_roll_every_10_events(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, {"hdfs.fileType": "DataStream"})
    r.put(str(i) for i in range(25))
    r.drain()
    r.sink.stop()
    assert [len(lines(v)) for v in r.files().values()] == [10, 10, 5]


# -- names ------------------------------------------------------------------------------------
def test_prefixes_and_suffixes(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, ds(filePrefix="events", fileSuffix=".log", inUsePrefix="_", inUseSuffix=".open"))
    r.put(["a"])
    r.drain()
    assert list(r.files()) == [f"_events.{MS + 1}.log.open"]
    r.sink.stop()
    assert list(r.files()) == [f"events.{MS + 1}.log"]


def test_empty_in_use_suffix(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, ds(emptyInUseSuffix="true"))
    r.put(["a"])
    r.drain()
    assert list(r.files()) == [f"FlumeData.{MS + 1}"]


# -- buckets ----------------------------------------------------------------------------------
def test_buckets_by_time_escapes_and_headers(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, ds(path="{out}/%{topic}/%Y-%m-%d/%H", filePrefix="%{host}", timeZone="UTC"))
    r.put(["a1", "a2"], {"topic": "web", "host": "h1"})
    r.put(["b1"], {"topic": "db", "host": "h1"})
    r.put(["c1"], {"topic": "web", "host": "h2"})
    r.put(["d1"], {"topic": "web", "host": "h1", "timestamp": str(MS + 3600_000)})
    r.drain()
    r.sink.stop()
    got = {k.rsplit(".", 1)[0]: lines(v) for k, v in r.files().items()}
    assert got == {"web/2023-11-14/22/h1": [b"a1", b"a2"], "db/2023-11-14/22/h1": [b"b1"],
                   "web/2023-11-14/22/h2": [b"c1"], "web/2023-11-14/23/h1": [b"d1"]}


def test_round_down_groups_a_quarter_hour(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, ds(path="{out}/%H%M", round="true", roundValue="15", roundUnit="minute",
                                   timeZone="UTC"))
    for minute in (13, 14, 15, 29, 31):  # T0 is 22:13:20
        r.put([str(minute)], {"timestamp": str(MS + (minute - 13) * 60_000)})
    r.drain()
    r.sink.stop()
    got = {k.split("/")[0]: lines(v) for k, v in r.files().items()}
    assert got == {"2200": [b"13", b"14"], "2215": [b"15", b"29"], "2230": [b"31"]}


def test_missing_timestamp_is_a_clear_error_and_the_batch_stays(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, ds(path="{out}/%Y"))
    r.put(["a"], stamp=False)
    with pytest.raises(EventDeliveryError, match="no 'timestamp' header.*timestamp interceptor.*"
                                                 "a1.sinks.k1.hdfs.useLocalTimeStamp = true"):
        r.sink.process()
    assert r.channel.size() == 1
    assert r.files() == {}


def test_use_local_timestamp(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, ds(path="{out}/%Y%m%d-%H", useLocalTimeStamp="true", timeZone="UTC"))
    r.put(["a"], {"timestamp": "0"}, stamp=False)  # the header is not used
    r.drain()
    assert list(r.files()) == [f"20231114-22/FlumeData.{MS + 1}.tmp"]


def test_max_open_files_closes_the_least_recently_used(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, ds(path="{out}/%{k}", maxOpenFiles="2"))
    r.put(["a"], {"k": "a"})
    r.put(["b"], {"k": "b"})
    r.drain()
    r.put(["a2"], {"k": "a"})  # a is now the most recently used
    r.drain()
    r.put(["c"], {"k": "c"})  # evicts b
    r.drain()
    assert sorted(r.files()) == [f"a/FlumeData.{MS + 1}.tmp", f"b/FlumeData.{MS + 1}", f"c/FlumeData.{MS + 1}.tmp"]
    r.put(["b2"], {"k": "b"})  # b opens a new file and evicts a
    r.drain()
    r.sink.stop()
    assert {k: lines(v) for k, v in r.files().items()} == {
        f"a/FlumeData.{MS + 1}": [b"a", b"a2"], f"b/FlumeData.{MS + 1}": [b"b"], f"b/FlumeData.{MS + 2}": [b"b2"],
        f"c/FlumeData.{MS + 1}": [b"c"]}


# -- file types and codecs ------------------------------------------------------------------------
@pytest.mark.parametrize("write_format, value_class", [("Writable", "org.apache.hadoop.io.BytesWritable"),
                                                       ("Text", "org.apache.hadoop.io.Text")])
@pytest.mark.parametrize("codec, ext", [("", ""), ("gzip", ".gz"), ("bzip2", ".bz2"), ("deflate", ".deflate")])
def test_sequence_files(rigs, tmp_path: Path, write_format: str, value_class: str, codec: str, ext: str) -> None:
    keys = {"hdfs.rollCount": "50", "hdfs.rollSize": "0", "hdfs.writeFormat": write_format, "hdfs.batchSize": "7"}
    if codec:
        keys["hdfs.codeC"] = codec
    r = rig_for(rigs, tmp_path, keys)
    events = [Event(f"event {i} ".encode() * 30, {"timestamp": str(MS + i)}) for i in range(60)]
    r.put_events(events)
    r.drain()
    r.sink.stop()
    files = r.files()
    assert list(files) == [f"FlumeData.{MS + 1}{ext}", f"FlumeData.{MS + 2}{ext}"]
    records = []
    for data in files.values():
        f = parse(data)
        assert (f.key_class, f.value_class) == ("org.apache.hadoop.io.LongWritable", value_class)
        assert f.block == bool(codec)
        records += f.records
    assert records == [(MS + i, e.body) for i, e in enumerate(events)]


def test_sequence_file_key_falls_back_to_the_clock(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, {})
    r.put(["a"], stamp=False)
    r.drain()
    r.sink.stop()
    assert parse(next(iter(r.files().values()))).records == [(MS, b"a")]


def test_a_batch_without_headers_is_written_from_its_bodies(rigs, tmp_path: Path) -> None:
    """An EventBatch (exec's) reaches the sink whole; SequenceFile and DataStream write its bodies
    without making an event, with the clock as the SequenceFile key."""
    for file_type in ("SequenceFile", "DataStream"):
        r = rig_for(rigs, tmp_path / file_type, {"hdfs.fileType": file_type, "hdfs.rollCount": "0"})
        batch = EventBatch([b"a", b"bb", b"c"])
        with r.channel.transaction() as tx:
            tx.put_batch(batch)
        r.drain()
        r.sink.stop()
        assert batch.plain  # no event object was made on the way
        data = next(iter(r.files().values()))
        if file_type == "SequenceFile":
            assert parse(data).records == [(MS, b"a"), (MS, b"bb"), (MS, b"c")]
        else:
            assert data == b"a\nbb\nc\n"


def test_data_stream_with_header_and_text_serializer(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, dict(DS, serializer="header_and_text", **{"serializer.appendNewline": "true"}))
    r.put(["hello"], {"host": "h1"}, stamp=False)
    r.drain()
    r.sink.stop()
    assert list(r.files().values()) == [b"{host=h1} hello\n"]


def test_data_stream_with_avro_serializer(rigs, tmp_path: Path) -> None:
    import fastavro

    r = rig_for(rigs, tmp_path, dict(DS, serializer="avro_event"))
    r.put(["a", "b"], {"k": "v"}, stamp=False)
    r.drain()
    r.put(["c"], stamp=False)
    r.drain()
    r.sink.stop()
    recs = list(fastavro.reader(io.BytesIO(next(iter(r.files().values())))))
    assert [(x["headers"], x["body"]) for x in recs] == [({"k": "v"}, b"a"), ({"k": "v"}, b"b"), ({}, b"c")]


@pytest.mark.parametrize("codec, ext, decompress", [
    ("gzip", ".gz", gunzip), ("bzip2", ".bz2", bz2.decompress), ("deflate", ".deflate", None)])
def test_compressed_streams(rigs, tmp_path: Path, codec: str, ext: str, decompress) -> None:
    r = rig_for(rigs, tmp_path, dict(DS, **{"hdfs.fileType": "CompressedStream", "hdfs.codeC": codec,
                                            "hdfs.batchSize": "10"}))
    bodies = r.put(f"line {i}" for i in range(35))  # 4 batches -> 4 compressed members
    r.drain()
    in_use = r.files()
    r.sink.stop()
    (name, data), = r.files().items()
    assert name == f"FlumeData.{MS + 1}{ext}"
    assert in_use == {name + ".tmp": data}  # every batch was complete on disk before the commit
    if decompress is None:
        out, rest = [], data
        while rest:
            d = zlib.decompressobj()
            out.append(d.decompress(rest))
            rest = d.unused_data
        plain = b"".join(out)
    else:
        plain = decompress(data)
    assert lines(plain) == bodies


def test_parquet_files(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, {"hdfs.fileType": "Parquet", "hdfs.codeC": "snappy", "hdfs.rollCount": "0",
                                 "hdfs.rollSize": "0", "hdfs.fileSuffix": ".parquet", "hdfs.batchSize": "3"})
    r.put(["a", "b", "c", "d"], {"h": "1"}, stamp=False)
    r.drain()
    r.sink.stop()
    (name, data), = r.files().items()
    assert name == f"FlumeData.{MS + 1}.parquet"
    table = pq.read_table(io.BytesIO(data))
    assert table.column("body").to_pylist() == [b"a", b"b", b"c", b"d"]
    assert table.column("headers").to_pylist() == [[("h", "1")]] * 4


# -- configuration -----------------------------------------------------------------------------
def configure(keys: dict[str, str]) -> HDFSEventSink:
    s = HDFSEventSink("k1")
    s.configure(Context(dict({"hdfs.path": "/tmp/x"}, **keys), prefix="a1.sinks.k1."))
    return s


@pytest.mark.parametrize("keys, message", [
    ({"hdfs.path": ""}, "hdfs.path: is required"),
    ({"hdfs.fileType": "DataStream", "hdfs.codeC": "gzip"}, "hdfs.codeC: DataStream files are not compressed"),
    ({"hdfs.fileType": "CompressedStream"}, "hdfs.codeC: is required for hdfs.fileType = CompressedStream"),
    ({"hdfs.codeC": "snappy"}, "hdfs.codeC: codec 'snappy' is not available"),
    ({"hdfs.fileType": "Avro"}, "hdfs.fileType: 'Avro' is not valid: expected one of: SequenceFile"),
    ({"hdfs.path": "/x/%Q"}, "hdfs.path: unsupported escape %Q"),
    ({"hdfs.timeZone": "Mars/Base"}, "hdfs.timeZone: 'Mars/Base' is not a known time zone"),
    ({"hdfs.round": "true", "hdfs.roundUnit": "hour", "hdfs.roundValue": "25"}, "at most 24"),
    ({"hdfs.batchSize": "0"}, "hdfs.batchSize: '0' is not valid: expected a positive integer"),
    ({"hdfs.fileType": "Parquet", "hdfs.codeC": "bzip2"}, "'bzip2' is not a Parquet codec"),
])
def test_configuration_errors_name_the_key(keys: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as e:
        configure(keys)
    assert message in str(e.value)
    assert "a1.sinks.k1." in str(e.value)


def test_tutorial_keys_without_the_hdfs_prefix_get_a_did_you_mean() -> None:
    ctx = Context({"hdfs.path": "/tmp/x", "rollInterval": "0", "rollSize": "0", "rollCount": "100"},
                  prefix="a1.sinks.k1.")
    HDFSEventSink("k1").configure(ctx)
    text = "\n".join(str(p) for p in unknown_key_problems(ctx, HDFSEventSink.PROPS))
    for key in ("rollInterval", "rollSize", "rollCount"):
        assert f"a1.sinks.k1.{key}: warning: unknown key, ignored; did you mean hdfs.{key}?" in text


def test_lower_case_values_are_accepted() -> None:
    s = configure({"hdfs.fileType": "datastream", "hdfs.writeFormat": "text", "hdfs.timeZone": "GMT+02:00"})
    assert s.file_type is not None and s.file_type.name == "DataStream"
    assert s.tz is not None


# -- crash recovery -------------------------------------------------------------------------------
def test_in_use_files_left_by_a_crash_are_renamed_on_start(tmp_path: Path) -> None:
    keys = ds(path="{out}/%{k}/%Y", rollCount="2", timeZone="UTC")
    crashed = make_rig(tmp_path, keys)
    crashed.put(["a", "b", "c"], {"k": "x"})
    crashed.put(["d"], {"k": "y"})
    crashed.drain()
    # the process dies here: no stop(), files stay in use
    assert sorted(crashed.files()) == [f"x/2023/FlumeData.{MS + 1}", f"x/2023/FlumeData.{MS + 2}.tmp",
                                       f"y/2023/FlumeData.{MS + 1}.tmp"]
    (crashed.out / "x" / "2023" / "other.1.tmp").write_bytes(b"not ours")
    restarted = make_rig(tmp_path, keys)
    try:
        assert restarted.files() == crashed.files() | {"x/2023/other.1.tmp": b"not ours"}  # start() does no I/O
        restarted.drain()  # the first process() call recovers
        assert restarted.files() == {
            f"x/2023/FlumeData.{MS + 1}": b"a\nb\n", f"x/2023/FlumeData.{MS + 2}": b"c\n",
            f"y/2023/FlumeData.{MS + 1}": b"d\n", "x/2023/other.1.tmp": b"not ours"}
    finally:
        restarted.sink.stop()


def test_recovery_can_be_switched_off(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "FlumeData.5.tmp").write_bytes(b"x")
    r = make_rig(tmp_path, ds(recoverInUseFiles="false"))
    r.drain()
    r.sink.stop()
    assert r.files() == {"FlumeData.5.tmp": b"x"}


# -- failures: nothing is lost --------------------------------------------------------------------
@pytest.mark.parametrize("op", ["create", "write", "sync", "close", "rename"])
def test_a_failing_filesystem_call_rolls_back_and_the_retry_delivers(rigs, tmp_path: Path, op: str) -> None:
    faults = Faults()
    r = rig_for(rigs, tmp_path, ds(rollCount="3", retryInterval="1"), fs=FlakyFileSystem(faults))
    first = r.put(["a", "b"])
    r.drain()
    faults.left[op] = 1
    rest = r.put(["c", "d", "e"])  # c fills the first file, d rolls it (close + rename), e goes to the next
    try:
        r.drain()
    except EventDeliveryError as e:
        assert f"injected {op} failure" in str(e)
        assert "rolled back" in str(e)
        assert r.channel.size() == 3
        r.clock.advance(1)
        r.drain()
    assert r.channel.size() == 0
    r.clock.advance(1)
    r.drain()  # a failed close/rename is retried after retryInterval
    r.sink.stop()
    files = r.files()
    assert not any(n.endswith(".tmp") for n in files), files
    delivered = [line for v in files.values() for line in lines(v)]
    assert set(delivered) == set(first + rest)  # at least once; duplicates only from the failed batch
    assert delivered[:2] == first


def test_a_hanging_call_times_out_by_call_timeout(rigs, tmp_path: Path) -> None:
    faults = Faults(hang=threading.Event())
    r = rig_for(rigs, tmp_path, ds(callTimeout="100"), fs=FlakyFileSystem(faults))
    r.put(["a"])
    try:
        r.sink.process()  # the write runs in the I/O pool; the next call waits for it
        with pytest.raises(EventDeliveryError, match=r"timed out after 100 ms \(hdfs.callTimeout\)"):
            r.sink.process()
        assert r.channel.size() == 1
    finally:
        faults.hang.set()
    faults.hang = None
    r.drain()
    r.sink.stop()
    assert b"a" in [line for v in r.files().values() for line in lines(v)]


def test_stop_closes_and_renames_every_file(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, ds(path="{out}/%{k}"))
    r.put(["1"], {"k": "a"})
    r.put(["2"], {"k": "b"})
    r.drain()
    assert r.sink.counters.get("ConnectionCreatedCount") == 2
    r.sink.stop()
    r.sink.stop()
    assert r.files() == {f"a/FlumeData.{MS + 1}": b"1\n", f"b/FlumeData.{MS + 1}": b"2\n"}
    assert r.sink.counters.get("ConnectionClosedCount") == 2


# -- overlapped batches -------------------------------------------------------------------------------
def test_a_batch_commits_on_the_call_after_the_one_that_started_its_write(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, ds(batchSize="2"), fs=FlakyFileSystem(Faults()))  # calls in the I/O pool
    r.put(["a", "b", "c", "d"])
    done = lambda: r.sink.counters.get("EventDrainSuccessCount")  # noqa: E731
    assert r.sink.process().name == "READY"  # a, b: written in the pool, not committed yet
    assert done() == 0 and r.channel.size() == 2
    assert r.sink.process().name == "READY"  # c, d taken and encoded; a, b committed
    assert done() == 2 and r.channel.size() == 0
    assert r.sink.process().name == "READY"  # nothing to take: c, d committed
    assert done() == 4
    assert r.sink.process().name == "BACKOFF"
    r.sink.stop()
    assert [line for v in r.files().values() for line in lines(v)] == [b"a", b"b", b"c", b"d"]


def test_a_failed_write_rolls_back_the_batch_and_the_next_one_in_order(rigs, tmp_path: Path) -> None:
    faults = Faults(left={"sync": 1})
    r = rig_for(rigs, tmp_path, ds(batchSize="2"), fs=FlakyFileSystem(faults))
    r.put(["a", "b", "c", "d"])
    r.sink.process()  # a, b: their sync fails in the pool
    with pytest.raises(EventDeliveryError, match="injected sync failure"):
        r.sink.process()  # c, d taken, then a, b found failed: both go back
    assert r.channel.size() == 4 and r.channel._in_flight == 0
    assert r.sink.counters.get("EventDrainSuccessCount") == 0
    assert queued_bodies(r) == [b"a", b"b", b"c", b"d"]  # the channel still holds them in their order


def test_settle_commits_the_batch_in_flight(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, ds(batchSize="10"), fs=FlakyFileSystem(Faults()))
    r.put(["a", "b"])
    r.sink.process()
    assert r.channel._in_flight == 2
    r.sink.settle()
    assert r.channel._in_flight == 0 and r.sink.counters.get("EventDrainSuccessCount") == 2
    r.sink.stop()
    assert [line for v in r.files().values() for line in lines(v)] == [b"a", b"b"]


def test_batches_waiting_while_a_write_is_in_flight_go_out_in_one_write_and_sync(rigs, tmp_path: Path) -> None:
    faults = Faults(hang=threading.Event())
    r = rig_for(rigs, tmp_path, ds(batchSize="2"), fs=FlakyFileSystem(faults))  # calls in the I/O pool
    bodies = r.put(["a", "b"])
    assert r.sink.process().name == "READY"  # a, b: their sync hangs in the pool
    bodies += r.put(["c", "d", "e", "f", "g", "h", "i"])
    threading.Timer(0.3, faults.hang.set).start()
    assert r.sink.process().name == "READY"  # c-h taken while a, b were in flight; then a, b committed
    c = r.sink.counters
    assert c.get("EventDrainSuccessCount") == 2 and r.channel.size() == 1 and r.channel._in_flight == 6
    r.sink.settle()
    assert c.get("EventDrainSuccessCount") == 8 and c.get("BatchCompleteCount") == 4
    assert faults.seen.count("sync") == 2 and faults.seen.count("write") == 2  # c-h: one write, one sync
    r.drain()
    r.sink.stop()
    assert [line for v in r.files().values() for line in lines(v)] == bodies


def test_a_failed_group_write_rolls_back_every_batch_of_it_in_order(rigs, tmp_path: Path) -> None:
    faults = Faults(hang=threading.Event())
    r = rig_for(rigs, tmp_path, ds(batchSize="2", retryInterval="1"), fs=FlakyFileSystem(faults))
    bodies = r.put(["a", "b"])
    r.sink.process()  # a, b: their sync hangs in the pool

    def fail_the_next_sync() -> None:
        faults.left["sync"] = 1  # a, b's sync already passed its check: c-f's fails
        faults.hang.set()

    bodies += r.put(["c", "d", "e", "f"])
    threading.Timer(0.3, fail_the_next_sync).start()
    r.sink.process()  # c-f taken as a group; a, b committed; c-f's write starts
    with pytest.raises(EventDeliveryError, match="writing 4 events .*injected sync failure"):
        r.sink.process()
    assert r.sink.counters.get("EventDrainSuccessCount") == 2
    assert r.channel.size() == 4 and r.channel._in_flight == 0
    assert queued_bodies(r) == bodies[2:]  # back in the channel in their order
    r.clock.advance(1)
    r.drain()
    assert_every_file_closed_holding(r, bodies)


def test_local_files_are_written_on_the_sink_thread_and_commit_at_once(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, ds(batchSize="2"))
    r.put(["a", "b", "c"])
    assert r.sink.process().name == "READY"
    assert r.sink.counters.get("EventDrainSuccessCount") == 2 and r.channel._in_flight == 0
    assert [line for v in r.files().values() for line in lines(v)] == [b"a", b"b"]  # on disk already


# -- group commit on local files ------------------------------------------------------------------------
def test_a_backlog_of_batches_is_made_durable_by_one_sync_and_each_batch_commits(rigs, tmp_path: Path) -> None:
    faults = Faults()
    r = rig_for(rigs, tmp_path, ds(batchSize="2"), fs=LocalFlakyFileSystem(faults))
    bodies = r.put(["a", "b", "c", "d", "e", "f", "g"])
    assert r.sink.process().name == "READY"
    # a-f (three full batches) in one write and one sync; g, a partial batch, was never taken
    assert faults.seen.count("sync") == 1 and faults.seen.count("write") == 1
    c = r.sink.counters
    assert (c.get("EventDrainSuccessCount"), c.get("BatchCompleteCount"), c.get("BatchUnderflowCount")) == (6, 3, 0)
    assert r.channel.size() == 1 and r.channel._in_flight == 0
    assert [line for v in r.files().values() for line in lines(v)] == bodies[:6]  # on disk already
    r.drain()
    assert faults.seen.count("sync") == 2
    assert [line for v in r.files().values() for line in lines(v)] == bodies


def test_a_group_stops_at_group_events(rigs, tmp_path: Path, monkeypatch) -> None:
    from flumepy.sinks.hdfs import sink as sink_module

    monkeypatch.setattr(sink_module, "GROUP_EVENTS", 4)
    faults = Faults()
    r = rig_for(rigs, tmp_path, ds(batchSize="2"), fs=LocalFlakyFileSystem(faults))
    r.put([str(i) for i in range(10)])
    r.sink.process()
    assert r.sink.counters.get("EventDrainSuccessCount") == 4 and faults.seen.count("sync") == 1


def test_a_failed_sync_rolls_back_every_batch_of_the_group_in_order(rigs, tmp_path: Path) -> None:
    faults = Faults(left={"sync": 1})
    r = rig_for(rigs, tmp_path, ds(batchSize="2", retryInterval="1"), fs=LocalFlakyFileSystem(faults))
    bodies = r.put(["a", "b", "c", "d", "e", "f"])
    with pytest.raises(EventDeliveryError, match="writing 6 events .*injected sync failure.*rolled back"):
        r.sink.process()
    assert r.channel.size() == 6 and r.channel._in_flight == 0
    assert r.sink.counters.get("EventDrainSuccessCount") == 0 and r.sink.counters.get("EventWriteFail") == 1
    assert queued_bodies(r) == bodies  # back in the channel in their order
    r.drain()
    r.clock.advance(1)
    r.drain()
    assert_every_file_closed_holding(r, bodies)


def test_a_later_batch_that_cannot_be_written_leaves_the_earlier_ones_committed(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, ds(batchSize="2", path="{out}/%Y"))
    r.put(["a", "b"])
    r.put(["c", "d"], stamp=False)
    with pytest.raises(EventDeliveryError, match="no 'timestamp' header"):
        r.sink.process()
    assert r.sink.counters.get("EventDrainSuccessCount") == 2 and r.channel.size() == 2
    assert [line for v in r.files().values() for line in lines(v)] == [b"a", b"b"]


def test_a_group_from_the_file_channel_commits_every_transaction_durably(tmp_path: Path) -> None:
    from flumepy.channels.file.channel import FileChannel

    def channel() -> FileChannel:
        ch = FileChannel("c1")
        ch.configure(Context({"checkpointDir": str(tmp_path / "cp"), "dataDirs": str(tmp_path / "data"),
                              "minimumRequiredSpace": "0", "keep-alive": "0"}))
        ch.TAKE_LINGER = 0.0  # type: ignore[misc]
        ch.start()
        return ch

    ch = channel()
    faults = Faults()
    sink = HDFSEventSink("k1")
    sink.configure(Context({"hdfs.path": str(tmp_path / "out"), **ds(batchSize="3")}, prefix="a1.sinks.k1."))
    sink.filesystem = LocalFlakyFileSystem(faults)
    sink.channel = ch
    sink.start()
    bodies = [b"e%d" % i for i in range(9)]
    with ch.transaction() as tx:
        tx.put_batch([Event(b) for b in bodies])
    assert sink.process().name == "READY"
    assert faults.seen.count("sync") == 1 and sink.counters.get("BatchCompleteCount") == 3
    sink.stop()
    ch.stop()
    ch = channel()  # the three take commits were logged: nothing comes back after a restart
    try:
        assert ch.size() == 0
    finally:
        ch.stop()
    out = [line for p in sorted((tmp_path / "out").iterdir()) for line in lines(p.read_bytes())]
    assert out == bodies


# -- buckets by time alone ---------------------------------------------------------------------------
def test_time_buckets_keep_each_buckets_order_when_a_batch_spans_two(rigs, tmp_path: Path) -> None:
    r = rig_for(rigs, tmp_path, ds(path="{out}/%H", timeZone="UTC"))
    r.put_events([Event(b"a", {"timestamp": str(MS)}), Event(b"b", {"timestamp": str(MS + 3600_000)}),
                  Event(b"c", {"timestamp": str(MS + 1)})])
    r.drain()
    r.sink.stop()
    assert {k.split("/")[0]: lines(v) for k, v in r.files().items()} == {"22": [b"a", b"c"], "23": [b"b"]}


def test_time_buckets_read_a_batchs_timestamp_column_without_making_events(rigs, tmp_path: Path) -> None:
    made: list[int] = []

    def make(i: int) -> dict[str, str]:
        made.append(i)
        return {"timestamp": str(MS + i)}

    make.column = lambda name, args: [str(MS + i) for i in args] if name == "timestamp" else None  # type: ignore[attr-defined]
    r = rig_for(rigs, tmp_path, ds(path="{out}/%Y%m%d/%H", timeZone="UTC"))
    r.put_events(EventBatch([b"x", b"y"], make, [0, 1]))  # type: ignore[arg-type]
    r.drain()
    r.sink.stop()
    assert made == []
    assert r.files() == {f"20231114/22/FlumeData.{MS + 1}": b"x\ny\n"}
    bad = rig_for(rigs, tmp_path / "bad", ds(path="{out}/%H", timeZone="UTC"))
    bad.put(["z"], {"timestamp": "yesterday"}, stamp=False)
    with pytest.raises(EventDeliveryError, match="'timestamp' header 'yesterday' is not epoch milliseconds"):
        bad.sink.process()
    assert bad.channel.size() == 1


def test_a_host_escape_alone_needs_no_timestamp(rigs, tmp_path: Path) -> None:
    import socket

    r = rig_for(rigs, tmp_path, ds(path="{out}/%[localhost]"))
    r.put(["a"], stamp=False)
    r.drain()
    r.sink.stop()
    assert list(r.files()) == [f"{socket.gethostname()}/FlumeData.{MS + 1}"]


def test_header_and_time_escapes_read_columns_and_group_each_combination(rigs, tmp_path: Path) -> None:
    made: list[int] = []
    rows = [("web", MS), ("db", MS), ("web", MS + 3600_000), ("web", MS + 5)]

    def make(i: int) -> dict[str, str]:
        made.append(i)
        return {"topic": rows[i][0], "timestamp": str(rows[i][1])}

    def column(name: str, args: list[int]) -> list[str | None] | None:
        if name == "topic":
            return [rows[i][0] for i in args]
        return [str(rows[i][1]) for i in args] if name == "timestamp" else None

    make.column = column  # type: ignore[attr-defined]
    r = rig_for(rigs, tmp_path, ds(path="{out}/%{topic}/%H", filePrefix="x", timeZone="UTC"))
    r.put_events(EventBatch([b"a", b"b", b"c", b"d"], make, [0, 1, 2, 3]))  # type: ignore[arg-type]
    r.drain()
    r.sink.stop()
    got = {k.rsplit(".", 1)[0]: lines(v) for k, v in r.files().items()}
    assert got == {"web/22/x": [b"a", b"d"], "db/22/x": [b"b"], "web/23/x": [b"c"]}
    assert made == []  # split into three buckets, yet no headers dict was made
    host = rig_for(rigs, tmp_path / "h", ds(path="{out}/%{host}", timeZone="UTC"))
    host.put(["h"], {"host": "n1"})  # a list of events: their headers, read as a column
    host.drain()
    host.sink.stop()
    assert list(host.files()) == [f"n1/FlumeData.{MS + 1}"]
