"""The hdfs sink on a real HDFS (NameNode + DataNode started by the suite), read back by Hadoop's own shell."""

from __future__ import annotations

import gzip
import uuid
from pathlib import Path

import pytest

from flumepy.core.event import Event
from tests.sinks.hdfs.seqread import parse
from tests.sinks.hdfs.util import T0, make_rig
from tests.util import wait_until, write_conf

MS = int(T0 * 1000)


def hdfs_dir(cluster) -> str:
    return f"/flumepy-sink/{uuid.uuid4().hex[:12]}"


def closed_files(sink) -> list[str]:
    fs = sink.fs
    out = []
    todo = [sink._root.split("%")[0].rstrip("/")]
    while todo:
        for info in fs.list(todo.pop()):
            if info.is_dir:
                todo.append(info.path)
            else:
                out.append(info.path)
    return sorted(out)


@pytest.fixture
def rigs():
    made = []
    yield made
    for r in made:
        r.sink.stop()
        r.channel.stop()


@pytest.mark.parametrize("write_format, codec", [("Writable", ""), ("Text", "gzip"), ("Writable", "deflate"),
                                                 ("Text", "bzip2"), ("Text", "")])
def test_sequence_files_read_by_hadoop_text(hdfs_cluster, rigs, tmp_path: Path, write_format: str,
                                             codec: str) -> None:
    d = hdfs_dir(hdfs_cluster)
    keys = {"hdfs.path": hdfs_cluster.namenode_url + d, "hdfs.writeFormat": write_format, "hdfs.rollCount": "300",
            "hdfs.rollSize": "0", "hdfs.batchSize": "50"}
    if codec:
        keys["hdfs.codeC"] = codec
    r = make_rig(tmp_path, keys)
    rigs.append(r)
    events = [Event(f"event {i} \u00e9".encode(), {"timestamp": str(MS + i)}) for i in range(500)]
    r.put_events(events)
    r.drain()
    r.sink.stop()
    files = closed_files(r.sink)
    assert len(files) == 2 and not any(f.endswith(".tmp") for f in files)
    # our reader, through the backend
    records = []
    for f in files:
        with r.sink.fs.open(f) as fh:
            records += parse(fh.read()).records
    assert records == [(MS + i, e.body) for i, e in enumerate(events)]
    # Hadoop's reader: "key<TAB>value" per record
    out = hdfs_cluster.fs_shell("-text", *files).stdout.decode("utf-8").splitlines()
    if write_format == "Text":
        expected = [f"{MS + i}\t{e.body.decode()}" for i, e in enumerate(events)]
    else:  # BytesWritable prints its bytes in hex
        expected = [f"{MS + i}\t{' '.join(f'{b:02x}' for b in e.body)}" for i, e in enumerate(events)]
    assert out == expected


def test_streams_read_by_hadoop_cat_and_text(hdfs_cluster, rigs, tmp_path: Path) -> None:
    base = hdfs_cluster.namenode_url + hdfs_dir(hdfs_cluster)
    common = {"hdfs.rollCount": "0", "hdfs.rollSize": "0", "hdfs.rollInterval": "0", "hdfs.batchSize": "40"}
    plain = make_rig(tmp_path / "a", dict(common, **{"hdfs.path": base + "/plain", "hdfs.fileType": "DataStream"}))
    packed = make_rig(tmp_path / "b", dict(common, **{"hdfs.path": base + "/gz", "hdfs.fileType": "CompressedStream",
                                                        "hdfs.codeC": "gzip"}))
    rigs += [plain, packed]
    bodies = plain.put(f"line {i}" for i in range(100))
    packed.put(f"line {i}" for i in range(100))
    plain.drain()
    packed.drain()
    # while open: the .tmp file already holds every committed batch (hsync before commit)
    [tmp] = closed_files(plain.sink)
    assert tmp.endswith(".tmp")
    assert hdfs_cluster.fs_shell("-cat", tmp).stdout.splitlines() == bodies
    plain.sink.stop()
    packed.sink.stop()
    [p] = closed_files(plain.sink)
    [g] = closed_files(packed.sink)
    assert g.endswith(".gz")
    out = hdfs_cluster.fs_shell("-cat", p).stdout
    assert out.splitlines() == bodies
    raw = hdfs_cluster.fs_shell("-cat", g).stdout
    assert gzip.decompress(raw).splitlines() == bodies
    assert hdfs_cluster.fs_shell("-text", g).stdout.splitlines() == bodies


