"""The hdfs sink when HDFS fails: DataNode stopped and restarted mid-stream, NameNode down at start."""

from __future__ import annotations

import time
from pathlib import Path

from flumepy.core.errors import EventDeliveryError
from tests.fixtures.hdfs import HdfsCluster
from tests.sinks.hdfs.util import make_rig
from tests.util import free_port, wait_until, write_conf


def test_datanode_stopped_and_restarted_mid_stream_loses_nothing(hdfs_private_cluster, tmp_path: Path) -> None:
    cluster = hdfs_private_cluster
    r = make_rig(tmp_path, {"hdfs.path": cluster.namenode_url + "/dn-restart", "hdfs.fileType": "DataStream",
                            "hdfs.batchSize": "10", "hdfs.rollCount": "0", "hdfs.rollSize": "0",
                            "hdfs.rollInterval": "0", "hdfs.callTimeout": "5000", "hdfs.retryInterval": "1"})
    r.sink.clock = time.time  # type: ignore[method-assign]
    r.sink.sleep = time.sleep  # type: ignore[method-assign]
    failures: list[str] = []

    def step() -> None:
        try:
            r.sink.process()
        except EventDeliveryError as e:
            failures.append(str(e))
            time.sleep(0.5)

    try:
        sent = r.put(f"before {i}" for i in range(30))
        r.drain()
        cluster.stop_datanode()
        sent += r.put(f"during {i}" for i in range(30))
        for _ in range(3):
            step()
        assert failures, "writes kept succeeding with the only DataNode stopped"
        assert r.channel.size() > 0  # the failed batch is back in the channel
        cluster.start_datanode()
        cluster.wait_ready()
        sent += r.put(f"after {i}" for i in range(30))
        wait_until(lambda: (step(), r.channel.size() == 0 and not r.sink._pending)[1], 120, interval=0,
                   what="every batch delivered and every failed file closed")
    finally:
        r.sink.stop()
        r.channel.stop()
    listing = cluster.fs_shell("-ls", "/dn-restart").stdout.decode().splitlines()
    files = [line.split()[-1] for line in listing if line.startswith("-")]
    assert files and not any(f.endswith(".tmp") for f in files), listing
    got = cluster.fs_shell("-cat", *files).stdout.splitlines()
    assert set(got) == set(sent)  # at least once: a failed batch may be written twice, none is missing
    assert "rolled back" in failures[0]


def test_namenode_unreachable_at_start_is_reported_and_retried(tmp_path: Path, agent_process: type) -> None:
    port = free_port()
    conf = write_conf(tmp_path, f"""
        a1.sources = r1
        a1.channels = c1
        a1.sinks = k1
        a1.sources.r1.type = seq
        a1.sources.r1.totalEvents = 100
        a1.sources.r1.channels = c1
        a1.channels.c1.type = memory
        a1.sinks.k1.type = hdfs
        a1.sinks.k1.channel = c1
        a1.sinks.k1.hdfs.path = hdfs://127.0.0.1:{port}/flumedata
        a1.sinks.k1.hdfs.fileType = DataStream
        a1.sinks.k1.hdfs.rollCount = 0
        a1.sinks.k1.hdfs.callTimeout = 3000
    """)
    agent = agent_process(conf, "a1").start()
    agent.wait_started()
    agent.wait_for_output(rf"writing 100 events to hdfs://127.0.0.1:{port}/flumedata failed: .*rolled back", 60)
    cluster = HdfsCluster(tmp_path / "hdfs", namenode_port=port).start()
    try:
        def lines() -> int:
            r = cluster.fs_shell("-cat", "/flumedata/*", check=False)
            return len(r.stdout.splitlines())

        wait_until(lambda: lines() == 100, 90, interval=1, what="100 events on HDFS once the NameNode is up")
        assert agent.terminate() == 0
        assert sorted(cluster.fs_shell("-cat", "/flumedata/*").stdout.splitlines(), key=int) == \
            [str(i).encode() for i in range(100)]
    finally:
        cluster.stop()
