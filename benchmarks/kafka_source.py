#!/usr/bin/env python3
"""Kafka source throughput beside the raw confluent-kafka consume rate from the same topic; prints a table.

    python benchmarks/kafka_source.py                           # starts a Tansu broker (tests' fixture code)
    python benchmarks/kafka_source.py --bootstrap host:9092     # an existing broker
    python benchmarks/kafka_source.py --events 500000 --repeats 3
    python benchmarks/kafka_source.py --more                    # + hdfs SequenceFile and a dated path
    python benchmarks/kafka_source.py --hdfs                    # + a real HDFS (tests' fixture) over hdfs://

The topic (4 partitions) gets N 100-byte records once. ``raw`` reads all of them with a bare
confluent-kafka consumer (partitions assigned, no group, ``consume(1000)`` loop, bodies touched) with
the client settings the source changes from librdkafka's defaults (``CONSUMER_DEFAULTS``: without
them librdkafka pauses fetching for a second whenever its prefetch queue runs full, in raw and
pipeline runs alike).
``raw + Event`` is the same loop building one bare ``Event(body)`` per record: the least Python work
any source must do, shown as the floor of what a pipeline can reach.
The pipeline rows run the real Agent in-process, kafka source (fresh group, earliest) -> memory
channel -> null or hdfs (DataStream to a local directory; with ``--hdfs`` also to a single-node HDFS
started on this machine, NameNode + DataNode, written over ``hdfs://``).  Every row is timed in steady state, from
the moment 10% of the records were read (raw) or committed by the sink (pipelines) until the last
one: Tansu often stalls a new consumer for about a second right after its first fetch, which would
otherwise decide the numbers.  ``ratio`` is events/s over the raw events/s of the same round (raw, raw +
Event and the pipelines run back to back in each round); the table shows medians (target >= 70%).
Never used by tests as an assertion.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from flumepy.agent import tune_runtime  # noqa: E402
from flumepy.core.event import Event  # noqa: E402
from flumepy.kafka.client import CONSUMER_DEFAULTS  # noqa: E402
from flumepy.testing.harness import run_pipeline  # noqa: E402

FAST = {"session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"}


def fill(bootstrap: str, topic: str, events: int) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for fut in admin.create_topics([NewTopic(topic, 4, 1)]).values():
        fut.result(30)
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, "batch.num.messages": 10000})
    body = b"x" * 100
    for _ in range(events):
        while True:
            try:
                p.produce(topic, body)
                break
            except BufferError:
                p.poll(0.05)
    assert p.flush(120) == 0


def raw(bootstrap: str, topic: str, events: int, build: bool = False) -> float:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"raw-{uuid.uuid4().hex}", "enable.auto.commit": False,
                  **FAST, **CONSUMER_DEFAULTS})
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(4)])
    n = 0
    t0 = 0.0
    n0 = 0
    size = 0
    warm = events // 10
    while n < events:
        msgs = c.consume(1000, 1.0)
        if not t0 and n >= warm:
            t0, n0 = time.perf_counter(), n
        if build:
            evs = [Event(m.value()) for m in msgs if m.error() is None]
            n += len(evs)
        else:
            for m in msgs:
                if m.error() is None:
                    size += len(m.value())
                    n += 1
    dt = time.perf_counter() - t0
    c.close()
    return (n - n0) / dt


def pipeline(bootstrap: str, topic: str, events: int, sink: str, workdir: str, source_type: str = "kafka",
             namenode: str = "") -> float:
    if sink == "null":
        sink_conf = "a.sinks.k.type = null\na.sinks.k.batchSize = 1000\n"
    else:
        out = Path(workdir) / f"hdfs-{uuid.uuid4().hex[:8]}"
        url = f"{namenode}/bench/{out.name}" if sink == "hdfs-rpc" else out.as_uri()
        dated = "/%Y-%m-%d/%H" if sink == "hdfs-dated" else ""
        file_type = "SequenceFile" if sink == "hdfs-seq" else "DataStream"
        sink_conf = (f"a.sinks.k.type = hdfs\na.sinks.k.hdfs.path = {url}{dated}\n"
                     f"a.sinks.k.hdfs.fileType = {file_type}\n"
                     "a.sinks.k.hdfs.batchSize = 1000\na.sinks.k.hdfs.rollInterval = 0\na.sinks.k.hdfs.rollCount = 0\n"
                     "a.sinks.k.hdfs.rollSize = 0\n")
    conf = f"""