def test_buckets_rolls_and_max_open_files_on_hdfs(hdfs_cluster, rigs, tmp_path: Path) -> None:
    d = hdfs_dir(hdfs_cluster)
    r = make_rig(tmp_path, {"hdfs.path": hdfs_cluster.namenode_url + d + "/%{k}/%Y%m%d", "hdfs.timeZone": "UTC",
                            "hdfs.fileType": "DataStream", "hdfs.rollCount": "3", "hdfs.rollSize": "0",
                            "hdfs.maxOpenFiles": "1"})
    rigs.append(r)
    r.put(["a1", "a2", "a3", "a4"], {"k": "a"})
    r.put(["b1"], {"k": "b"})  # evicts a's open file
    r.drain()
    r.sink.stop()
    names = [f.split(d, 1)[1] for f in closed_files(r.sink)]
    assert names == [f"/a/20231114/FlumeData.{MS + 1}", f"/a/20231114/FlumeData.{MS + 2}",
                     f"/b/20231114/FlumeData.{MS + 1}"]
    out = hdfs_cluster.fs_shell("-cat", *(d + n for n in names)).stdout
    assert out.splitlines() == [b"a1", b"a2", b"a3", b"a4", b"b1"]


def test_agent_on_hdfs_killed_then_restarted_recovers_the_lease(hdfs_cluster, tmp_path: Path,
                                                                 agent_process: type) -> None:
    d = hdfs_dir(hdfs_cluster)
    conf_text = """
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = seq
        a1.sources.r1.totalEvents = {n}
        a1.sources.r1.channels = c1
        a1.channels.c1.type = memory
        a1.channels.c1.capacity = 10000
        a1.channels.c1.transactionCapacity = 1000
        a1.sinks.k1.type = hdfs
        a1.sinks.k1.channel = c1
        a1.sinks.k1.hdfs.path = {url}
        a1.sinks.k1.hdfs.fileType = DataStream
        a1.sinks.k1.hdfs.batchSize = 500
        rollInterval = 0
        a1.sinks.k1.hdfs.rollInterval = 0
        a1.sinks.k1.hdfs.rollSize = 0
        a1.sinks.k1.hdfs.rollCount = 1500
    """
    url = hdfs_cluster.namenode_url + d
    agent = agent_process(write_conf(tmp_path, conf_text.format(n=2000, url=url)), "a1").start()
    agent.wait_started()

    def listing() -> list[str]:
        r = hdfs_cluster.fs_shell("-ls", d, check=False)
        return [line.split()[-1] for line in r.stdout.decode().splitlines() if line.startswith("-")]

    def total_lines() -> int:
        r = hdfs_cluster.fs_shell("-cat", d + "/*", check=False)
        return len(r.stdout.splitlines())

    wait_until(lambda: total_lines() == 2000, 60, interval=0.5, what="2000 lines on HDFS")
    agent.kill()  # kill -9: the second file stays open (.tmp) with its lease held
    assert [n.endswith(".tmp") for n in listing()] == [False, True]
    again = agent_process(write_conf(tmp_path, conf_text.format(n=0, url=url), name="b.conf"), "a1").start()
    again.wait_started()
    wait_until(lambda: not any(n.endswith(".tmp") for n in listing()), 60, interval=0.5,
               what="the in-use file renamed after lease recovery")
    assert again.terminate() == 0
    out = hdfs_cluster.fs_shell("-cat", *listing()).stdout
    assert out.splitlines() == [str(i).encode() for i in range(2000)]
