"""Kafka channel with Flume <= 1.6 keys: brokers from ZooKeeper, old ZooKeeper offsets migrated."""

from __future__ import annotations

import pytest

from flumepy.channels.kafka import KafkaChannel
from flumepy.core.context import Context
from flumepy.core.errors import FlumeError
from flumepy.core.event import Event
from tests.kafka.conftest import committed, unique
from tests.kafka.test_channel import FAST, _channel, _take
from tests.util import free_port


def _legacy(zookeeper, topic: str, group: str, **extra: str) -> tuple[KafkaChannel, Context]:
    ch = KafkaChannel("c1")
    ctx = Context({"zookeeperConnect": zookeeper.connect, "topic": topic, "groupId": group, "pollTimeout": "200",
                   **FAST, **extra})
    ch.configure(ctx)
    return ch, ctx


def _write_zookeeper_offsets(zookeeper, group: str, topic: str, offsets: dict[int, int]) -> None:
    zk = zookeeper.client()
    try:  # as an old (0.8-style) consumer of the group left them
        for part, off in offsets.items():
            zk.create(f"/consumers/{group}/offsets/{topic}/{part}", b"%d" % off, makepath=True)
    finally:
        zk.stop()
        zk.close()


def test_old_zookeeper_offsets_are_where_the_first_take_starts(kafka_broker, zookeeper) -> None:
    zookeeper.register_broker(0, "127.0.0.1", kafka_broker.port)
    topic, group = kafka_broker.create_topic(unique("zkch"), partitions=2), unique("old-group")
    # Ten events in partition 0 and five in partition 1 (partitionIdHeader), offsets 0.. in put order.
    p0 = [Event(b"p0-%d" % i, {"part": "0"}) for i in range(10)]
    p1 = [Event(b"p1-%d" % i, {"part": "1"}) for i in range(5)]
    writer = _channel(kafka_broker, topic, unique("writer"), partitionIdHeader="part")
    try:
        with writer.transaction() as tx:
            tx.put_batch(p0 + p1)
    finally:
        writer.stop()
    _write_zookeeper_offsets(zookeeper, group, topic, {0: 2, 1: 1})
    ch, ctx = _legacy(zookeeper, topic, group, migrateZookeeperOffsets="true")
    assert [p.key for p in ctx.problems if p.key == "migrateZookeeperOffsets"] == []  # implemented: no warning
    assert committed(kafka_broker, topic, group, 2) == [-1001, -1001]
    ch.start()
    try:
        assert committed(kafka_broker, topic, group, 2) == [2, 1]  # migrated at start, before any take
        got = _take(ch, 12, timeout=60)  # the old consumers had read 2 of partition 0 and 1 of partition 1
        assert sorted(got, key=lambda e: e.body) == sorted(p0[2:] + p1[1:], key=lambda e: e.body)
        assert committed(kafka_broker, topic, group, 2) == [10, 5]
    finally:
        ch.stop()
    # Kafka now has the group's offsets: a restart does not go back to the ZooKeeper ones.
    ch, _ = _legacy(zookeeper, topic, group)
    ch.start()
    try:
        assert committed(kafka_broker, topic, group, 2) == [10, 5]
        with ch.transaction() as tx:
            tx.put(Event(b"after-restart"))
        assert _take(ch, 1, timeout=60) == [Event(b"after-restart", {})]
    finally:
        ch.stop()


def test_no_migration_when_switched_off(kafka_broker, zookeeper) -> None:
    zookeeper.register_broker(0, "127.0.0.1", kafka_broker.port)
    topic, group = kafka_broker.create_topic(unique("zkch")), unique("old-group")
    _write_zookeeper_offsets(zookeeper, group, topic, {0: 3})
    ch, _ = _legacy(zookeeper, topic, group, migrateZookeeperOffsets="false")
    ch.start()
    try:
        assert committed(kafka_broker, topic, group) == [-1001]
    finally:
        ch.stop()


def test_unreachable_zookeeper_names_the_key_that_skips_the_migration(kafka_broker) -> None:
    topic, group = kafka_broker.create_topic(unique("zkch")), unique("new-group")
    ch = KafkaChannel("c1")
    ch.configure(Context({"kafka.bootstrap.servers": kafka_broker.bootstrap, "kafka.topic": topic,
                          "kafka.consumer.group.id": group, "zookeeperConnect": f"127.0.0.1:{free_port()}"}))
    with pytest.raises(FlumeError, match=r"cannot reach ZooKeeper at 127\.0\.0\.1:\d+ .*old offsets "
                                         r"\(migrateZookeeperOffsets\); set migrateZookeeperOffsets = false"):
        ch.start()
    ch.stop()


def test_without_zookeeper_connect_nothing_to_migrate_and_no_warning() -> None:
    ch = KafkaChannel("c1")
    ctx = Context({"kafka.bootstrap.servers": "127.0.0.1:9", "kafka.topic": "t", "migrateZookeeperOffsets": "true"})
    ch.configure(ctx)
    assert ctx.problems == []
    assert ch.zookeeper is None  # start() has nothing to migrate from