a.sources = r
a.channels = c
a.sinks = k
a.sources.r.type = {source_type}
a.sources.r.kafka.bootstrap.servers = {bootstrap}
a.sources.r.kafka.topics = {topic}
a.sources.r.kafka.consumer.group.id = bench-{uuid.uuid4().hex}
a.sources.r.kafka.consumer.auto.offset.reset = earliest
a.sources.r.kafka.consumer.session.timeout.ms = 6000
a.sources.r.kafka.consumer.heartbeat.interval.ms = 1000
a.sources.r.channels = c
a.channels.c.type = memory
a.channels.c.capacity = 100000
a.channels.c.transactionCapacity = 1000
a.sinks.k.channel = c
{sink_conf}"""
    with run_pipeline(conf, "a", sink_backoff=0.01) as p:
        src = p.source("r").counters.values
        snk = p.sink("k").counters.values
        while snk["EventDrainSuccessCount"] < events // 10:
            time.sleep(0.001)
        t0 = time.perf_counter()
        first = snk["EventDrainSuccessCount"]
        while snk["EventDrainSuccessCount"] < events:
            time.sleep(0.002)
        dt = time.perf_counter() - t0
        assert src["EventReceivedCount"] >= events
    return (events - first) / dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", help="an existing broker (default: start Tansu)")
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--source-type", default="kafka", help="source type or class (to compare an older version)")
    ap.add_argument("--more", action="store_true", help="also hdfs with SequenceFile (Flume's default fileType) "
                    "and with time escapes in the path (/%%Y-%%m-%%d/%%H)")
    ap.add_argument("--hdfs", action="store_true", help="also hdfs:// to a real single-node HDFS started here "
                    "(the tests' fixture; JVMs on the same machine)")
    args = ap.parse_args()
    tune_runtime()  # GC and GIL switch interval as `flumepy agent` sets them
    broker = cluster = None
    workdir = tempfile.mkdtemp(prefix="flumepy-bench-kafka-")
    bootstrap = args.bootstrap
    if not bootstrap:
        from tests.fixtures.kafka import KafkaBroker

        broker = KafkaBroker(Path(workdir) / "broker").start()
        bootstrap = broker.bootstrap
    namenode = ""
    if args.hdfs:
        from tests.fixtures.hdfs import HdfsCluster

        cluster = HdfsCluster(Path(workdir) / "hdfs").start()
        namenode = cluster.namenode_url
    try:
        topic = f"bench-{uuid.uuid4().hex[:8]}"
        fill(bootstrap, topic, args.events)
        # Rounds: raw, raw + Event, then each pipeline, back to back, so every ratio compares runs made
        # under the same broker conditions (Tansu's speed drifts between minutes).
        rows = [("kafka -> memory -> null", "null"), ("kafka -> memory -> hdfs", "hdfs")]
        if args.more:
            rows += [("kafka -> memory -> hdfs SequenceFile", "hdfs-seq"),
                     ("kafka -> memory -> hdfs /%Y-%m-%d/%H", "hdfs-dated")]
        if args.hdfs:
            rows.append(("kafka -> memory -> hdfs:// (HDFS)", "hdfs-rpc"))
        names = ["raw confluent-kafka consume", "raw consume + Event(body)"] + [name for name, _ in rows]
        rates: dict[str, list[float]] = {n: [] for n in names}
        for _ in range(args.repeats):
            rates[names[0]].append(raw(bootstrap, topic, args.events))
            rates[names[1]].append(raw(bootstrap, topic, args.events, build=True))
            for name, sink in rows:
                rates[name].append(pipeline(bootstrap, topic, args.events, sink, workdir, args.source_type,
                                            namenode))
        base = rates[names[0]]
        print(f"{args.events} records of 100 bytes, 4 partitions, {args.repeats} rounds; events/s and ratio to "
              "the raw run of the same round: medians (min-max)")
        print(f"{'path':38} {'events/s':>12} {'ratio':>7} {'ratio range':>13}")
        for name in names:
            ratios = [r / b for r, b in zip(rates[name], base)]
            print(f"{name:38} {statistics.median(rates[name]):12,.0f} {statistics.median(ratios):7.0%} "
                  f"{min(ratios):6.0%}-{max(ratios):.0%}")
    finally:
        if broker is not None:
            broker.stop()
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
